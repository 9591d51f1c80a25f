import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../../../src/core/clock.js';
import { ConfigError, StoreError } from '../../../src/core/errors.js';
import type { StateStore } from '../../../src/core/ports/state-store.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { PostgresStateStore } from '../../../src/store/postgres/postgres-state-store.js';
import { storeMigrations } from '../../../src/store/sql/migrations/store-migrations.js';
import { createPostgresTestSchema, type PostgresTestSchema } from '../../support/postgres-test-schema.js';
import { SqlStateStore } from '../../../src/store/sql/sql-state-store.js';
import { directLeaseStatement } from '../../../src/store/sql/sql-work-queue.js';
import { PostgresDriver } from '../../../src/store/postgres/postgres-driver.js';
import { describeStateStoreContract } from './state-store-contract.js';
import { expectMergedDeadLetters, insertDuplicateDeadLetters } from './fixtures/dead-letter-duplicates.js';
import { expectOrphansMarked, insertParkedBeforeOrphans } from './fixtures/parked-before-orphans.js';

let schema: PostgresTestSchema;

beforeAll(async () => {
  schema = await createPostgresTestSchema('pg_store');
});

afterAll(async () => {
  await schema.drop();
});

const openOnSchema = (clock: Clock) =>
  openStateStore(schema.url, { clock, schema: schema.name, poolSize: 4 });

describeStateStoreContract('postgres', {
  async openEmpty(clock) {
    const store = await openOnSchema(clock);
    await schema.emptyTables();
    return store;
  },
  openSame: openOnSchema,
});

