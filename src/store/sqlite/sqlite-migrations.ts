import type { SqlMigration } from '../sql/sql-migration.js';
import { initialSqliteMigration } from './migrations/0001-initial.js';
import { optOutSqliteMigration } from './migrations/0002-opt-out.js';
import { privacySqliteMigration } from './migrations/0003-privacy.js';
import { workItemIndexesSqliteMigration } from './migrations/0004-work-item-indexes.js';

/** Every SQLite migration, in version order. Append; never edit one that has shipped. */
export const sqliteMigrations: readonly SqlMigration[] = [
  initialSqliteMigration,
  optOutSqliteMigration,
  privacySqliteMigration,
  workItemIndexesSqliteMigration,
];
