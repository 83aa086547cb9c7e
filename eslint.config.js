// Lint rules: typescript-eslint's recommended set with type information, plus the project's conventions made
// checkable: no floating promises, exhaustive switches, no Result left unread (eslint-rules/), and the import
// boundaries between parts (the hub and the printer never import the kiosk; protocol imports nothing of the
// project; the renderer takes only types from the backend; only main/electron imports Electron).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import noUnreadResult from './eslint-rules/no-unread-result.js';

const kioskOnly = {
  group: ['**/main/**', '../main', '../../main'],
  message: 'The hub, the printer, the database layer and protocol never import the kiosk backend (main/).',
};
const electron = {
  group: ['electron', 'electron/*'],
  message: 'Electron is imported only under main/electron/.',
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      '**/dist/**',
      'renderer/dist/**',
      'console/dist/**',
      'tests/artifacts/**',
      'bench/results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { finekiosk: { rules: { 'no-unread-result': noUnreadResult } } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // React ignores what an event handler returns; an async handler is fine there.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      'finekiosk/no-unread-result': 'error',
      'no-restricted-imports': ['error', { patterns: [electron] }],
    },
  },
  {
    // Tests and benchmarks drop setup Results freely: what matters is asserted, and a failed setup shows there.
    files: ['tests/**/*.ts', 'tests/**/*.tsx', 'bench/**/*.ts'],
    rules: { 'finekiosk/no-unread-result': 'off' },
  },
  {
    files: ['hub/**/*.ts', 'printer/**/*.ts', 'db/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [kioskOnly, electron] }] },
  },
  {
    files: ['protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*', '../../*'],
              message: 'protocol/ is what kiosk and hub both speak: it imports nothing else of the project.',
            },
            electron,
          ],
        },
      ],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/main/**', '**/hub/**', '**/db/**', '**/printer/**'],
              allowTypeImports: true,
              message: 'The renderer has no Node access: it takes only types from the backend.',
            },
            electron,
          ],
        },
      ],
    },
  },
  {
    files: ['main/electron/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['bin/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['eslint-rules/**/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
