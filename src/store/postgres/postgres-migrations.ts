import type { SqlMigration } from '../sql/sql-migration.js';
import { initialPostgresMigration } from './migrations/0001-initial.js';
import { optOutPostgresMigration } from './migrations/0002-opt-out.js';
import { privacyPostgresMigration } from './migrations/0003-privacy.js';
import { storeIndexesMigration } from '../sql/store-indexes-migration.js';
import { optOutLinesPostgresMigration } from './migrations/0005-opt-out-lines.js';
import { deadLetterPerCauseMigration } from '../sql/dead-letter-per-cause-migration.js';

/** Every PostgreSQL migration, in version order. Append; never edit one that has shipped. Migrations 4 and 6 are dialect-neutral and shared. */
export const postgresMigrations: readonly SqlMigration[] = [
  initialPostgresMigration,
  optOutPostgresMigration,
  privacyPostgresMigration,
  storeIndexesMigration,
  optOutLinesPostgresMigration,
  deadLetterPerCauseMigration,
];
