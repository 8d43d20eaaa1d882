// The README is the only place a user learns the configuration: every
// variable a service reads must be listed there.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@faas/launcher';
// @ts-expect-error: a plain ESM script without type declarations.
import { serviceSchemas } from '../../scripts/env-table.mjs';

const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const schemas = (await serviceSchemas()) as { name: string; variables: { name: string }[] }[];

describe('README configuration table', () => {
  for (const { name, variables } of schemas) {
    it(`documents every variable ${name} reads`, () => {
      expect(variables.length).toBeGreaterThan(3);
      const missing = variables.map((v) => v.name).filter((variable) => !readme.includes(`| \`${variable}\` |`));
      expect(missing, 'run `node scripts/env-table.mjs` and paste its output into README.md').toEqual([]);
    });
  }

  it('has both set-up commands', () => {
    expect(readme).toContain('npm run up');
    expect(readme).toContain('npm test');
  });
});
