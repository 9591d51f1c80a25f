import { describe, expect, it } from 'vitest';
import { postgresMigrations } from '../../../src/store/postgres/postgres-migrations.js';
import { sqliteMigrations } from '../../../src/store/sqlite/sqlite-migrations.js';
import { readShippedMigrations } from './fixtures/shipped-migrations.js';

describe('store migrations', () => {
  it.each([
    ['sqlite', sqliteMigrations],
    ['postgres', postgresMigrations],
  ] as const)('are for %s byte for byte the SQL shipped migrations ran', (dialect, migrations) => {
    const shipped = readShippedMigrations(dialect);
    expect(shipped.map((m) => m.version)).toEqual([1, 2, 3, 4, 5, 6]);
    const current = migrations.filter((m) => m.version <= 6);
    expect(current.map(({ version, name, sql }) => ({ version, name, sql }))).toEqual(shipped);
  });
});
