import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { privacyHold } from '../../../src/engine/parking.js';
import { PRIVACY_GUARD_REFRESH_MS } from '../../../src/core/ports/privacy-store.js';
import type { StateStore } from '../../../src/core/ports/state-store.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { createPostgresTestSchema, type PostgresTestSchema } from '../../support/postgres-test-schema.js';

const contact = '0f8fad5b-d9cb-469f-a165-70867728950e';
const other = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

interface Adapter {
  open(clock: ManualClock): Promise<StateStore>;
  /** A second store on the same database (another process). */
  openSame(clock: ManualClock): Promise<StateStore>;
}

let dir: string;
let schema: PostgresTestSchema;
let files = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dcsync-privacy-store-'));
  schema = await createPostgresTestSchema('privacy_store');
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await schema.drop();
});

const adapters: Record<string, Adapter> = {
  sqlite: {
    open: (clock) => openStateStore(`sqlite:${join(dir, `privacy-${++files}.db`)}`, { clock }),
    openSame: (clock) => openStateStore(`sqlite:${join(dir, `privacy-${files}.db`)}`, { clock }),
  },
  postgres: {
    async open(clock) {
      const store = await openStateStore(schema.url, { clock, schema: schema.name, poolSize: 4 });
      await schema.emptyTables();
      return store;
    },
    openSame: (clock) => openStateStore(schema.url, { clock, schema: schema.name, poolSize: 2 }),
  },
};

