// Prints the README's configuration table from the services' environment
// schemas (services/*/src/config.ts), so the two cannot drift apart
// unnoticed: test/static/readme.test.ts checks every variable is documented.
//   node scripts/env-table.mjs
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `NAME: optional(default, parser, 'description')` entries of one schema. */
export function readSchema(file) {
  const source = readFileSync(file, 'utf8');
  const entry = /^\s+([A-Z][A-Z0-9_]+): (optional|required)\((.*?),\s*([\w.]+(?:\([^)]*\))?),\s*'((?:[^'\\]|\\.)*)'\),?\s*$/gm;
  const variables = [];
  for (const [, name, kind, defaultSource, , description] of source.matchAll(entry)) {
    variables.push({ name, required: kind === 'required', defaultSource: kind === 'required' ? '' : defaultSource.trim(), description: description.replace(/\\'/g, "'") });
  }
  return variables;
}

export function services() {
  return readdirSync(path.join(root, 'services')).sort().map((name) => ({ name, file: path.join(root, 'services', name, 'src', 'config.ts') }));
}

function shownDefault({ required, defaultSource }) {
  if (required) return '(required)';
  const literal = defaultSource.match(/^'(.*)'$/)?.[1] ?? defaultSource.match(/^[\d_]+$/)?.[0]?.replace(/_/g, '');
  if (literal !== undefined) return literal === '' ? '(empty)' : `\`${literal}\``;
  return '(see description)';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { name, file } of services()) {
    console.log(`\n**${name}**\n\n| variable | default | meaning |\n|---|---|---|`);
    for (const variable of readSchema(file)) {
      console.log(`| \`${variable.name}\` | ${shownDefault(variable)} | ${variable.description.replace(/\|/g, '\\|')} |`);
    }
  }
}
