// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import { builtinModules } from 'node:module';

/** Modules that do I/O or drive a service: `src/core` stays pure and must import none of them. */
const ioModules = [
  'pg',
  'better-sqlite3',
  'ssh2',
  'undici',
  'fastify',
  'pino',
  '@azure/msal-node',
  'node:fs',
  'node:fs/promises',
  'node:http',
  'node:https',
  'node:net',
  'node:child_process',
  'node:worker_threads',
  'fs',
  'fs/promises',
  'http',
  'https',
  'net',
  'child_process',
];

/** The dashboard's browser code, bundled by esbuild (scripts/dashboard-bundle.ts). */
const dashboardClient = 'src/server/dashboard/client';
const browserOnly = 'The dashboard runs in the browser: no Node modules or server drivers.';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'data/**',
      '.tmp/**',
      'bench/results/**',
      'src/server/dashboard/bundle/**',
      'test-results/**',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSEnumDeclaration',
          message: 'Use an `as const` array and a derived union instead of enum.',
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({ name, message: 'src/core is pure: no I/O modules or drivers.' })),
          patterns: [
            { group: ['../*/**', '!../core/**'], message: 'src/core imports nothing outside src/core.' },
          ],
        },
      ],
    },
  },
  {
    // The dashboard's browser code: browser globals, nothing from Node.
    files: [`${dashboardClient}/**/*.ts`],
    languageOptions: { globals: globals.browser },
    rules: {
      'no-restricted-globals': [
        'error',
        ...[
          'process',
          'Buffer',
          'global',
          'require',
          'module',
          '__dirname',
          '__filename',
          'setImmediate',
        ].map((name) => ({ name, message: 'The dashboard runs in the browser.' })),
      ],
    },
  },
  // ... and from the server only types, erased when esbuild bundles it (the bundle build checks
  // its inputs too). One block per folder depth below the client folder, as the way out differs.
  ...[0, 1, 2, 3].map((depth) => ({
    files: [`${dashboardClient}/${'*/'.repeat(depth)}*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...new Set([...ioModules, ...builtinModules])]
            .filter((name) => !name.startsWith('node:'))
            .map((name) => ({ name, message: browserOnly })),
          patterns: [
            { regex: '^node:', message: browserOnly },
            {
              regex: `^(\\.\\./){${depth + 1}}`,
              allowTypeImports: true,
              message: `Only types come from outside ${dashboardClient} (\`import type\`).`,
            },
          ],
        },
      ],
    },
  })),
  {
    files: ['emulators/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+src/(?!core/wire/)',
              message: 'Emulators import nothing from src/ except shared wire types (src/core/wire).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
