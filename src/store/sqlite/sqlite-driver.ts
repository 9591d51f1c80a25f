import Database from 'better-sqlite3';
import { sleepOn, systemClock } from '../../core/clock.js';
import { StoreError, SyncError } from '../../core/errors.js';
import { computeRetryDelay, resolveRetryPolicy } from '../../core/retry-policy.js';
import type { SqlDriver, SqlParam, SqlRow, SqlTransaction } from '../sql/sql-driver.js';
import { applyPendingMigrations, type SqlMigration } from '../sql/sql-migration.js';
import { sqliteMigrationDialect } from './sqlite-migration-dialect.js';

export interface SqliteDriverOptions {
  /** Database file, or `:memory:`. The parent directory must exist. */
  filename: string;
  /** How long a writer waits for another connection's write lock. @default 5000 */
  busyTimeoutMs?: number | undefined;
  /** Called with each distinct statement when it is first prepared (diagnostics). */
  onPrepare?: ((sql: string) => void) | undefined;
}

const maxCachedStatements = 500;
const walAutocheckpointPages = 10_000;

/**
 * Waits for another connection's write lock: 1 ms doubling to 25 ms, jittered so that waiters do
 * not retry in step. The busy timeout bounds the whole wait, not the attempts.
 */
const busyBackoff = resolveRetryPolicy(
  { initialDelayMs: 1, maxDelayMs: 25, multiplier: 2, jitter: 'equal', maxAttempts: Number.MAX_SAFE_INTEGER },
  'store.sqlite.busyBackoff',
);

/**
 * better-sqlite3 behind the async {@link SqlDriver} seam. One connection, WAL journal
 * (checkpointed every 10,000 pages), `synchronous=FULL` (a commit survives power loss), and a queue so that one async transaction
 * never interleaves with another call on the same connection. Write transactions start with
 * `BEGIN IMMEDIATE`, so a writer waits for the lock before it reads anything.
 *
 * SQLite's own busy timeout sleeps inside the call and would block the whole event loop — and
 * with it, another connection of this process that holds the lock across an await. So the
 * busy timeout is 0 and a busy database is retried here, asynchronously, with backoff.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  readonly forUpdate = '';
  readonly forUpdateSkipLocked = '';
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly busyTimeoutMs: number;
  private readonly onPrepare: ((sql: string) => void) | undefined;
  private readonly tx: SqlTransaction = {
    forUpdate: '',
    forUpdateSkipLocked: '',
    all: <R extends SqlRow>(sql: string, params?: readonly SqlParam[]) =>
      Promise.resolve(this.allNow<R>(sql, params)),
    run: (sql: string, params?: readonly SqlParam[]) => Promise.resolve(this.runNow(sql, params)),
    // The transaction holds SQLite's single write lock: every key is already serialised.
    lockKeys: () => Promise.resolve(),
  };

  constructor(options: SqliteDriverOptions) {
    this.busyTimeoutMs = Math.max(0, options.busyTimeoutMs ?? 5000);
    this.onPrepare = options.onPrepare;
    try {
      this.db = new Database(options.filename, { timeout: 0 });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      // Checkpoint every 10,000 WAL pages (40 MB) rather than SQLite's 1,000: a page that many
      // commits rewrite (the inbox's indexes, checkpoints) is copied to the database once per
      // checkpoint, and each checkpoint syncs the database file inside the commit that runs it.
      this.db.pragma(`wal_autocheckpoint = ${walAutocheckpointPages}`);
    } catch (error) {
      throw toStoreError(error, `open ${options.filename}`);
    }
  }

  all<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlParam[]): Promise<R[]> {
    return this.exclusive('query', () => Promise.resolve(this.allNow<R>(sql, params)));
  }

  run(sql: string, params?: readonly SqlParam[]): Promise<number> {
    return this.exclusive('statement', () => Promise.resolve(this.runNow(sql, params)));
  }

  transaction<T>(label: string, fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    return this.exclusive(label, () => this.inTransaction(() => fn(this.tx)));
  }

  /**
   * Nothing to do: without `sqlite_stat1`, SQLite plans from its indexes alone, which is what the
   * hot statements are written for (see the lease's flow filter).
   */
  refreshStatistics(): Promise<void> {
    return Promise.resolve();
  }

  migrate(migrations: readonly SqlMigration[], now: number): Promise<void> {
    return this.exclusive('migrate', () =>
      // One IMMEDIATE transaction around the whole run: a second process waits, then finds
      // nothing left to apply.
      this.inTransaction(() =>
        applyPendingMigrations(
          {
            ...this.tx,
            execScript: (sql) => Promise.resolve(void this.db.exec(sql)),
            atomically: (fn) => fn(),
          },
          migrations,
          now,
          sqliteMigrationDialect,
        ),
      ),
    );
  }

  close(): Promise<void> {
    return this.exclusive('close', () => {
      this.closed = true;
      this.statements.clear();
      this.db.close();
      return Promise.resolve();
    });
  }

  private async inTransaction<T>(fn: () => Promise<T>): Promise<T> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = await fn();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /**
   * Calls run one after another; a transaction's awaits never let another call in. A call that
   * finds the database locked by another connection ran nothing (or rolled back) and runs again.
   */
  private exclusive<T>(label: string, fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(async () => {
      // Another connection's lock is released in real time, whatever clock the store runs on.
      const deadline = performance.now() + this.busyTimeoutMs;
      for (let attempt = 1; ; attempt++) {
        if (this.closed) throw new StoreError('STORE_CLOSED', `sqlite ${label}: the state store is closed`);
        try {
          return await fn();
        } catch (error) {
          if (!isBusy(error) || performance.now() >= deadline) throw toStoreError(error, label);
        }
        await sleepOn(systemClock, computeRetryDelay(busyBackoff, attempt));
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  private allNow<R>(sql: string, params: readonly SqlParam[] | undefined): R[] {
    return this.prepare(sql).all(...bindable(params)) as R[];
  }

  private runNow(sql: string, params: readonly SqlParam[] | undefined): number {
    return this.prepare(sql).run(...bindable(params)).changes;
  }

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      if (this.statements.size >= maxCachedStatements) this.statements.clear();
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
      this.onPrepare?.(sql);
    }
    return statement;
  }
}

/** Whole numbers bind as INTEGER (better-sqlite3 binds every JS number as REAL otherwise). */
function bindable(params: readonly SqlParam[] | undefined): unknown[] {
  if (params === undefined) return [];
  return params.map((value) =>
    typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value,
  );
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_BUSY_SNAPSHOT';
}

function toStoreError(error: unknown, label: string): SyncError {
  if (error instanceof SyncError) return error;
  const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : '';
  const message = error instanceof Error ? error.message : String(error);
  if (isBusy(error)) {
    return new StoreError(
      'STORE_BUSY',
      `sqlite ${label}: the database stayed locked by another process (${code})`,
      {
        cause: error,
      },
    );
  }
  if (message.startsWith('no such table')) {
    return new StoreError(
      'STORE_NOT_MIGRATED',
      `sqlite ${label}: ${message}; run the store migrations first`,
      {
        cause: error,
      },
    );
  }
  // SQLite's messages name tables, columns and constraints, never bound values.
  return new StoreError('STORE_QUERY_FAILED', `sqlite ${label} failed: ${code || 'error'}: ${message}`, {
    cause: error,
  });
}
