/**
 * The seam between the dialect-neutral store core (`src/store/sql/`) and one database: the
 * core writes portable SQL with `?` placeholders and asks the driver only for what truly differs
 * between SQLite and PostgreSQL (row locking, per-key writer locks, migrations under a lock).
 * Kysely's Dialect/Driver split, without a query builder: the hot paths need hand-written SQL.
 */
import type { SqlMigration } from './sql-migration.js';

/**
 * A bound parameter. Booleans and bigints are converted by the caller. An array binds as a
 * PostgreSQL array (`?::text[]`, e.g. for `unnest`): PostgreSQL-only statements.
 */
export type SqlParam = string | number | null | readonly (string | number | null)[];

/** One result row; column types vary by driver (PostgreSQL returns `bigint` as a string). */
export type SqlRow = Record<string, unknown>;

export interface SqlExecutor {
  /** Rows of a statement (a SELECT, or a write with RETURNING). */
  all<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlParam[]): Promise<R[]>;
  /** Run a statement; returns the number of rows it changed. */
  run(sql: string, params?: readonly SqlParam[]): Promise<number>;
}

/** Row-locking suffixes; SQLite needs none because a write transaction holds the whole database. */
export interface SqlRowLocking {
  /** Suffix that locks the selected rows until the transaction ends (`''` on SQLite). */
  readonly forUpdate: string;
  /** Suffix that locks the selected rows and skips rows other transactions hold (`''` on SQLite). */
  readonly forUpdateSkipLocked: string;
}

export interface SqlTransaction extends SqlExecutor, SqlRowLocking {
  /**
   * Serialise writers of these record keys until the transaction ends. Call it once per
   * transaction with every key the transaction will change (acquired in one sorted pass, so
   * two writers never deadlock). SQLite's write lock already serialises everything.
   */
  lockKeys(keys: readonly string[]): Promise<void>;
}

export const sqlDialects = ['sqlite', 'postgres'] as const;
export type SqlDialect = (typeof sqlDialects)[number];

export interface SqlDriver extends SqlExecutor, SqlRowLocking {
  readonly dialect: SqlDialect;
  /**
   * Run `fn` in one write transaction; commit when it resolves, roll back when it throws.
   * `label` names the operation in errors.
   */
  transaction<T>(label: string, fn: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  /**
   * Bring the planner's statistics of `table` up to date (see `TableStatistics`); a no-op
   * where the planner does not need them.
   */
  refreshStatistics(table: string): Promise<void>;
  /** Apply pending migrations under a lock that other processes respect. */
  migrate(migrations: readonly SqlMigration[], now: number): Promise<void>;
  close(): Promise<void>;
}
