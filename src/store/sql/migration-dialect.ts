import type { SqlDialect } from './sql-driver.js';

/**
 * What a migration may ask of a dialect (Kysely's dialect model, for DDL only): the spelling of
 * the column types that differ, and the dialect's name for the rare step only one dialect can take
 * the same way (SQLite cannot alter a constraint and rebuilds the table instead; see 0005). What both
 * dialects spell alike is written plainly in the migration: `TEXT`, `INTEGER` (a 32-bit count),
 * `CHECK`, `UNIQUE`, `DEFAULT`, partial indexes (`CREATE INDEX … WHERE …`), `ALTER TABLE … ADD COLUMN`.
 *
 * Every shipped migration renders through these entries, so an entry never changes: a new spelling
 * is a new entry.
 */
export interface MigrationDialect {
  readonly name: SqlDialect;
  /** An id the database assigns on insert, the table's primary key; ids are never reused. */
  readonly autoId: string;
  /** A 64-bit integer: epoch milliseconds, byte and line counts, a reference to an `autoId`. */
  readonly bigint: string;
  /** A flag (booleans are bound as 0/1) or a small code such as a lane rank. */
  readonly smallint: string;
  /**
   * Text compared and ordered bytewise: record keys, flow names, checkpoint and lock names, codes
   * a statement filters or pages by. Other text (payloads, messages) is plain `TEXT`.
   */
  readonly key: string;
}

/**
 * A step written per dialect inside one migration: the SQL for `dialect`. Keeps the difference in
 * one marked place, and adding a dialect fails to compile until every such step has its SQL.
 */
export function perDialect(dialect: MigrationDialect, steps: Readonly<Record<SqlDialect, string>>): string {
  return steps[dialect.name];
}
