import type { SqlMigration } from '../sql-migration.js';
import { initialMigration } from './0001-initial.js';
import { optOutMigration } from './0002-opt-out.js';
import { privacyMigration } from './0003-privacy.js';
import { storeIndexesMigration } from './0004-store-indexes.js';
import { optOutLinesMigration } from './0005-opt-out-lines.js';
import { deadLetterPerCauseMigration } from './0006-dead-letter-per-cause.js';
import { runsMigration } from './0007-runs.js';
import { recordTraceMigration } from './0008-record-trace.js';
import { parkedOrphansMigration } from './0009-parked-orphans.js';
import { workersMigration } from './0011-workers.js';
import { sharedBudgetMigration } from './0012-shared-budget.js';
import { fewerKeyIndexesMigration } from './0013-fewer-key-indexes.js';

/**
 * Every migration of the state store, in version order, for every dialect. Append; never edit one
 * that has shipped (databases in the field applied it; `test/integration/store/fixtures/
 * shipped-migrations/` pins what each renders).
 */
export const storeMigrations: readonly SqlMigration[] = [
  initialMigration,
  optOutMigration,
  privacyMigration,
  storeIndexesMigration,
  optOutLinesMigration,
  deadLetterPerCauseMigration,
  runsMigration,
  recordTraceMigration,
  parkedOrphansMigration,
  workersMigration,
  sharedBudgetMigration,
  fewerKeyIndexesMigration,
];

/** The newest store migration this build knows: the schema version its code needs. */
export const storeSchemaVersion: number = Math.max(...storeMigrations.map((m) => m.version));