describe('postgres state store adapter', () => {
  it('applies each migration once when several processes migrate a new schema at once', async () => {
    const fresh = await createPostgresTestSchema('pg_migrate');
    try {
      const stores = Array.from(
        { length: 5 },
        () => new PostgresStateStore({ connectionString: fresh.url, schema: fresh.name, poolSize: 1 }),
      );
      try {
        await Promise.all(stores.map((store) => store.migrate()));
        await stores[0]!.migrate();
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
      const rows = await fresh.query<{ version: number }>(
        'SELECT version FROM schema_migrations ORDER BY version',
      );
      expect(rows.map((r) => Number(r.version))).toEqual(storeMigrations.map((m) => m.version));
      const tables = await fresh.query<{ tablename: string }>(
        'SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename',
        [fresh.name],
      );
      expect(tables.map((t) => t.tablename)).toContain('work_items');
    } finally {
      await fresh.drop();
    }
  });

  /**
   * A schema a release before migration `version` made, holding rows `seed` writes with that
   * release's schema, opened by this build (which runs the rest), then checked by `check`.
   */
  async function upgradedFrom(
    version: number,
    schema: string,
    seed: typeof insertDuplicateDeadLetters,
    check: (store: StateStore) => Promise<void>,
  ): Promise<void> {
    const fresh = await createPostgresTestSchema(schema);
    const clock = new ManualClock();
    try {
      const old = new SqlStateStore(
        new PostgresDriver({ connectionString: fresh.url, schema: fresh.name, poolSize: 1 }),
        clock,
        storeMigrations.filter((m) => m.version < version),
      );
      await old.migrate();
      await old.close();
      await seed(
        (sql, params) => fresh.query(sql, params),
        (i) => `$${i}`,
      );
      const store = await openStateStore(fresh.url, { schema: fresh.name, clock });
      try {
        await check(store);
      } finally {
        await store.close();
      }
    } finally {
      await fresh.drop();
    }
  }

  it('migration 6 merges the dead letters of one record and cause that older versions kept apart', () =>
    upgradedFrom(6, 'pg_dead_letters', insertDuplicateDeadLetters, expectMergedDeadLetters));

  it('migration 9 makes the children parked on an empty lookup orphans', () =>
    upgradedFrom(9, 'pg_parked_orphans', insertParkedBeforeOrphans, expectOrphansMarked));

  it('creates its schema when missing and accepts the postgresql:// form', async () => {
    const fresh = await createPostgresTestSchema('pg_create');
    await fresh.drop();
    try {
      const store = await openStateStore(fresh.url.replace(/^postgres:/, 'postgresql:'), {
        schema: fresh.name,
        clock: new ManualClock(),
      });
      await store.checkpoints.set('a', 'b');
      await store.close();
      expect(await fresh.query('SELECT name, value FROM checkpoints')).toEqual([{ name: 'a', value: 'b' }]);
    } finally {
      await fresh.drop();
    }
  });

  it('refuses to run against a schema newer than this build', async () => {
    const fresh = await createPostgresTestSchema('pg_newer');
    try {
      const store = await openStateStore(fresh.url, { schema: fresh.name });
      await store.close();
      await fresh.query(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)",
      );
      const error = await openStateStore(fresh.url, { schema: fresh.name }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).code).toBe('STORE_SCHEMA_TOO_NEW');
    } finally {
      await fresh.drop();
    }
  });

  it('rejects a schema name that is not a plain identifier', () => {
    expect(
      () => new PostgresStateStore({ connectionString: schema.url, schema: 'x"; DROP TABLE y' }),
    ).toThrow(ConfigError);
  });

  it('reports an unreachable database as a retryable STORE_UNAVAILABLE without the password', async () => {
    const error = await openStateStore('postgres://postgres:s3cret-pw@127.0.0.1:1/test').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('STORE_UNAVAILABLE');
    expect((error as StoreError).retryable).toBe(true);
    expect((error as StoreError).message).not.toContain('s3cret-pw');
  });

  it('reports a store used before migrating as STORE_NOT_MIGRATED', async () => {
    const fresh = await createPostgresTestSchema('pg_unmigrated');
    const store = new PostgresStateStore({ connectionString: fresh.url, schema: fresh.name });
    try {
      const error = await store.checkpoints.get('x').catch((e: unknown) => e);
      expect((error as StoreError).code).toBe('STORE_NOT_MIGRATED');
    } finally {
      await store.close();
      await fresh.drop();
    }
  });

  it('keeps the planner statistics of a growing inbox current, so a lease walks the lease-order index instead of sorting the backlog', async () => {
    const fresh = await createPostgresTestSchema('pg_stats');
    const store = await openStateStore(fresh.url, { schema: fresh.name, poolSize: 2 });
    try {
      // An initial load's first page into an empty inbox: never analysed, and autovacuum (when on
      // at all) would get to it a minute later at best.
      await store.queue.enqueue(
        Array.from({ length: 2000 }, (_, i) => ({
          flow: 'contacts',
          recordKey: `k-${String(i).padStart(6, '0')}`,
          payload: { op: 'upsert', values: { n: i } },
          lane: 'bulk' as const,
        })),
      );
      await expect
        .poll(
          async () =>
            Number(
              (
                await fresh.query<{ reltuples: number }>(
                  "SELECT reltuples FROM pg_class WHERE oid = 'work_items'::regclass",
                )
              )[0]?.reltuples,
            ),
          { timeout: 10_000, interval: 50 },
        )
        .toBeGreaterThanOrEqual(2000);
      const lease = directLeaseStatement(
        { dialect: 'postgres', forUpdateSkipLocked: 'FOR UPDATE SKIP LOCKED' },
        ['contacts'],
        ['live', 'bulk'],
      );
      let n = 0;
      const now = 4_102_444_800_000; // every item is available
      const plan = await fresh.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN ${lease.sql.replace(/\?/g, () => `$${++n}`)}`,
        lease.params({ owner: 'w', expiresAt: now + 60_000, now, limit: 30 }),
      );
      const lines = plan.map((row) => row['QUERY PLAN']).join('\n');
      expect(lines).toContain('work_items_lease_order');
      expect(lines).not.toMatch(/Sort/);
    } finally {
      await store.close();
      await fresh.drop();
    }
  });
});
