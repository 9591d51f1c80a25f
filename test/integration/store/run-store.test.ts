import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import type { StateStore } from '../../../src/core/ports/state-store.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { createPostgresTestSchema, type PostgresTestSchema } from '../../support/postgres-test-schema.js';

let dir: string;
let schema: PostgresTestSchema;
let files = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dcsync-run-store-'));
  schema = await createPostgresTestSchema('pg_runs');
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await schema.drop();
});

const adapters = {
  sqlite: (clock: ManualClock) => openStateStore(`sqlite:${join(dir, `runs-${files++}.db`)}`, { clock }),
  postgres: async (clock: ManualClock) => {
    const store = await openStateStore(schema.url, { clock, schema: schema.name, poolSize: 4 });
    await schema.emptyTables();
    return store;
  },
};

describe.each(Object.entries(adapters))('run store (%s)', (_name, open) => {
  let store: StateStore | undefined;
  const clock = new ManualClock(1_000_000);
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it('starts a run, adds counts from several writers, records events and ends it once', async () => {
    store = await open(clock);
    const run = await store.runs.start({
      flow: 'contacts',
      kind: 'initial',
      trigger: 'first-start',
      total: 10,
      totalSource: 'count',
    });
    expect(run).toMatchObject({
      flow: 'contacts',
      kind: 'initial',
      trigger: 'first-start',
      subject: null,
      startedAt: 1_000_000,
      endedAt: null,
      outcome: 'running',
      phase: 'reading',
      total: 10,
      totalSource: 'count',
      counts: { read: 0, created: 0, skipped: {} },
    });
    clock.advance(1000);
    await Promise.all([
      store.runs.update(run.id, { addCounts: { read: 10, created: 3, skipped: { filtered: 1 } } }),
      store.runs.update(run.id, { addCounts: { created: 2, skipped: { filtered: 1, stale: 2 } } }),
    ]);
    await store.runs.update(run.id, { phase: 'writing', total: 10, totalSource: 'read' });
    await store.runs.addEvent(run.id, { kind: 'paused', detail: 'paused by operator' });
    clock.advance(1000);
    await store.runs.addEvent(run.id, { kind: 'resumed' });
    expect(await store.runs.end(run.id, 'succeeded', { addCounts: { created: 4 } })).toBe(true);
    expect(await store.runs.end(run.id, 'failed')).toBe(false);
    const got = await store.runs.get(run.id);
    expect(got).toMatchObject({
      outcome: 'succeeded',
      phase: 'ended',
      endedAt: 1_002_000,
      totalSource: 'read',
      counts: { read: 10, created: 9, skipped: { filtered: 2, stale: 2 } },
      events: [
        { at: 1_001_000, kind: 'paused', detail: 'paused by operator' },
        { at: 1_002_000, kind: 'resumed', detail: null },
      ],
    });
    // Late counts of another process still add up after the end.
    expect(await store.runs.update(run.id, { addCounts: { created: 1 } })).toBe(true);
    expect((await store.runs.get(run.id))!.counts.created).toBe(10);
    expect(await store.runs.get('999999')).toBeNull();
    expect(await store.runs.get('not-an-id')).toBeNull();
    expect(await store.runs.update('999999', {})).toBe(false);
  });

  it('lists runs newest first, by flow and kind, page by page; active runs; prunes ended ones', async () => {
    store = await open(clock);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const run = await store.runs.start({
        flow: i % 2 === 0 ? 'contacts' : 'table:new_order',
        kind: i === 4 ? 'replay' : 'initial',
        trigger: i === 4 ? 'operator' : 'first-start',
      });
      ids.push(run.id);
    }
    const first = await store.runs.list({}, { limit: 2 });
    expect(first.items.map((r) => r.id)).toEqual([ids[4], ids[3]]);
    const second = await store.runs.list({}, { limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((r) => r.id)).toEqual([ids[2], ids[1]]);
    const third = await store.runs.list({}, { limit: 2, cursor: second.nextCursor! });
    expect(third.items.map((r) => r.id)).toEqual([ids[0]]);
    expect(third.nextCursor).toBeNull();
    expect((await store.runs.list({ flow: 'contacts' }, {})).items.map((r) => r.id)).toEqual([
      ids[4],
      ids[2],
      ids[0],
    ]);
    expect((await store.runs.list({ flow: 'contacts', kind: 'replay' }, {})).items.map((r) => r.id)).toEqual([
      ids[4],
    ]);

    await store.runs.end(ids[0]!, 'succeeded');
    await store.runs.addEvent(ids[0]!, { kind: 'read-complete' });
    clock.advance(10_000);
    await store.runs.end(ids[1]!, 'failed');
    expect((await store.runs.active()).map((r) => r.id)).toEqual([ids[2], ids[3], ids[4]]);
    expect(await store.runs.prune(clock.now() - 5_000)).toBe(1);
    expect(await store.runs.get(ids[0]!)).toBeNull();
    expect(await store.runs.get(ids[1]!)).not.toBeNull();
    expect(await store.runs.prune(clock.now() + 1)).toBe(1);
    expect((await store.runs.list({}, {})).items).toHaveLength(3);
  });

  it('refuses what is not a run', async () => {
    store = await open(clock);
    await expect(
      store.runs.start({ flow: 'contacts', kind: 'nonsense' as never, trigger: 'operator' }),
    ).rejects.toMatchObject({ code: 'STORE_INVALID_INPUT' });
    const run = await store.runs.start({ flow: 'contacts', kind: 'replay', trigger: 'operator' });
    await expect(store.runs.update(run.id, { addCounts: { created: -1 } })).rejects.toMatchObject({
      code: 'STORE_INVALID_INPUT',
    });
    await expect(store.runs.list({}, { cursor: 'bogus' })).rejects.toMatchObject({
      code: 'STORE_INVALID_CURSOR',
    });
  });
});
