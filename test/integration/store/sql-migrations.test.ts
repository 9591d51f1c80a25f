import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { PostgresDriver } from '../../../src/store/postgres/postgres-driver.js';
import { postgresMigrationDialect } from '../../../src/store/postgres/postgres-migration-dialect.js';
import type { MigrationDialect } from '../../../src/store/sql/migration-dialect.js';
import { storeMigrations } from '../../../src/store/sql/migrations/store-migrations.js';
import type { SqlDriver } from '../../../src/store/sql/sql-driver.js';
import type { SqlMigration } from '../../../src/store/sql/sql-migration.js';
import { SqlStateStore } from '../../../src/store/sql/sql-state-store.js';
import type { StateStore } from '../../../src/core/ports/state-store.js';
import { SqliteDriver } from '../../../src/store/sqlite/sqlite-driver.js';
import { sqliteMigrationDialect } from '../../../src/store/sqlite/sqlite-migration-dialect.js';
import { createPostgresTestSchema } from '../../support/postgres-test-schema.js';
import { readShippedMigrations } from './fixtures/shipped-migrations.js';

/** One empty database of a dialect, for migrating and then describing its schema. */
interface EmptyDatabase {
  /** A driver on the database, for a store running a given list of migrations. */
  driver(): SqlDriver;
  /** The store the new code opens (`openStateStore`), migrated. */
  open(clock: ManualClock): Promise<StateStore>;
  applied(): Promise<{ version: number; name: string; appliedAt: number }[]>;
  /** Everything the migrations made: tables, columns, constraints, indexes, and rows. */
  schema(): Promise<Record<string, unknown[]>>;
  drop(): Promise<void>;
}

interface DialectHarness {
  dialect: MigrationDialect;
  create(label: string): Promise<EmptyDatabase>;
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'dcsync-migrations-'));
afterAll(() => rmSync(sqliteDir, { recursive: true, force: true }));

const sqlite: DialectHarness = {
  dialect: sqliteMigrationDialect,
  create(label) {
    const filename = join(sqliteDir, `${label}.db`);
    const read = <T>(fn: (db: Database.Database) => T): T => {
      const db = new Database(filename, { readonly: true });
      try {
        return fn(db);
      } finally {
        db.close();
      }
    };
    return Promise.resolve({
      driver: () => new SqliteDriver({ filename }),
      open: (clock) => openStateStore(`sqlite:${filename}`, { clock }),
      applied: () =>
        Promise.resolve(
          read((db) =>
            db
              .prepare(
                'SELECT version, name, applied_at AS appliedAt FROM schema_migrations ORDER BY version',
              )
              .all(),
          ) as { version: number; name: string; appliedAt: number }[],
        ),
      schema: () =>
        Promise.resolve(
          read((db) => {
            const objects = db
              .prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name')
              .all() as { type: string; name: string }[];
            const rows = objects
              .filter((o) => o.type === 'table' && o.name !== 'schema_migrations')
              .map((o) => ({
                table: o.name,
                rows: db.prepare(`SELECT * FROM "${o.name}" ORDER BY 1`).all(),
              }));
            return { objects, rows };
          }),
        ),
      drop: () => Promise.resolve(rmSync(filename, { force: true })),
    });
  },
};

