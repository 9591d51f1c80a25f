import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../../../src/core/clock.js';
import { ConfigError, StoreError } from '../../../src/core/errors.js';
import type { StateStore } from '../../../src/core/ports/state-store.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { SqliteStateStore } from '../../../src/store/sqlite/sqlite-state-store.js';
import { storeMigrations } from '../../../src/store/sql/migrations/store-migrations.js';
import { SqlStateStore } from '../../../src/store/sql/sql-state-store.js';
import { SqliteDriver } from '../../../src/store/sqlite/sqlite-driver.js';
import { describeStateStoreContract } from './state-store-contract.js';
import { expectMergedDeadLetters, insertDuplicateDeadLetters } from './fixtures/dead-letter-duplicates.js';
import { expectOrphansMarked, insertParkedBeforeOrphans } from './fixtures/parked-before-orphans.js';

let dir: string;
let files = 0;
let lastFile = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dcsync-sqlite-store-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Every statement the contract suite made the store prepare, for the query-plan check below. */
const prepared = new Set<string>();

async function openCapturing(file: string, clock: Clock): Promise<SqliteStateStore> {
  const store = new SqliteStateStore({ filename: file, clock, onPrepare: (sql) => prepared.add(sql) });
  await store.migrate();
  return store;
}

describeStateStoreContract('sqlite', {
  openEmpty(clock: Clock) {
    lastFile = join(dir, `contract-${files++}.db`);
    return openCapturing(lastFile, clock);
  },
  openSame(clock: Clock) {
    return openCapturing(lastFile, clock);
  },
});

/** Tables that grow with the data; a statement may read them whole only for a listed reason. */
const largeTables = ['work_items', 'key_map', 'key_seen', 'parked_items', 'dead_letters', 'audit_entries'];

/** Statements that read a large table whole by design, with why that is acceptable. */
const wholeTableReads: { pattern: RegExp; why: string }[] = [
  {
    pattern: /WHERE 1 = 1 ORDER BY id LIMIT \?$/,
    why: 'an unfiltered first page reads in id order and stops after LIMIT rows',
  },
  {
    pattern:
      /^SELECT [^;]* FROM dead_letters WHERE (record_key = \?|substr\(record_key, 1, \?\) = \?) ORDER BY id/,
    why: 'operator search of dead letters by key across flows; 100,000 dead letters answer in ~30 ms (bench dashboard)',
  },
  {
    pattern:
      /^SELECT flow, lane_rank, SUM\(CASE WHEN state = 'queued'[^;]* FROM work_items GROUP BY flow, lane_rank/,
    why: 'the backlog counts every item by flow and lane (it read every item through work_items_by_key until migration 13 dropped it); the engine counts with countPending where it is asked often',
  },
];

describe('sqlite query plans', () => {
  it('no statement of the contract suite scans a large table without an index', async () => {
    expect(prepared.size).toBeGreaterThan(50);
    const file = join(dir, 'plans.db');
    await (await openStateStore(`sqlite:${file}`)).close();
    const db = new Database(file, { readonly: true });
    const scans: string[] = [];
    try {
      for (const sql of prepared) {
        if (wholeTableReads.some((r) => r.pattern.test(sql))) continue;
        const params = Array<string>((sql.match(/\?/g) ?? []).length).fill('x');
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
        for (const { detail } of plan) {
          const table = /^SCAN (\w+)/.exec(detail)?.[1];
          if (table && largeTables.includes(table) && !/USING (COVERING )?INDEX/.test(detail))
            scans.push(`${detail} <= ${sql.replace(/\s+/g, ' ').slice(0, 200)}`);
        }
      }
    } finally {
      db.close();
    }
    expect(scans).toEqual([]);
  });
});

describe('sqlite state store adapter', () => {
  it('uses WAL and records each migration once, also when two processes migrate at once', async () => {
    const file = join(dir, 'migrate.db');
    const stores = [new SqliteStateStore({ filename: file }), new SqliteStateStore({ filename: file })];
    await Promise.all(stores.map((store) => store.migrate()));
    await stores[0]!.migrate();
    await Promise.all(stores.map((store) => store.close()));
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all()).toEqual(
        storeMigrations.map(({ version, name }) => ({ version, name })),
      );
    } finally {
      db.close();
    }
  });

  /**
   * A store a release before migration `version` made, holding rows `seed` writes with that
   * release's schema, opened by this build (which runs the rest), then checked by `check`.
   */
  async function upgradedFrom(
    version: number,
    name: string,
    seed: typeof insertDuplicateDeadLetters,
    check: (store: StateStore) => Promise<void>,
  ): Promise<void> {
    const file = join(dir, `${name}.db`);
    const clock = new ManualClock();
    const old = new SqlStateStore(
      new SqliteDriver({ filename: file }),
      clock,
      storeMigrations.filter((m) => m.version < version),
    );
    await old.migrate();
    await old.close();
    const db = new Database(file);
    try {
      await seed(
        (sql, params) => db.prepare(sql).run(...params),
        () => '?',
      );
    } finally {
      db.close();
    }
    const store = await openStateStore(`sqlite:${file}`, { clock });
    try {
      await check(store);
    } finally {
      await store.close();
    }
  }

  it('migration 6 merges the dead letters of one record and cause that older versions kept apart', () =>
    upgradedFrom(6, 'dead-letters', insertDuplicateDeadLetters, expectMergedDeadLetters));

  it('migration 9 makes the children parked on an empty lookup orphans', () =>
    upgradedFrom(9, 'parked-orphans', insertParkedBeforeOrphans, expectOrphansMarked));

  it('opens sqlite:<relative path>, creating parent directories', async () => {
    const file = join(dir, 'nested', 'deeper', 'state.db');
    const store = await openStateStore(`sqlite:./${relative(process.cwd(), file)}`, {
      clock: new ManualClock(),
    });
    await store.checkpoints.set('a', 'b');
    await store.close();
    expect(existsSync(file)).toBe(true);
  });

  it('opens a private in-memory store with sqlite::memory:', async () => {
    const first = await openStateStore('sqlite::memory:');
    const second = await openStateStore('sqlite::memory:');
    await first.checkpoints.set('a', 'b');
    expect(await second.checkpoints.get('a')).toBeNull();
    expect(first.dialect).toBe('sqlite');
    await Promise.all([first.close(), second.close()]);
  });

  it('rejects unsupported store URLs with a ConfigError naming the accepted forms, never echoing a password', async () => {
    for (const url of [
      '',
      'mysql://root:hunter2@db/x',
      'sqlite:',
      'postgres://u:hunter2@host:99999/db',
      'state.db',
    ]) {
      const error = await openStateStore(url).catch((e: unknown) => e);
      expect(error, url).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain('sqlite:./path/to/state.db');
      expect((error as ConfigError).message).toContain('postgres://');
      expect((error as ConfigError).message).not.toContain('hunter2');
    }
  });

  it('refuses to run against a database newer than this build', async () => {
    const file = join(dir, 'newer.db');
    await (await openStateStore(`sqlite:${file}`)).close();
    const db = new Database(file);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)").run();
    db.close();
    const error = await openStateStore(`sqlite:${file}`).catch((e: unknown) => e);
    expect((error as StoreError).code).toBe('STORE_SCHEMA_TOO_NEW');
  });

  it('reports a store used before migrating as STORE_NOT_MIGRATED', async () => {
    const store = new SqliteStateStore({ filename: ':memory:' });
    const error = await store.checkpoints.get('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('STORE_NOT_MIGRATED');
    await store.close();
  });
});
