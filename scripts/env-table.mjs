// Prints the README's configuration table from the services' environment
// schemas (the `envSchema` each services/*/src/config.ts exports), so the two
// cannot drift apart unnoticed: test/static/readme.test.ts checks every
// variable is documented. It reads the built schemas: `npm run build` first.
//   node scripts/env-table.mjs
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Each service's variables in schema order: `{ name, variables: [{ name, spec }] }`. */
export async function serviceSchemas() {
  const names = readdirSync(path.join(root, 'services')).sort();
  return Promise.all(
    names.map(async (name) => {
      const built = path.join(root, 'services', name, 'dist', 'config.js');
      const { envSchema } = await import(pathToFileURL(built).href).catch((error) => {
        throw new Error(`cannot load ${built} (run npm run build first): ${error.message}`);
      });
      return { name, variables: Object.entries(envSchema).map(([variable, spec]) => ({ name: variable, spec })) };
    }),
  );
}

function shownDefault(spec) {
  if (spec.default === undefined) return '(required)';
  if (Array.isArray(spec.default)) return spec.default.length === 0 ? '(empty)' : `\`${spec.default.join(',')}\``;
  if (spec.defaultVaries || typeof spec.default === 'object') return '(see description)';
  if (spec.default === '') return '(empty)';
  return `\`${spec.default}\``;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { name, variables } of await serviceSchemas()) {
    console.log(`\n**${name}**\n\n| variable | default | meaning |\n|---|---|---|`);
    for (const { name: variable, spec } of variables) {
      console.log(`| \`${variable}\` | ${shownDefault(spec)} | ${spec.description.replace(/\|/g, '\\|')} |`);
    }
  }
}
