// ESLint's and typescript-eslint's recommended rules, nothing more: a short
// list everyone knows beats a long one nobody reads.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['**/dist/', '**/src/gen/', '**/.turbo/', '.run/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    // A disable comment that no longer silences anything is a lie about the code.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    // The web console runs in the browser, with the libraries its page loads as globals.
    files: ['services/httptrigger/ui/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  {
    // Tests poke at JSON answers whose shape expect() checks; typing each one would add nothing.
    files: ['**/*.test.ts', 'test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // CommonJS on purpose: the OpenFaaS node templates' handlers are CommonJS, and so is the shim that loads them.
    files: ['**/*.cjs', 'test/compat/fixtures/openfaas-templates/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
