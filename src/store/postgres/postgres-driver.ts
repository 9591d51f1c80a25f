import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type pg from 'pg';
import { ConfigError, StoreError, SyncError } from '../../core/errors.js';
import type { SqlDriver, SqlParam, SqlRow, SqlTransaction } from '../sql/sql-driver.js';
import { applyPendingMigrations, type SqlMigration } from '../sql/sql-migration.js';
import { postgresMigrationDialect } from './postgres-migration-dialect.js';

export interface PostgresDriverOptions {
  connectionString: string;
  /** Schema for every table (set as the connections' search_path). @default the server default */
  schema?: string | undefined;
  /** Password, kept out of the URL (`store.password`). @default the URL's, or PGPASSWORD */
  password?: string | undefined;
  /** @default 10 */
  poolSize?: number | undefined;
}

const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;
const tablePattern = schemaPattern;
/** Deadlock and serialisation failures: the transaction did nothing and can simply run again. */
const retriedSqlStates = new Set(['40P01', '40001']);
const maxTransactionAttempts = 3;
/** Distinct statement texts prepared by name (per connection, on first use there). */
const maxNamedStatements = 500;

let pgLoaded: typeof pg | null = null;

/** node-postgres, loaded by the first PostgreSQL store: a process on SQLite does not carry it. */
function loadPg(): typeof pg {
  return (pgLoaded ??= createRequire(import.meta.url)('pg') as typeof pg);
}

/**
 * node-postgres behind the {@link SqlDriver} seam: a pool, `?` placeholders rewritten to `$n`,
 * READ COMMITTED transactions retried on deadlock, per-key advisory locks, and migrations under a
 * session advisory lock so that processes starting together apply each migration once.
 */
