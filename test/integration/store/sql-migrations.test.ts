import { describe, expect, it } from 'vitest';
import { postgresMigrationDialect } from '../../../src/store/postgres/postgres-migration-dialect.js';
import { storeMigrations } from '../../../src/store/sql/migrations/store-migrations.js';
import { sqliteMigrationDialect } from '../../../src/store/sqlite/sqlite-migration-dialect.js';
import { readShippedMigrations } from './fixtures/shipped-migrations.js';

describe('store migrations', () => {
  it.each([sqliteMigrationDialect, postgresMigrationDialect])(
    'render for $name byte for byte the SQL shipped migrations ran',
    (dialect) => {
      const shipped = readShippedMigrations(dialect.name);
      expect(shipped.map((m) => m.version)).toEqual([1, 2, 3, 4, 5, 6]);
      const rendered = storeMigrations
        .filter((m) => m.version <= 6)
        .map(({ version, name, sql }) => ({ version, name, sql: sql(dialect) }));
      expect(rendered).toEqual(shipped);
    },
  );
});
