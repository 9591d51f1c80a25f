import type { MigrationDialect } from '../sql/migration-dialect.js';

/**
 * PostgreSQL's column types for the migrations. Keys use the "C" collation so that ordering
 * (`listKeys`, cursors, key ranges) is bytewise, as in SQLite, whatever the database's locale.
 */
export const postgresMigrationDialect: MigrationDialect = {
  name: 'postgres',
  autoId: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
  bigint: 'BIGINT',
  smallint: 'SMALLINT',
  key: 'TEXT COLLATE "C"',
};
