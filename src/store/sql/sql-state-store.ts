import type { Clock } from '../../core/clock.js';
import type { StateStore } from '../../core/ports/state-store.js';
import { SqlAuditStore } from './sql-audit-store.js';
import { SqlBudgetStore } from './sql-budget-store.js';
import { SqlCheckpointStore } from './sql-checkpoint-store.js';
import { SqlDeadLetterStore } from './sql-dead-letter-store.js';
import type { SqlDriver } from './sql-driver.js';
import { SqlKeyMapStore } from './sql-key-map-store.js';
import { SqlLockStore } from './sql-lock-store.js';
import type { SqlMigration } from './sql-migration.js';
import { storeMigrations } from './migrations/store-migrations.js';
import { SqlOptOutStore } from './sql-opt-out-store.js';
import { SqlParkedStore } from './sql-parked-store.js';
import { SqlPrivacyStore } from './sql-privacy-store.js';
import { SqlRunStore } from './sql-run-store.js';
import { SqlWorkQueue } from './sql-work-queue.js';
import { SqlWorkerStore } from './sql-worker-store.js';

/**
 * The State port over any {@link SqlDriver}: the dialect-neutral core that the SQLite and
 * PostgreSQL adapters share. Each adapter only supplies its driver; both run the one list of
 * migrations, rendered by the driver for its dialect.
 */
export class SqlStateStore implements StateStore {
  readonly dialect: string;
  readonly queue: SqlWorkQueue;
  readonly parked: SqlParkedStore;
  readonly deadLetters: SqlDeadLetterStore;
  readonly checkpoints: SqlCheckpointStore;
  readonly keyMap: SqlKeyMapStore;
  readonly audit: SqlAuditStore;
  readonly locks: SqlLockStore;
  readonly optOut: SqlOptOutStore;
  readonly privacy: SqlPrivacyStore;
  readonly runs: SqlRunStore;
  readonly workers: SqlWorkerStore;
  readonly budgets: SqlBudgetStore;
  private closing: Promise<void> | null = null;

  /**
   * @param migrations What `migrate()` applies; a prefix of the list builds the schema of an older
   *   release (upgrade tests). @default storeMigrations
   */
  constructor(
    private readonly driver: SqlDriver,
    private readonly clock: Clock,
    private readonly migrations: readonly SqlMigration[] = storeMigrations,
  ) {
    const ctx = { driver, clock };
    this.dialect = driver.dialect;
    this.queue = new SqlWorkQueue(ctx);
    this.parked = new SqlParkedStore(ctx);
    this.deadLetters = new SqlDeadLetterStore(ctx);
    this.checkpoints = new SqlCheckpointStore(ctx);
    this.keyMap = new SqlKeyMapStore(ctx);
    this.audit = new SqlAuditStore(ctx);
    this.locks = new SqlLockStore(ctx);
    this.optOut = new SqlOptOutStore(ctx);
    this.privacy = new SqlPrivacyStore(ctx);
    this.runs = new SqlRunStore(ctx);
    this.workers = new SqlWorkerStore(ctx);
    this.budgets = new SqlBudgetStore(ctx, { shareRate: driver.dialect === 'postgres' });
  }

  migrate(): Promise<void> {
    return this.driver.migrate(this.migrations, this.clock.now());
  }

  /** Closes the database handle or pool. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.driver.close();
    return this.closing;
  }
}