const postgres: DialectHarness = {
  dialect: postgresMigrationDialect,
  async create(label) {
    const schema = await createPostgresTestSchema(`migrations_${label}`);
    // Index definitions name the schema, which differs between the databases compared.
    const unqualified = (definition: string) => definition.replaceAll(`${schema.name}.`, '');
    return {
      driver: () => new PostgresDriver({ connectionString: schema.url, schema: schema.name, poolSize: 1 }),
      open: (clock) => openStateStore(schema.url, { clock, schema: schema.name, poolSize: 1 }),
      applied: async () =>
        (
          await schema.query<{ version: number; name: string; applied_at: string }>(
            'SELECT version, name, applied_at FROM schema_migrations ORDER BY version',
          )
        ).map((r) => ({ version: r.version, name: r.name, appliedAt: Number(r.applied_at) })),
      async schema() {
        const columns = await schema.query(
          `SELECT table_name, column_name, ordinal_position, data_type, collation_name, is_nullable,
             column_default, is_identity, identity_generation
           FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
          [schema.name],
        );
        const constraints = await schema.query(
          `SELECT t.relname AS table_name, c.conname, c.contype, pg_get_constraintdef(c.oid) AS definition
           FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
           WHERE n.nspname = $1 ORDER BY t.relname, c.conname`,
          [schema.name],
        );
        const indexes = (
          await schema.query<{ tablename: string; indexname: string; indexdef: string }>(
            'SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname',
            [schema.name],
          )
        ).map((i) => ({ ...i, indexdef: unqualified(i.indexdef) }));
        const tables = await schema.query<{ tablename: string }>(
          "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations' ORDER BY tablename",
          [schema.name],
        );
        const rows = [];
        for (const { tablename } of tables)
          rows.push({
            table: tablename,
            rows: await schema.query(`SELECT * FROM "${tablename}" ORDER BY 1`),
          });
        return { columns, constraints, indexes, rows };
      },
      drop: () => schema.drop(),
    };
  },
};

/** Migrate with `migrations` (no more) at `clock`'s time, as the build that had them did. */
async function migrateWith(db: EmptyDatabase, migrations: readonly SqlMigration[], clock: ManualClock) {
  const store = new SqlStateStore(db.driver(), clock, migrations);
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
}

describe.each([sqlite, postgres])('store migrations on $dialect.name', ({ dialect, create }) => {
  /** The shipped migrations exactly as the release before this one ran them. */
  const shipped: SqlMigration[] = readShippedMigrations(dialect.name).map(({ version, name, sql }) => ({
    version,
    name,
    sql: () => sql,
  }));

  it('render byte for byte the SQL the shipped migrations ran', () => {
    expect(shipped.length).toBeGreaterThanOrEqual(6);
    const rendered = storeMigrations
      .slice(0, shipped.length)
      .map(({ version, name, sql }) => ({ version, name, sql: sql(dialect) }));
    expect(rendered).toEqual(shipped.map(({ version, name, sql }) => ({ version, name, sql: sql(dialect) })));
  });

  it('build the same schema on a new database as the shipped migrations', async () => {
    const [fromShipped, fromNew] = await Promise.all([create('shipped'), create('new')]);
    try {
      await migrateWith(fromShipped, shipped, new ManualClock());
      // Today's list up to what shipped (a migration not shipped yet changes the schema on purpose;
      // the upgrade test below holds it to what a new database gets).
      const shippedVersions = new Set(shipped.map((m) => m.version));
      await migrateWith(
        fromNew,
        storeMigrations.filter((m) => shippedVersions.has(m.version)),
        new ManualClock(),
      );
      const schema = await fromNew.schema();
      expect(JSON.stringify(schema)).toContain('dead_letters_one_per_cause');
      expect(JSON.stringify(schema)).toContain('opt_out_quarantine_open');
      expect(schema).toEqual(await fromShipped.schema());
    } finally {
      await Promise.all([fromShipped.drop(), fromNew.drop()]);
    }
  });

  it('upgrade a database a previous release migrated to any shipped version, running only what is missing', async () => {
    const fresh = await create('reference');
    try {
      await (await fresh.open(new ManualClock())).close();
      const reference = await fresh.schema();
      for (const { version } of shipped) {
        const db = await create(`from_${version}`);
        try {
          const before = new ManualClock(1_000);
          await migrateWith(
            db,
            shipped.filter((m) => m.version <= version),
            before,
          );
          const after = new ManualClock(2_000);
          await (await db.open(after)).close();
          expect(await db.applied(), `from version ${version}`).toEqual(
            storeMigrations.map((m) => ({
              version: m.version,
              name: m.name,
              appliedAt: m.version <= version ? 1_000 : 2_000,
            })),
          );
          expect(await db.schema(), `from version ${version}`).toEqual(reference);
        } finally {
          await db.drop();
        }
      }
    } finally {
      await fresh.drop();
    }
  });
});
