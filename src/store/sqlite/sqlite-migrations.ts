import type { SqlMigration } from '../sql/sql-migration.js';
import { initialSqliteMigration } from './migrations/0001-initial.js';
import { optOutSqliteMigration } from './migrations/0002-opt-out.js';
import { privacySqliteMigration } from './migrations/0003-privacy.js';
import { storeIndexesMigration } from '../sql/store-indexes-migration.js';
import { optOutLinesSqliteMigration } from './migrations/0005-opt-out-lines.js';

/** Every SQLite migration, in version order. Append; never edit one that has shipped. Migration 4 is dialect-neutral and shared. */
export const sqliteMigrations: readonly SqlMigration[] = [
  initialSqliteMigration,
  optOutSqliteMigration,
  privacySqliteMigration,
  storeIndexesMigration,
  optOutLinesSqliteMigration,
];
