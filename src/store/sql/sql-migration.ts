import { StoreError } from '../../core/errors.js';
import type { MigrationDialect } from './migration-dialect.js';
import type { SqlExecutor } from './sql-driver.js';

/**
 * One numbered schema change, written once for every dialect (`sql/migrations/NNNN-<name>.ts`,
 * listed in `storeMigrations`).
 */
export interface SqlMigration {
  /** 1, 2, 3… applied in order and recorded in `schema_migrations`. */
  version: number;
  /** Recorded in `schema_migrations` with the version; the file is `NNNN-<name>.ts`. */
  name: string;
  /** One or more statements, rendered for a dialect: its column types and dialect-specific steps. */
  sql: (dialect: MigrationDialect) => string;
}

/** What the migration runner needs from a driver that already holds its migration lock. */
export interface MigrationSession extends SqlExecutor {
  /** Run a script of several statements. */
  execScript(sql: string): Promise<void>;
  /** Run `fn` so that a migration and its `schema_migrations` row land together. */
  atomically(fn: () => Promise<void>): Promise<void>;
}

/**
 * Apply the migrations `schema_migrations` does not list yet, in version order, rendered for
 * `target`. A version is applied once, whatever its SQL looks like today. The caller holds a lock
 * that keeps other processes out (SQLite: the write lock; PostgreSQL: an advisory lock).
 */
export async function applyPendingMigrations(
  session: MigrationSession,
  migrations: readonly SqlMigration[],
  now: number,
  target: MigrationDialect,
): Promise<void> {
  const dialect = target.name;
  await session.execScript(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
  );
  const rows = await session.all<{ version: number | string }>('SELECT version FROM schema_migrations');
  const applied = new Set(rows.map((row) => Number(row.version)));
  const known = Math.max(0, ...migrations.map((m) => m.version));
  const newer = [...applied].filter((version) => version > known);
  if (newer.length > 0) {
    throw new StoreError(
      'STORE_SCHEMA_TOO_NEW',
      `${dialect} state store has schema version ${Math.max(...newer)} but this build knows up to ${known}; upgrade dcsync`,
    );
  }
  const pending = migrations.filter((m) => !applied.has(m.version)).sort((a, b) => a.version - b.version);
  for (const migration of pending) {
    await session.atomically(async () => {
      await session.execScript(migration.sql(target));
      await session.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        now,
      ]);
    });
  }
}
