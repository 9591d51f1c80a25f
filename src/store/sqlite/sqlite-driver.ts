import { closeSync, fdatasync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { sleepOn, systemClock } from '../../core/clock.js';
import { StoreError, SyncError } from '../../core/errors.js';
import { computeRetryDelay, resolveRetryPolicy } from '../../core/retry-policy.js';
import type { SqlDriver, SqlParam, SqlRow, SqlTransaction } from '../sql/sql-driver.js';
import { applyPendingMigrations, type SqlMigration } from '../sql/sql-migration.js';
import { sqliteMigrationDialect } from './sqlite-migration-dialect.js';
import { WalCheckpointer } from './wal-checkpointer.js';

export interface SqliteDriverOptions {
  /** Database file, or `:memory:`. The parent directory must exist. */
  filename: string;
  /** How long a writer waits for another connection's write lock. @default 5000 */
  busyTimeoutMs?: number | undefined;
  /** Called with each distinct statement when it is first prepared (diagnostics). */
  onPrepare?: ((sql: string) => void) | undefined;
}

const maxCachedStatements = 500;
const fdatasyncAsync = promisify(fdatasync);
/** Writes between two checkpoint requests (SQLite's own default is every 1,000 WAL pages). */
const writesPerCheckpoint = 200;

/**
 * Waits for another connection's write lock: 1 ms doubling to 25 ms, jittered so that waiters do
 * not retry in step. The busy timeout bounds the whole wait, not the attempts.
 */
const busyBackoff = resolveRetryPolicy(
  { initialDelayMs: 1, maxDelayMs: 25, multiplier: 2, jitter: 'equal', maxAttempts: Number.MAX_SAFE_INTEGER },
  'store.sqlite.busyBackoff',
);

/**
 * better-sqlite3 behind the async {@link SqlDriver} seam. One connection, WAL journal, and a
 * queue so that one async transaction never interleaves with another call on the same connection.
 * Write transactions start with `BEGIN IMMEDIATE`, so a writer waits for the lock before it reads
 * anything.
 *
 * Durability (a call resolves only once what it wrote, and everything committed before it, would
 * survive a power loss) with group commit off the event loop: SQLite's `synchronous=FULL` syncs
 * the WAL inside every COMMIT, on the event loop (better-sqlite3 is synchronous): the process
 * stood still for each fsync, one per commit, and the engine commits several times per batch.
 * Here SQLite commits with `synchronous=NORMAL` (it writes the WAL frames and still syncs the WAL
 * before each checkpoint and the database after it), and the driver syncs the WAL file itself, in
 * the thread pool, before it resolves any call: one `fdatasync` covers every commit made since the
 * previous one, while the event loop goes on. The WAL is append-only between checkpoints, so a
 * sync covers a prefix of commits: when a call resolves, so is everything it read. Reads wait for
 * the sync of what was committed before them too, so nothing acts on a write that a crash could
 * still take back. A failed sync fails that call and every later one (the store must be reopened,
 * as PostgreSQL stops on a failed fsync). In-memory databases have no WAL and nothing to sync.
 * Checkpoints, too, run off the event loop: see {@link WalCheckpointer}.
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
  /** `${filename}-wal` when this driver syncs the WAL itself (see the class comment). */
  private readonly walPath: string | null;
  private walFd: number | null = null;
  /** Writes made (statements that change the database, commits): a sequence number. */
  private written = 0;
  /** The value of {@link written} that the last completed WAL sync covered. */
  private synced = 0;
  private syncing: Promise<void> | null = null;
  private syncFailure: SyncError | null = null;
  private readonly checkpointer: WalCheckpointer | null;
  private checkpointAt = writesPerCheckpoint;
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
      const mode = this.db.pragma('journal_mode = WAL', { simple: true });
      this.walPath = mode === 'wal' && !this.db.memory ? `${this.db.name}-wal` : null;
      this.db.pragma(this.walPath === null ? 'synchronous = FULL' : 'synchronous = NORMAL');
      if (this.walPath !== null) this.db.pragma('wal_autocheckpoint = 0');
      this.checkpointer = this.walPath === null ? null : new WalCheckpointer(this.db.name);
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
    return this.exclusive('close', async () => {
      this.closed = true;
      this.statements.clear();
      try {
        await this.syncedTo(this.written, 'close');
      } finally {
        await this.checkpointer?.close();
        // The last connection to close checkpoints what is left and removes the WAL.
        this.db.close();
        if (this.walFd !== null) closeSync(this.walFd);
        this.walFd = null;
      }
    });
  }

  private async inTransaction<T>(fn: () => Promise<T>): Promise<T> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = await fn();
      this.db.exec('COMMIT');
      this.written++;
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
    const ran = this.tail.then(async () => {
      // Another connection's lock is released in real time, whatever clock the store runs on.
      const deadline = performance.now() + this.busyTimeoutMs;
      for (let attempt = 1; ; attempt++) {
        if (this.closed) throw new StoreError('STORE_CLOSED', `sqlite ${label}: the state store is closed`);
        if (this.syncFailure) throw this.syncFailure;
        try {
          const value = await fn();
          return { value, written: this.written };
        } catch (error) {
          if (!isBusy(error) || performance.now() >= deadline) throw toStoreError(error, label);
        }
        await sleepOn(systemClock, computeRetryDelay(busyBackoff, attempt));
      }
    });
    // The next call runs at once; this one resolves once the WAL is synced up to its end.
    this.tail = ran.catch(() => undefined);
    return ran.then(
      async ({ value, written }) => {
        await this.syncedTo(written, label);
        return value;
      },
      async (error: unknown) => {
        // A failure may also have been decided on what others wrote: report it once that is durable.
        await this.syncedTo(this.written, label).catch(() => undefined);
        throw error;
      },
    );
  }

  /** Resolves once the WAL is synced up to write number `target` (see the class comment). */
  private async syncedTo(target: number, label: string): Promise<void> {
    // Without a WAL of our own to sync, SQLite synced each commit itself (synchronous=FULL).
    if (this.walPath === null) return;
    const walPath = this.walPath;
    while (this.synced < target) {
      if (this.syncFailure) throw toStoreError(this.syncFailure, label);
      if (this.syncing === null) {
        const sync = this.syncWal(walPath);
        this.syncing = sync;
        void sync
          .finally(() => {
            if (this.syncing === sync) this.syncing = null;
          })
          .catch(() => undefined);
      }
      await this.syncing.catch(() => undefined);
    }
  }

  private async syncWal(walPath: string): Promise<void> {
    const upTo = this.written;
    try {
      if (this.walFd === null) {
        this.walFd = openSync(walPath, 'r');
        // The WAL may have been created by this connection: make its directory entry durable.
        const directory = openSync(dirname(walPath), 'r');
        try {
          fsyncSync(directory);
        } finally {
          closeSync(directory);
        }
      }
      await fdatasyncAsync(this.walFd);
      this.synced = upTo;
      if (upTo >= this.checkpointAt) {
        this.checkpointAt = upTo + writesPerCheckpoint;
        this.checkpointer?.request();
      }
    } catch (error) {
      this.syncFailure = new StoreError(
        'STORE_QUERY_FAILED',
        `sqlite: syncing the write-ahead log failed (${(error as { code?: string }).code ?? String(error)}); writes since the last sync may be lost: reopen the store`,
        { cause: error },
      );
      throw this.syncFailure;
    }
  }

  private allNow<R>(sql: string, params: readonly SqlParam[] | undefined): R[] {
    const statement = this.prepare(sql);
    const rows = statement.all(...bindable(params)) as R[];
    if (!statement.readonly) this.written++;
    return rows;
  }

  private runNow(sql: string, params: readonly SqlParam[] | undefined): number {
    const statement = this.prepare(sql);
    const changes = statement.run(...bindable(params)).changes;
    if (!statement.readonly) this.written++;
    return changes;
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
