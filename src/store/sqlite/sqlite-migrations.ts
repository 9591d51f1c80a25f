import type { SqlMigration } from '../sql/sql-migration.js';
import { initialSqliteMigration } from './migrations/0001-initial.js';
import { optOutSqliteMigration } from './migrations/0002-opt-out.js';
import { privacySqliteMigration } from './migrations/0003-privacy.js';
import { storeIndexesMigration } from '../sql/store-indexes-migration.js';
import { optOutLinesSqliteMigration } from './migrations/0005-opt-out-lines.js';
import { deadLetterPerCauseMigration } from '../sql/dead-letter-per-cause-migration.js';

/** Every SQLite migration, in version order. Append; never edit one that has shipped. Migrations 4 and 6 are dialect-neutral and shared. */
export const sqliteMigrations: readonly SqlMigration[] = [
  initialSqliteMigration,
  optOutSqliteMigration,
  privacySqliteMigration,
  storeIndexesMigration,
  optOutLinesSqliteMigration,
  deadLetterPerCauseMigration,
];