export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  readonly forUpdate = 'FOR UPDATE';
  readonly forUpdateSkipLocked = 'FOR UPDATE SKIP LOCKED';
  private readonly pool: pg.Pool;
  private readonly schema: string | null;
  private readonly texts = new Map<string, string>();
  /** Statement text → its prepared statement's name (see {@link statementName}). */
  private readonly statements = new Map<string, string>();
  /** How often each not yet named statement text has run. */
  private readonly runsOf = new Map<string, number>();
  private readonly guarded = new WeakSet<pg.PoolClient>();
  private closed = false;

  constructor(options: PostgresDriverOptions) {
    this.schema = options.schema ?? null;
    if (this.schema !== null && !schemaPattern.test(this.schema)) {
      throw new ConfigError(
        `store schema "${this.schema}" is not a plain identifier (lower-case letters, digits, underscore)`,
      );
    }
    const poolSize = options.poolSize ?? 10;
    if (!Number.isInteger(poolSize) || poolSize < 1) {
      throw new ConfigError('store poolSize must be a positive integer');
    }
    this.pool = new (loadPg().Pool)({
      connectionString: withPassword(options.connectionString, options.password),
      max: poolSize,
      application_name: 'dcsync',
      ...(this.schema === null ? {} : { options: `-c search_path=${this.schema}` }),
    });
    // An idle connection that dies (server restart) must not crash the process; the next
    // checkout opens a new one and a failing query reports the problem.
    this.pool.on('error', () => undefined);
    // A connection that dies while a statement sent through `pool.query` (no checkout of ours, e.g.
    // the background ANALYZE) runs emits 'error' on its client: guard every client from its start.
    this.pool.on('connect', (client) => this.guard(client));
  }

  async all<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlParam[]): Promise<R[]> {
    const result = await this.statement<R>('query', sql, params);
    return result.rows;
  }

  async run(sql: string, params?: readonly SqlParam[]): Promise<number> {
    const result = await this.statement('statement', sql, params);
    return result.rowCount ?? 0;
  }

  /** One statement on its own (its own transaction), run again after a deadlock, as transactions are. */
  private async statement<R extends SqlRow>(
    label: string,
    sql: string,
    params: readonly SqlParam[] | undefined,
  ): Promise<pg.QueryResult<R>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.query<R>(this.pool, label, sql, params);
      } catch (error) {
        if (
          !(error instanceof StoreError && error.code === 'STORE_CONFLICT') ||
          attempt >= maxTransactionAttempts
        )
          throw error;
      }
    }
  }

  async transaction<T>(label: string, fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.connect(label);
      try {
        await client.query('BEGIN');
        const result = await fn(this.transactionOn(client, label));
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (error) {
        const broken = await client.query('ROLLBACK').then(
          () => false,
          () => true,
        );
        client.release(broken);
        const sqlState = (error as { cause?: { code?: unknown } }).cause?.code;
        if (
          typeof sqlState === 'string' &&
          retriedSqlStates.has(sqlState) &&
          attempt < maxTransactionAttempts
        )
          continue;
        throw toStoreError(error, label);
      }
    }
  }

  async refreshStatistics(table: string): Promise<void> {
    if (!tablePattern.test(table))
      throw new StoreError('STORE_INVALID_INPUT', `"${table}" is not a table name`);
    if (this.closed) return;
    try {
      // A utility statement: never prepared by name.
      await this.pool.query(`ANALYZE ${table}`);
    } catch (error) {
      throw toStoreError(error, `analyze ${table}`);
    }
  }

  async migrate(migrations: readonly SqlMigration[], now: number): Promise<void> {
    const client = await this.connect('migrate');
    const lockKey = `dcsync:migrate:${this.schema ?? ''}`;
    let broken = false;
    try {
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
      try {
        // CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists:
        // create it only when missing, so a role owning just its schema can run the sync.
        if (this.schema !== null) {
          const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema]);
          if (found.rowCount === 0) await client.query(`CREATE SCHEMA "${this.schema}"`);
        }
        const tx = this.transactionOn(client, 'migrate');
        await applyPendingMigrations(
          {
            ...tx,
            execScript: async (sql) => void (await client.query(sql)),
            atomically: async (fn) => {
              await client.query('BEGIN');
              try {
                await fn();
                await client.query('COMMIT');
              } catch (error) {
                await client.query('ROLLBACK');
                throw error;
              }
            },
          },
          migrations,
          now,
          postgresMigrationDialect,
        );
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]);
      }
    } catch (error) {
      broken = true;
      throw toStoreError(error, 'migrate');
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private transactionOn(client: pg.PoolClient, label: string): SqlTransaction {
    return {
      forUpdate: this.forUpdate,
      forUpdateSkipLocked: this.forUpdateSkipLocked,
      all: async <R extends SqlRow>(sql: string, params?: readonly SqlParam[]) =>
        (await this.query<R>(client, label, sql, params)).rows,
      run: async (sql: string, params?: readonly SqlParam[]) =>
        (await this.query(client, label, sql, params)).rowCount ?? 0,
      lockKeys: async (keys: readonly string[]) => {
        if (keys.length === 0) return;
        // Sorted, so two transactions locking overlapping keys take them in the same order.
        const ids = [...new Set(keys.map((key) => this.advisoryKeyOf(key)))].sort((a, b) =>
          a < b ? -1 : a > b ? 1 : 0,
        );
        await this.query(client, label, 'SELECT pg_advisory_xact_lock(k) FROM unnest(?::bigint[]) AS t(k)', [
          ids.map(String),
        ]);
      },
    };
  }

  /** 64-bit advisory lock id of a record key, scoped to this schema. */
  private advisoryKeyOf(key: string): bigint {
    return createHash('sha256')
      .update(`${this.schema ?? ''}\u0000${key}`)
      .digest()
      .readBigInt64BE(0);
  }

  private async connect(label: string): Promise<pg.PoolClient> {
    if (this.closed) throw new StoreError('STORE_CLOSED', `postgres ${label}: the state store is closed`);
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw toStoreError(error, label);
    }
    // A checked-out connection that dies (failover, restart, pg_terminate_backend) emits 'error'
    // on the client, which the pool only handles while the client is idle: unhandled, it would end
    // the process. The query in flight fails with the same error, and the client is released as
    // broken, so there is nothing more to do here.
    this.guard(client);
    return client;
  }

  private guard(client: pg.PoolClient): void {
    if (this.guarded.has(client)) return;
    this.guarded.add(client);
    client.on('error', () => undefined);
  }

  private async query<R extends SqlRow>(
    on: pg.Pool | pg.PoolClient,
    label: string,
    sql: string,
    params: readonly (SqlParam | readonly string[])[] | undefined,
  ): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new StoreError('STORE_CLOSED', `postgres ${label}: the state store is closed`);
    try {
      const text = this.numbered(sql);
      const name = this.statementName(text);
      const values = (params ?? []) as unknown[];
      return name === undefined ? await on.query<R>(text, values) : await on.query<R>({ name, text, values });
    } catch (error) {
      throw toStoreError(error, label);
    }
  }

  /**
   * The name to prepare `text` under, once it has run before: a named statement is parsed once per
   * connection and its plan can be cached, where an unnamed one is parsed and planned on every run
   * (a lease's planning cost more than its execution). Statements run once (migrations, one-off
   * lists) stay unnamed, and at most {@link maxNamedStatements} texts are named, so each
   * connection's prepared statements stay bounded.
   */
  private statementName(text: string): string | undefined {
    const known = this.statements.get(text);
    if (known !== undefined) return known;
    const runs = (this.runsOf.get(text) ?? 0) + 1;
    if (runs < 2 || this.statements.size >= maxNamedStatements) {
      if (this.runsOf.size >= maxNamedStatements * 4) this.runsOf.clear();
      this.runsOf.set(text, runs);
      return undefined;
    }
    this.runsOf.delete(text);
    const name = `dcsync_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    this.statements.set(text, name);
    return name;
  }

  /** `?` placeholders as PostgreSQL's `$1, $2…` (the core never writes `?` inside a literal). */
  private numbered(sql: string): string {
    let text = this.texts.get(sql);
    if (text === undefined) {
      let n = 0;
      text = sql.replace(/\?/g, () => `$${++n}`);
      if (this.texts.size > 1000) this.texts.clear();
      this.texts.set(sql, text);
    }
    return text;
  }
}

const unavailableNodeCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EPIPE',
  'EHOSTUNREACH',
]);

/** A node-postgres failure as a StoreError: connection loss is retryable (STORE_UNAVAILABLE). */
export function toStoreError(error: unknown, label: string): SyncError {
  if (error instanceof SyncError) return error;
  const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : '';
  const message = error instanceof Error ? error.message : String(error);
  if (retriedSqlStates.has(code)) {
    return new StoreError('STORE_CONFLICT', `postgres ${label}: transaction conflict (SQLSTATE ${code})`, {
      cause: error,
    });
  }
  if (
    unavailableNodeCodes.has(code) ||
    code.startsWith('08') ||
    code.startsWith('57P') ||
    code === '53300' ||
    // node-postgres' own words for a connection that died under a client (no SQLSTATE).
    /Connection terminated|not queryable|timeout exceeded when trying to connect/i.test(message)
  ) {
    return new StoreError(
      'STORE_UNAVAILABLE',
      `postgres ${label}: database unreachable (${code || message})`,
      {
        cause: error,
      },
    );
  }
  if (code === '42P01') {
    return new StoreError(
      'STORE_NOT_MIGRATED',
      `postgres ${label}: ${message}; run the store migrations first`,
      {
        cause: error,
      },
    );
  }
  // Class 22 messages can quote the offending value; leave them out.
  const detail = code.startsWith('22') ? '' : `: ${message}`;
  return new StoreError(
    'STORE_QUERY_FAILED',
    `postgres ${label} failed (SQLSTATE ${code || 'none'})${detail}`,
    {
      cause: error,
    },
  );
}

/**
 * The connection string with `password` in it: node-postgres lets what it parses from a
 * connection string override a separate `password` option, so the password must travel inside.
 * The string never leaves the pool (it is neither logged nor shown).
 */
function withPassword(connectionString: string, password: string | undefined): string {
  if (password === undefined) return connectionString;
  const url = new URL(connectionString);
  url.password = encodeURIComponent(password);
  return url.toString();
}
