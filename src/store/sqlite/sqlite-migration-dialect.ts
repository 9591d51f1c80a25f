import type { MigrationDialect } from '../sql/migration-dialect.js';

/**
 * SQLite's column types for the migrations. SQLite's `INTEGER` is already 64-bit, and its default
 * `BINARY` collation already orders text bytewise. `AUTOINCREMENT` keeps ids from being reused after
 * the newest row is deleted (ids are cursors and places in line).
 */
export const sqliteMigrationDialect: MigrationDialect = {
  name: 'sqlite',
  autoId: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  bigint: 'INTEGER',
  smallint: 'INTEGER',
  key: 'TEXT',
};