describe.each(Object.keys(adapters))('privacy store contract (%s)', (name) => {
  let clock: ManualClock;
  let store: StateStore;

  beforeEach(async () => {
    clock = new ManualClock(1_700_000_000_000);
    store = await adapters[name]!.open(clock);
  });

  afterEach(async () => {
    await store.close();
  });

  it('creates one active delete request per contact and records who asked in the history', async () => {
    const first = await store.privacy.create({
      type: 'delete',
      contactKey: contact,
      regulation: 'gdpr',
      requestedBy: 'cli:ops',
    });
    expect(first.created).toBe(true);
    expect(first.request).toMatchObject({
      type: 'delete',
      contactKey: contact,
      state: 'pending',
      step: 'hold',
      requestedBy: 'cli:ops',
      createdAt: clock.now(),
      jobId: null,
      linked: [],
    });
    const again = await store.privacy.create({
      type: 'delete',
      contactKey: contact,
      regulation: 'ccpa',
      requestedBy: 'api',
    });
    expect(again).toEqual({ request: first.request, created: false });
    const access = await store.privacy.create({
      type: 'access',
      contactKey: contact,
      regulation: 'gdpr',
      requestedBy: 'cli:ops',
    });
    expect(access.created).toBe(true);
    expect(access.request.step).toBe('gather');
    expect(await store.privacy.steps(first.request.id)).toEqual([
      expect.objectContaining({ step: 'hold', outcome: 'requested', startedAt: clock.now() }),
    ]);
  });

  it('advances only from the expected step, atomically with history and audit', async () => {
    const { request } = await store.privacy.create({
      type: 'delete',
      contactKey: contact,
      regulation: 'gdpr',
      requestedBy: 'cli:ops',
    });
    clock.advance(5);
    const linked = [
      { flow: 'table:new_order', recordKey: other, resource: 'cusOrder', pkey: '@abc', cascade: true },
    ];
    const moved = await store.privacy.advance(
      request.id,
      'hold',
      { state: 'in-progress', step: 'submit', heldAt: clock.now(), linked, profilePKey: '@p1' },
      [{ step: 'hold', outcome: 'succeeded', startedAt: 1, finishedAt: clock.now(), detail: 'held 2 keys' }],
      [
        {
          at: clock.now(),
          actor: 'cli:ops',
          action: 'privacy.hold',
          flow: 'contacts',
          recordKey: contact,
          fields: [],
          outcome: 'succeeded',
          detail: `request ${request.id}`,
        },
      ],
    );
    expect(moved).toBe(true);
    expect(await store.privacy.advance(request.id, 'hold', { step: 'poll' }, [])).toBe(false);
    const read = await store.privacy.get(request.id);
    expect(read).toMatchObject({
      state: 'in-progress',
      step: 'submit',
      heldAt: clock.now(),
      linked,
      profilePKey: '@p1',
      updatedAt: clock.now(),
    });
    expect((await store.privacy.steps(request.id)).map((s) => [s.step, s.outcome])).toEqual([
      ['hold', 'requested'],
      ['hold', 'succeeded'],
    ]);
    const audit = await store.audit.list({ action: 'privacy.hold' }, {});
    expect(audit.items).toHaveLength(1);
    await store.privacy.advance(request.id, 'submit', { state: 'failed', errorCode: 'X' }, []);
    expect(await store.privacy.advance(request.id, 'submit', { step: 'poll' }, [])).toBe(false);
    // A finished request no longer blocks a new one.
    const next = await store.privacy.create({
      type: 'delete',
      contactKey: contact,
      regulation: 'gdpr',
      requestedBy: 'api',
    });
    expect(next.created).toBe(true);
  });

  it('lists newest first with filters and cursors, and finds due requests', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const key = `00000000-0000-4000-8000-00000000000${i}`;
      ids.push(
        (
          await store.privacy.create({
            type: 'delete',
            contactKey: key,
            regulation: 'gdpr',
            requestedBy: 'a',
          })
        ).request.id,
      );
      clock.advance(1);
    }
    const first = await store.privacy.list({}, { limit: 2 });
    expect(first.items.map((r) => r.id)).toEqual([ids[4], ids[3]]);
    const second = await store.privacy.list({}, { limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((r) => r.id)).toEqual([ids[2], ids[1]]);
    const third = await store.privacy.list({}, { limit: 2, cursor: second.nextCursor! });
    expect(third).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
    expect(
      (await store.privacy.list({ contactKey: '00000000-0000-4000-8000-000000000002' }, {})).items,
    ).toHaveLength(1);
    await store.privacy.advance(ids[1]!, 'hold', { nextAttemptAt: clock.now() + 60_000 }, []);
    await store.privacy.advance(ids[2]!, 'hold', { state: 'completed', step: 'done' }, []);
    expect((await store.privacy.list({ state: 'completed' }, {})).items.map((r) => r.id)).toEqual([ids[2]]);
    expect((await store.privacy.due(clock.now(), 10)).map((r) => r.id)).toEqual([ids[0], ids[3], ids[4]]);
    expect(await store.privacy.get('nope')).toBeNull();
  });

  it('guards held and tombstoned keys, flow-independent; a tombstone is final', async () => {
    const { request } = await store.privacy.create({
      type: 'delete',
      contactKey: contact,
      regulation: 'gdpr',
      requestedBy: 'a',
    });
    expect(await store.privacy.check('contacts', contact)).toBeNull();
    await store.privacy.hold([contact, other], request.id);
    await store.privacy.hold([contact], request.id);
    expect(await store.privacy.check('contacts', contact)).toBe('hold');
    expect(await store.privacy.check('table:new_order', other)).toBe('hold');
    expect(await store.privacy.guardOf(contact)).toEqual({
      kind: 'hold',
      requestId: request.id,
      at: clock.now(),
    });
    await store.privacy.tombstone([contact]);
    expect(await store.privacy.check('contacts', contact)).toBe('tombstone');
    expect(await store.privacy.guardOf(contact)).toEqual({
      kind: 'tombstone',
      requestId: null,
      at: clock.now(),
    });
    // A tombstone is final: neither a new hold nor a release undoes it.
    await store.privacy.hold([contact], request.id);
    expect(await store.privacy.releaseHolds([contact, other], request.id)).toBe(1);
    expect(await store.privacy.check('contacts', contact)).toBe('tombstone');
    expect(await store.privacy.check('table:new_order', other)).toBeNull();
  });

  it('lets another process see a new hold within the guard refresh interval', async () => {
    const engineSide = await adapters[name]!.openSame(clock);
    try {
      expect(await engineSide.privacy.check('contacts', contact)).toBeNull();
      await store.privacy.hold([contact], '1');
      // Cached: the engine may act on its snapshot for up to PRIVACY_GUARD_REFRESH_MS.
      expect(await engineSide.privacy.check('contacts', contact)).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, PRIVACY_GUARD_REFRESH_MS + 50));
      expect(await engineSide.privacy.check('contacts', contact)).toBe('hold');
    } finally {
      await engineSide.close();
    }
  });

  it('purges queued, parked, dead-lettered and key-map traces of a record, and nothing else', async () => {
    const keep = { flow: 'contacts', recordKey: other };
    await store.queue.enqueue([
      { flow: 'contacts', recordKey: contact, payload: { op: 'upsert' } },
      { ...keep, payload: { op: 'upsert' } },
      { flow: 'table:new_order', recordKey: 'o-1', payload: { op: 'upsert' } },
      { flow: 'table:new_order', recordKey: 'o-2', payload: { op: 'upsert' } },
    ]);
    const leased = await store.queue.lease({ owner: 'w', limit: 10, leaseMs: 60_000 });
    const byKey = new Map(leased.map((item) => [item.recordKey, item]));
    await store.queue.park(byKey.get(contact)!.id, 'w', privacyHold(contact), 'held');
    await store.queue.park(byKey.get('o-1')!.id, 'w', { flow: 'contacts', recordKey: contact }, 'parent');
    await store.queue.fail({
      id: byKey.get('o-2')!.id,
      owner: 'w',
      error: { code: 'X', message: 'x', retryable: false },
      retryAt: null,
    });
    await store.queue.enqueue([{ flow: 'contacts', recordKey: contact, payload: { op: 'upsert', n: 2 } }]);
    await store.keyMap.put({
      flow: 'contacts',
      recordKey: contact,
      campaignPKey: '@p',
      origin: 'created',
      lastSourceVersion: null,
      lastPayloadHash: null,
    });
    await store.keyMap.put({
      ...keep,
      campaignPKey: '@q',
      origin: 'created',
      lastSourceVersion: null,
      lastPayloadHash: null,
    });
    const report = await store.privacy.purge([
      { flow: 'contacts', recordKey: contact },
      { flow: 'table:new_order', recordKey: 'o-2' },
    ]);
    expect(report).toEqual({ workItems: 0, parked: 2, deadLetters: 1, keyMap: 1 });
    expect(await store.parked.count()).toBe(0);
    expect(await store.deadLetters.count()).toBe(0);
    expect(await store.keyMap.get('contacts', contact)).toBeNull();
    expect(await store.keyMap.get(keep.flow, keep.recordKey)).not.toBeNull();
    expect(await store.queue.itemsForKey(keep.flow, keep.recordKey)).toHaveLength(1);
    expect(await store.queue.itemsForKey('contacts', contact)).toHaveLength(0);
  });
});
