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

/** One call waiting for its turn on the connection. */
interface Job {
  label: string;
  /**
   * `read`: a read-only statement; `write`: a statement that writes or a transaction, run in the
   * group's transaction; `solo`: runs on its own, outside any group (migrations, close).
   */
  kind: 'read' | 'write' | 'solo';
  /** A transaction: run inside a savepoint, so that its failure undoes it alone. */
  savepoint: boolean;
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Most calls one group commit takes (bounds how long the first waits for the commit). */
const maxGroupJobs = 1000;

/**
 * better-sqlite3 behind the async {@link SqlDriver} seam. One connection, WAL journal
 * (checkpointed every 10,000 pages), `synchronous=FULL` (a commit survives power loss), and a queue so that one async transaction
 * never interleaves with another call on the same connection. Write transactions start with
 * `BEGIN IMMEDIATE`, so a writer waits for the lock before it reads anything.
 *
 * Group commit: the calls made in one turn of the event loop (and those made while a group runs)
 * run one after another, in the order they were made, inside ONE write transaction — each
 * transaction in a savepoint of its own, so that one that fails is undone alone and rejects alone —
 * and every call resolves only once that transaction is committed. A commit's fsync blocks the
 * thread (better-sqlite3 is synchronous), and the engine's lease, key-map intents and completions
 * arrive together: each paying its own fsync was most of a worker's time (bench sync-throughput).
 * Nothing is acknowledged before it is durable, and the calls see each other's writes exactly as if
 * they had run one after another; the reads ahead of a group's first write run without a transaction
 * and settle at once (they see only committed data).
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
  private readonly queue: Job[] = [];
  /** A turn of {@link runQueue} is scheduled or running. */
  private draining = false;
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
    return this.statementJob('query', sql, () => this.allNow<R>(sql, params));
  }

  run(sql: string, params?: readonly SqlParam[]): Promise<number> {
    return this.statementJob('statement', sql, () => this.runNow(sql, params));
  }

  transaction<T>(label: string, fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    return this.enqueue(label, 'write', true, () => fn(this.tx));
  }

  /**
   * Nothing to do: without `sqlite_stat1`, SQLite plans from its indexes alone, which is what the
   * hot statements are written for (see the lease's flow filter).
   */
  refreshStatistics(): Promise<void> {
    return Promise.resolve();
  }

  migrate(migrations: readonly SqlMigration[], now: number): Promise<void> {
    return this.enqueue('migrate', 'solo', false, () =>
      this.retryWhileBusy('migrate', () =>
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
      ),
    );
  }

  close(): Promise<void> {
    return this.enqueue('close', 'solo', false, () => {
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

  /** A statement, as a read or a write by what SQLite says of it (an unknown table fails here). */
  private statementJob<T>(label: string, sql: string, fn: () => T): Promise<T> {
    let readonly: boolean;
    try {
      if (this.closed) throw new StoreError('STORE_CLOSED', `sqlite ${label}: the state store is closed`);
      readonly = this.prepare(sql).readonly;
    } catch (error) {
      return Promise.reject(toStoreError(error, label));
    }
    return this.enqueue(label, readonly ? 'read' : 'write', false, () => Promise.resolve(fn()));
  }

  private enqueue<T>(
    label: string,
    kind: Job['kind'],
    savepoint: boolean,
    run: () => Promise<T>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ label, kind, savepoint, run, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Run the queue after this turn's I/O callbacks, so that the calls they make join one group. */
  private schedule(): void {
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => void this.runQueue());
  }

  private async runQueue(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        if (head.kind === 'solo') {
          this.queue.shift();
          await this.runAlone(head);
          continue;
        }
        const solo = this.queue.findIndex((job) => job.kind === 'solo');
        const group = this.queue.splice(0, Math.min(solo === -1 ? this.queue.length : solo, maxGroupJobs));
        // Reads ahead of the group's first write see only committed data: they settle at once.
        const firstWrite = group.findIndex((job) => job.kind === 'write');
        for (const job of firstWrite === -1 ? group : group.slice(0, firstWrite)) await this.runAlone(job);
        if (firstWrite !== -1) await this.runGroup(group.slice(firstWrite));
      }
    } finally {
      this.draining = false;
      if (this.queue.length > 0) this.schedule();
    }
  }

  /** One call on its own (a read, a migration, close): retried while another connection locks. */
  private async runAlone(job: Job): Promise<void> {
    try {
      job.resolve(await this.retryWhileBusy(job.label, job.run));
    } catch (error) {
      job.reject(toStoreError(error, job.label));
    }
  }

  /**
   * A call that finds the database locked by another connection ran nothing (or rolled back) and
   * runs again, until the busy timeout.
   */
  private async retryWhileBusy<T>(label: string, fn: () => Promise<T>): Promise<T> {
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
  }

  /** Run `group` in order in one write transaction; settle every call once it is committed. */
  private async runGroup(group: readonly Job[]): Promise<void> {
    let pending = [...group];
    while (pending.length > 0) {
      try {
        await this.retryWhileBusy(pending[0]!.label, () =>
          Promise.resolve(void this.db.exec('BEGIN IMMEDIATE')),
        );
      } catch (error) {
        if (!(error instanceof StoreError && error.code === 'STORE_BUSY')) {
          for (const job of pending) job.reject(toStoreError(error, job.label));
          return;
        }
        // Another process holds the lock past the busy timeout: the call that waited longest gives
        // up, as it would have alone, and the others wait again (each gets its own busy timeout).
        pending.shift()!.reject(error);
        continue;
      }
      const ran: { job: Job; value: unknown }[] = [];
      const failed: { job: Job; error: unknown }[] = [];
      let rest: Job[] = [];
      for (let i = 0; i < pending.length; i++) {
        const job = pending[i]!;
        try {
          if (job.savepoint) this.db.exec('SAVEPOINT grouped');
          const value = await job.run();
          if (job.savepoint) this.db.exec('RELEASE grouped');
          ran.push({ job, value });
        } catch (error) {
          if (job.savepoint && this.db.inTransaction) {
            this.db.exec('ROLLBACK TO grouped');
            this.db.exec('RELEASE grouped');
          }
          failed.push({ job, error });
          if (!this.db.inTransaction) {
            // SQLite rolled the whole transaction back (a disk error, say): what ran before is
            // undone too; the calls not run yet go into the next transaction.
            for (const { job: undone } of ran.splice(0)) failed.push({ job: undone, error });
            rest = pending.slice(i + 1);
            break;
          }
        }
      }
      if (this.db.inTransaction) {
        try {
          this.db.exec('COMMIT');
        } catch (error) {
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
          for (const { job } of ran.splice(0)) failed.push({ job, error });
        }
      }
      for (const { job, value } of ran) job.resolve(value);
      for (const { job, error } of failed) job.reject(toStoreError(error, job.label));
      pending = rest;
    }
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
