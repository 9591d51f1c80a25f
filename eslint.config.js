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

/**
 * The rooms of src/ and the rooms each may import from (ARCHITECTURE.md, "The dependency rule").
 * Dependencies point inward: core is the centre; only the composition root (cli) wires concrete
 * classes from every room.
 */
const rooms = {
  core: [],
  logging: ['core'],
  config: ['core', 'logging'],
  store: ['core'],
  connectors: ['core', 'logging'],
  engine: ['core'],
  preflight: ['core', 'config'],
  server: ['core', 'engine', 'config', 'logging'],
  cli: ['core', 'logging', 'config', 'store', 'connectors', 'engine', 'preflight', 'server'],
};

/** Drivers and I/O modules only connectors, stores, the server and the CLI may use. */
const driverRooms = ['store', 'connectors', 'server', 'cli', 'logging', 'config'];

/** `no-restricted-imports` patterns that keep `room` to the rooms it may import from. */
function roomPatterns(room) {
  const forbidden = Object.keys(rooms).filter((other) => other !== room && !rooms[room].includes(other));
  return forbidden.length === 0
    ? []
    : [
        {
          regex: `^(\\.\\./)+(${forbidden.join('|')})(/|$)`,
          message: `src/${room} may import only from ${['src/' + room, ...rooms[room].map((r) => 'src/' + r)].join(', ')} (ARCHITECTURE.md, the dependency rule).`,
        },
      ];
}

/** Time is the injected clock's (src/core/clock.ts): never the wall clock directly. */
const wallClock = [
  {
    selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
    message: 'Use the injected Clock (clock.now()), not Date.now().',
  },
  {
    selector: "NewExpression[callee.name='Date']",
    message: 'Use the injected Clock for time and formatIso/formatUtcDay (src/core/clock.ts) to format it.',
  },
];

/** Durable state is read through its schema, never cast. */
const durableCasts = [
  {
    selector:
      "TSAsExpression[expression.type='CallExpression'][expression.callee.object.name='JSON'][expression.callee.property.name='parse']:not([typeAnnotation.type='TSUnknownKeyword'])",
    message:
      'Read stored JSON through its zod schema (checkpoints.ts, parseStoredJson, a flow payload schema), not with `as`.',
  },
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
  // One block per room: what it may import (rooms and drivers), and the wall-clock and cast rules.
  ...Object.keys(rooms).map((room) => ({
    files: [`src/${room}/**/*.ts`],
    ignores: room === 'server' ? [`${dashboardClient}/**`] : [],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: driverRooms.includes(room)
            ? []
            : ioModules.map((name) => ({
                name,
                message: `src/${room} does no I/O of its own: drivers belong to connectors and stores.`,
              })),
          patterns: roomPatterns(room),
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSEnumDeclaration',
          message: 'Use an `as const` array and a derived union instead of enum.',
        },
        ...(room === 'core' ? [] : wallClock),
        ...durableCasts,
      ],
    },
  })),
  {
    // The clock itself is where the wall clock is read.
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/clock.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSEnumDeclaration',
          message: 'Use an `as const` array and a derived union instead of enum.',
        },
        ...wallClock,
        ...durableCasts,
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
