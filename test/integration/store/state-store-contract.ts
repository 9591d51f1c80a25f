/**
 * The State port's contract suite: every rule in `src/core/ports/state-store.ts`, run against
 * every adapter (BullMQ/Kysely style). Each adapter's test file calls
 * {@link describeStateStoreContract} with a harness that opens stores on its own database.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../../../src/core/clock.js';
import { StoreError } from '../../../src/core/errors.js';
import type { JsonValue } from '../../../src/core/json.js';
import type {
  AuditEntry,
  KeyMapEntry,
  StateStore,
  WorkItem,
  WorkItemInput,
} from '../../../src/core/ports/state-store.js';

export interface StateStoreContractHarness {
  /** A migrated store on an empty database, reading time from `clock`. */
  openEmpty(clock: Clock): Promise<StateStore>;
  /** Another store (another connection or pool) on the database of the last `openEmpty`. */
  openSame(clock: Clock): Promise<StateStore>;
}

const flow = 'contacts';
const leaseMs = 30_000;

/** A change to `recordKey` in the `contacts` flow; tests state only what they care about. */
function change(recordKey: string, overrides: Partial<WorkItemInput> = {}): WorkItemInput {
  return { flow, recordKey, payload: { key: recordKey }, ...overrides };
}

function keyMapEntry(
  recordKey: string,
  overrides: Partial<Omit<KeyMapEntry, 'createdAt' | 'updatedAt'>> = {},
): Omit<KeyMapEntry, 'createdAt' | 'updatedAt'> {
  return {
    flow,
    recordKey,
    campaignPKey: `pkey-${recordKey}`,
    origin: 'created',
    lastSourceVersion: null,
    lastPayloadHash: null,
    ...overrides,
  };
}

function auditEntry(overrides: Partial<Omit<AuditEntry, 'id'>> = {}): Omit<AuditEntry, 'id'> {
  return {
    at: Date.UTC(2026, 0, 1),
    actor: 'engine',
    action: 'profile.update',
    flow,
    recordKey: 'k1',
    fields: ['email'],
    outcome: 'ok',
    detail: null,
    ...overrides,
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError);
    return error as StoreError;
  }
  throw new Error('expected a StoreError, but the call succeeded');
}

export function describeStateStoreContract(adapter: string, harness: StateStoreContractHarness): void {
  describe(`${adapter} state store contract`, () => {
    const opened: StateStore[] = [];
    let clock: ManualClock;

    async function openEmpty(): Promise<StateStore> {
      clock = new ManualClock();
      const store = await harness.openEmpty(clock);
      opened.push(store);
      return store;
    }

    async function openSame(): Promise<StateStore> {
      const store = await harness.openSame(clock);
      opened.push(store);
      return store;
    }

    async function leaseOne(store: StateStore, owner = 'w1', ms = leaseMs): Promise<WorkItem> {
      const [item] = await store.queue.lease({ owner, limit: 1, leaseMs: ms });
      if (item === undefined) throw new Error('expected an item to lease');
      return item;
    }

    /** Make `key`'s change (with `payload`) a dead letter: enqueued, leased by w1, failed for good. */
    async function deadLetterFor(store: StateStore, key: string, payload?: string): Promise<void> {
      await store.queue.enqueue([change(key, payload === undefined ? {} : { payload })]);
      const item = await leaseOne(store);
      await store.queue.fail({
        id: item.id,
        owner: 'w1',
        error: { code: 'E', message: 'm', retryable: false },
        retryAt: null,
      });
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    describe('enqueue', () => {
      it('stages a new record as one queued item with the defaults, timed by the injected clock', async () => {
        const store = await openEmpty();
        clock.advance(1234);
        expect(await store.queue.enqueue([change('k1', { payload: { email: 'x' } })])).toEqual(['queued']);
        const [item, ...rest] = await store.queue.itemsForKey(flow, 'k1');
        expect(rest).toEqual([]);
        expect(item).toMatchObject({
          flow,
          recordKey: 'k1',
          payload: { email: 'x' },
          sourceVersion: null,
          lane: 'live',
          state: 'queued',
          attempts: 0,
          enqueuedAt: clock.now(),
          availableAt: clock.now(),
          leaseOwner: null,
          leaseExpiresAt: null,
          lastError: null,
        });
        expect(item!.id).toMatch(/^\d+$/);
      });

      it('keeps payloads exactly (nested JSON, unicode, large numbers)', async () => {
        const store = await openEmpty();
        const payload: JsonValue = {
          a: [1, 2.5, null, true],
          b: { 'ü-ñ': '😀', n: 9007199254740991 },
          c: '',
        };
        await store.queue.enqueue([change('k1', { payload })]);
        expect((await store.queue.itemsForKey(flow, 'k1'))[0]!.payload).toEqual(payload);
      });

      it('coalesces a newer change into the queued item, which keeps its id, place and enqueue time', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1', { sourceVersion: '1', payload: 'v1' })]);
        const [before] = await store.queue.itemsForKey(flow, 'k1');
        clock.advance(500);
        expect(await store.queue.enqueue([change('k1', { sourceVersion: '2', payload: 'v2' })])).toEqual([
          'coalesced',
        ]);
        const items = await store.queue.itemsForKey(flow, 'k1');
        expect(items).toHaveLength(1);
        expect(items[0]).toMatchObject({
          id: before!.id,
          payload: 'v2',
          sourceVersion: '2',
          enqueuedAt: before!.enqueuedAt,
        });
      });

      it('refuses a change whose sourceVersion is lower than the queued one (stale), comparing numerically', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1', { sourceVersion: '10', payload: 'v10' })]);
        expect(await store.queue.enqueue([change('k1', { sourceVersion: '9', payload: 'v9' })])).toEqual([
          'stale',
        ]);
        expect((await store.queue.itemsForKey(flow, 'k1'))[0]).toMatchObject({
          payload: 'v10',
          sourceVersion: '10',
        });
      });

      it('compares 20-digit versions beyond 64 bits exactly', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1', { sourceVersion: '18446744073709551616', payload: 'big' })]);
        expect(
          await store.queue.enqueue([
            change('k1', { sourceVersion: '18446744073709551615', payload: 'smaller' }),
            change('k1', { sourceVersion: '99999999999999999999', payload: 'max' }),
          ]),
        ).toEqual(['stale', 'coalesced']);
        expect((await store.queue.itemsForKey(flow, 'k1'))[0]).toMatchObject({
          payload: 'max',
          sourceVersion: '99999999999999999999',
        });
      });

      it('coalesces equal and unknown versions (the later change wins)', async () => {
        const store = await openEmpty();
        expect(
          await store.queue.enqueue([
            change('k1', { sourceVersion: '5', payload: 'a' }),
            change('k1', { sourceVersion: '5', payload: 'b' }),
            change('k1', { payload: 'c' }),
          ]),
        ).toEqual(['queued', 'coalesced', 'coalesced']);
        expect((await store.queue.itemsForKey(flow, 'k1'))[0]).toMatchObject({
          payload: 'c',
          sourceVersion: '5',
        });
      });

      it('keeps the more urgent lane when coalescing', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1', { lane: 'bulk' }), change('k2', { lane: 'live' })]);
        await store.queue.enqueue([change('k1', { lane: 'live' }), change('k2', { lane: 'bulk' })]);
        const lanes = [
          (await store.queue.itemsForKey(flow, 'k1'))[0]!.lane,
          (await store.queue.itemsForKey(flow, 'k2'))[0]!.lane,
        ];
        expect(lanes).toEqual(['live', 'live']);
      });

      it('keys records by flow and record key', async () => {
        const store = await openEmpty();
        expect(
          await store.queue.enqueue([change('k1'), change('k1', { flow: 'table:new_order' }), change('K1')]),
        ).toEqual(['queued', 'queued', 'queued']);
      });

      it('gives a leased record a second queued item that waits until the lease ends', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1', { sourceVersion: '1' })]);
        const first = await leaseOne(store);
        expect(await store.queue.enqueue([change('k1', { sourceVersion: '2' })])).toEqual(['queued']);
        expect((await store.queue.itemsForKey(flow, 'k1')).map((i) => i.state)).toEqual(['leased', 'queued']);
        expect(await store.queue.lease({ owner: 'w2', limit: 10, leaseMs })).toEqual([]);
        expect(await store.queue.complete(first.id, 'w1')).toBe('ok');
        const second = await leaseOne(store, 'w2');
        expect(second.sourceVersion).toBe('2');
      });

      it('refuses a change older than the leased item of its key', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1', { sourceVersion: '5' })]);
        await leaseOne(store);
        expect(await store.queue.enqueue([change('k1', { sourceVersion: '4' })])).toEqual(['stale']);
        expect(await store.queue.itemsForKey(flow, 'k1')).toHaveLength(1);
      });

      it('stages a checkpoint in the same transaction as the changes', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1')], { name: 'delta:contacts', value: 'link-2' });
        expect(await store.checkpoints.get('delta:contacts')).toBe('link-2');
        // The checkpoint write fails inside the transaction: the staged changes roll back with it.
        await rejectionOf(
          store.queue.enqueue([change('k2')], {
            name: 'delta:contacts',
            value: undefined as unknown as string,
          }),
        );
        expect(await store.queue.itemsForKey(flow, 'k2')).toEqual([]);
        expect(await store.checkpoints.get('delta:contacts')).toBe('link-2');
        await store.queue.enqueue([], { name: 'delta:contacts', value: 'link-3' });
        expect(await store.checkpoints.get('delta:contacts')).toBe('link-3');
      });

      it('rejects bad input with STORE_INVALID_INPUT and stages nothing of the batch', async () => {
        const store = await openEmpty();
        for (const bad of [
          change('k2', { sourceVersion: '1.5' }),
          change('k2', { sourceVersion: '123456789012345678901' }),
          change('k2', { sourceVersion: '-1' }),
          change(''),
          change('k2', { lane: 'urgent' as 'live' }),
          change('k2', { availableAt: Date.UTC(2026, 0, 1) + 0.5 }),
        ]) {
          const error = await rejectionOf(store.queue.enqueue([change('k1'), bad]));
          expect(error.code).toBe('STORE_INVALID_INPUT');
        }
        expect(await store.queue.itemsForKey(flow, 'k1')).toEqual([]);
      });
    });

    describe('lease', () => {
      it('returns each leased item with its key-map entry when asked, also for a lease taken over', async () => {
        const store = await openEmpty();
        await store.keyMap.put(keyMapEntry('k1', { campaignPKey: 'pk1', lastSourceVersion: '3' }));
        await store.queue.enqueue([change('k1'), change('k2')]);
        const leased = await store.queue.lease({ owner: 'w1', limit: 2, leaseMs, withKeyMap: true });
        expect(leased.map((i) => [i.recordKey, i.keyMap?.campaignPKey ?? i.keyMap])).toEqual([
          ['k1', 'pk1'],
          ['k2', null],
        ]);
        expect(leased[0]!.keyMap).toMatchObject({
          flow,
          recordKey: 'k1',
          origin: 'created',
          lastSourceVersion: '3',
        });
        expect((await store.queue.lease({ owner: 'w1', limit: 2, leaseMs })).length).toBe(0);
        // Taken over after expiry: the same.
        await store.keyMap.put(keyMapEntry('k2', { campaignPKey: 'pk2' }));
        clock.advance(leaseMs);
        const again = await store.queue.lease({ owner: 'w2', limit: 2, leaseMs, withKeyMap: true });
        expect(again.map((i) => [i.recordKey, i.keyMap?.campaignPKey])).toEqual([
          ['k1', 'pk1'],
          ['k2', 'pk2'],
        ]);
        // Not asked: no entry.
        await store.queue.enqueue([change('k3')]);
        expect((await store.queue.lease({ owner: 'w1', limit: 1, leaseMs }))[0]).not.toHaveProperty('keyMap');
      });

      it('writes create intents in the lease for keys of the asked flows without a key-map entry, also for a lease taken over', async () => {
        const store = await openEmpty();
        await store.keyMap.put(keyMapEntry('k1', { campaignPKey: 'pk1', lastSourceVersion: '3' }));
        await store.queue.enqueue([change('k1'), change('k2'), { ...change('o1'), flow: 'other' }]);
        const leased = await store.queue.lease({
          owner: 'w1',
          limit: 3,
          leaseMs,
          withKeyMap: true,
          createIntents: [flow],
        });
        expect(
          leased.map((i) => [i.flow, i.recordKey, i.keyMap?.campaignPKey ?? null, i.intentWritten]),
        ).toEqual([
          [flow, 'k1', 'pk1', undefined],
          [flow, 'k2', null, true],
          ['other', 'o1', null, undefined],
        ]);
        // The intent is durable with the lease: no PKey, origin created; the other flow has none.
        expect(await store.keyMap.get(flow, 'k2')).toMatchObject({
          campaignPKey: null,
          origin: 'created',
          lastSourceVersion: null,
        });
        expect(await store.keyMap.get('other', 'o1')).toBeNull();
        expect((await store.keyMap.get(flow, 'k1'))?.campaignPKey).toBe('pk1');
        // Taken over after expiry: the intent is found (a retry looks the record up first), none is
        // written again; a key whose entry was removed meanwhile gets a new one.
        await store.keyMap.delete('other', 'o1');
        clock.advance(leaseMs);
        const again = await store.queue.lease({
          owner: 'w2',
          limit: 3,
          leaseMs,
          withKeyMap: true,
          createIntents: [flow, 'other'],
        });
        expect(again.map((i) => [i.recordKey, i.keyMap?.origin ?? null, i.intentWritten])).toEqual([
          ['k1', 'created', undefined],
          ['k2', 'created', undefined],
          ['o1', null, true],
        ]);
        expect(again[1]!.keyMap?.campaignPKey).toBeNull();
        expect(await store.keyMap.get('other', 'o1')).toMatchObject({
          campaignPKey: null,
          origin: 'created',
        });
        const error = await rejectionOf(
          store.queue.lease({ owner: 'w1', limit: 1, leaseMs, createIntents: [flow] }),
        );
        expect(error.code).toBe('STORE_INVALID_INPUT');
      });

      it('leases live before bulk, then in staging order, up to the limit', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([
          change('b1', { lane: 'bulk' }),
          change('l1'),
          change('b2', { lane: 'bulk' }),
          change('l2'),
        ]);
        const first = await store.queue.lease({ owner: 'w1', limit: 3, leaseMs });
        expect(first.map((i) => i.recordKey)).toEqual(['l1', 'l2', 'b1']);
        const rest = await store.queue.lease({ owner: 'w1', limit: 3, leaseMs });
        expect(rest.map((i) => i.recordKey)).toEqual(['b2']);
      });

      it('keeps a coalesced item in its place in line', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('a'), change('b')]);
        await store.queue.enqueue([change('a', { payload: 'newer' })]);
        expect((await store.queue.lease({ owner: 'w1', limit: 2, leaseMs })).map((i) => i.recordKey)).toEqual(
          ['a', 'b'],
        );
      });

      it('records the lease: owner, expiry from the clock, attempts counted at lease time', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1')]);
        clock.advance(100);
        const item = await leaseOne(store, 'host:1:0', 5000);
        expect(item).toMatchObject({
          state: 'leased',
          leaseOwner: 'host:1:0',
          leaseExpiresAt: clock.now() + 5000,
          attempts: 1,
        });
        expect((await store.queue.itemsForKey(flow, 'k1'))[0]).toMatchObject({
          state: 'leased',
          attempts: 1,
        });
      });

      it('does not lease an item before its availableAt', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1', { availableAt: clock.now() + 1000 })]);
        expect(await store.queue.lease({ owner: 'w1', limit: 1, leaseMs })).toEqual([]);
        clock.advance(1000);
        expect((await leaseOne(store)).recordKey).toBe('k1');
      });

      it('filters by flow and by lane', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([
          change('c1'),
          change('o1', { flow: 'table:order' }),
          change('c2', { lane: 'bulk' }),
        ]);
        const orders = await store.queue.lease({ owner: 'w1', limit: 10, leaseMs, flows: ['table:order'] });
        expect(orders.map((i) => i.recordKey)).toEqual(['o1']);
        const bulk = await store.queue.lease({ owner: 'w1', limit: 10, leaseMs, lanes: ['bulk'] });
        expect(bulk.map((i) => i.recordKey)).toEqual(['c2']);
        expect(await store.queue.lease({ owner: 'w1', limit: 10, leaseMs, flows: [] })).toEqual([]);
        expect(
          (await store.queue.lease({ owner: 'w1', limit: 10, leaseMs })).map((i) => i.recordKey),
        ).toEqual(['c1']);
      });

      it('never leases an item whose key has an unexpired lease', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1', { sourceVersion: '1' })]);
        await leaseOne(store, 'w1', 1000);
        await store.queue.enqueue([change('k1', { sourceVersion: '2' })]);
        clock.advance(999);
        expect(await store.queue.lease({ owner: 'w2', limit: 5, leaseMs })).toEqual([]);
      });

      it('takes over an expired lease; the old owner then gets `lost` for every lease operation', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1')]);
        const first = await leaseOne(store, 'w1', 1000);
        clock.advance(1000);
        const taken = await leaseOne(store, 'w2', 1000);
        expect(taken).toMatchObject({ id: first.id, leaseOwner: 'w2', attempts: 2 });
        expect(taken.lastError?.code).toBe('LEASE_EXPIRED');
        expect(await store.queue.extendLease(first.id, 'w1', 1000)).toBe('lost');
        expect(await store.queue.complete(first.id, 'w1')).toBe('lost');
        expect(
          await store.queue.fail({
            id: first.id,
            owner: 'w1',
            error: { code: 'X', message: 'x', retryable: true },
            retryAt: null,
          }),
        ).toBe('lost');
        expect(await store.queue.park(first.id, 'w1', { flow, recordKey: 'parent' }, 'no parent')).toBe(
          'lost',
        );
        expect(await store.deadLetters.count()).toBe(0);
        expect(await store.queue.complete(taken.id, 'w2')).toBe('ok');
      });

      it('drops an expired lease when a newer item of its key is queued, and leases the newer one', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1', { sourceVersion: '1' })]);
        const old = await leaseOne(store, 'w1', 1000);
        await store.queue.enqueue([change('k1', { sourceVersion: '2' })]);
        clock.advance(1000);
        const items = await store.queue.lease({ owner: 'w2', limit: 5, leaseMs });
        expect(items.map((i) => i.sourceVersion)).toEqual(['2']);
        expect(items[0]!.attempts).toBe(2); // inherits the dropped item's attempt
        expect((await store.queue.itemsForKey(flow, 'k1')).map((i) => i.id)).toEqual([items[0]!.id]);
        expect(await store.queue.complete(old.id, 'w1')).toBe('lost');
      });

      it('lets a heartbeat keep a lease from being taken over', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1')]);
        const item = await leaseOne(store, 'w1', 1000);
        clock.advance(900);
        expect(await store.queue.extendLease(item.id, 'w1', 1000)).toBe('ok');
        expect((await store.queue.itemsForKey(flow, 'k1'))[0]!.leaseExpiresAt).toBe(clock.now() + 1000);
        clock.advance(900);
        expect(await store.queue.lease({ owner: 'w2', limit: 1, leaseMs })).toEqual([]);
        expect(await store.queue.extendLease(item.id, 'w2', 1000)).toBe('lost');
        expect(await store.queue.complete(item.id, 'w1')).toBe('ok');
      });

      it('ends the long leases of one flow and lane at once (a dead bulk holder), and reads leased heads', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([
          change('b1', { lane: 'bulk', sourceVersion: '7' }),
          change('b2', { lane: 'bulk' }),
          change('l1'),
          change('o1', { flow: 'table:order', lane: 'bulk' }),
        ]);
        const held = await store.queue.lease({ owner: 'w1', limit: 10, leaseMs: 3_600_000, lanes: ['bulk'] });
        const live = await leaseOne(store, 'w2', 1000);
        // b2's lease is short (a runner's): it is not a hold.
        const b2 = held.find((i) => i.recordKey === 'b2')!;
        expect(await store.queue.extendLease(b2.id, 'w1', 1000)).toBe('ok');
        const b1 = held.find((i) => i.recordKey === 'b1')!;
        expect(await store.queue.leasedHeads([b1.id, b2.id, live.id, 'x'], 'w1')).toEqual(
          expect.arrayContaining([
            { id: b1.id, flow, recordKey: 'b1', sourceVersion: '7', lane: 'bulk', enqueuedAt: b1.enqueuedAt },
            {
              id: b2.id,
              flow,
              recordKey: 'b2',
              sourceVersion: null,
              lane: 'bulk',
              enqueuedAt: b2.enqueuedAt,
            },
          ]),
        );
        expect(await store.queue.leasedHeads([b1.id, b2.id, live.id], 'w1')).toHaveLength(2);
        expect(await store.queue.expireLeases({ flow, lane: 'bulk', heldPast: clock.now() + 60_000 })).toBe(
          1,
        );
        // b1 is taken over at once; b2, the live item and the other flow's hold are untouched.
        const taken = await store.queue.lease({ owner: 'w3', limit: 10, leaseMs });
        expect(taken.map((i) => i.recordKey)).toEqual(['b1']);
        expect(await store.queue.leasedHeads([b1.id], 'w1')).toEqual([]);
        expect(await store.queue.complete(b2.id, 'w1')).toBe('ok');
        expect(await store.queue.complete(live.id, 'w2')).toBe('ok');
      });

      it('leases each item once across two connections leasing at the same time', async () => {
        const store = await openEmpty();
        const other = await openSame();
        await store.queue.enqueue(Array.from({ length: 60 }, (_, i) => change(`k${i}`)));
        const batches = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            (i % 2 === 0 ? store : other).queue.lease({ owner: `w${i}`, limit: 7, leaseMs }),
          ),
        );
        const keys = batches.flat().map((item) => item.recordKey);
        expect(keys).toHaveLength(60);
        expect(new Set(keys).size).toBe(60);
      });
    });

    describe('complete', () => {
      it('removes the item for its owner only; a second complete is `lost`', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1')]);
        const item = await leaseOne(store);
        expect(await store.queue.complete(item.id, 'someone-else')).toBe('lost');
        expect(await store.queue.complete(item.id, 'w1')).toBe('ok');
        expect(await store.queue.complete(item.id, 'w1')).toBe('lost');
        expect(await store.queue.complete('999999', 'w1')).toBe('lost');
        expect(await store.queue.complete('not-an-id', 'w1')).toBe('lost');
        expect(await store.queue.itemsForKey(flow, 'k1')).toEqual([]);
      });

      it('does not complete a queued item that was never leased', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1')]);
        const [queued] = await store.queue.itemsForKey(flow, 'k1');
        expect(await store.queue.complete(queued!.id, 'w1')).toBe('lost');
        expect(await store.queue.itemsForKey(flow, 'k1')).toHaveLength(1);
      });

      it('applies completion effects with the completion, and only when the lease is still ours', async () => {
        const store = await openEmpty();
        // An earlier state of k1 is a dead letter; applying the newer state resolves it.
        await deadLetterFor(store, 'k1', 'old');
        await store.keyMap.put(keyMapEntry('k3'));
        await store.queue.enqueue([change('k1'), change('k2'), change('k3')]);
        const [a, b, c] = await store.queue.lease({ owner: 'w1', limit: 3, leaseMs });
        const outcomes = await store.queue.completeMany([
          {
            id: a!.id,
            owner: 'w1',
            effects: {
              keyMap: { op: 'put', entry: keyMapEntry('k1', { lastSourceVersion: '7' }) },
              audit: [auditEntry({ recordKey: 'k1', action: 'profile.create' })],
              resolveDeadLetters: true,
            },
          },
          {
            id: b!.id,
            owner: 'not-the-owner',
            effects: {
              keyMap: { op: 'put', entry: keyMapEntry('k2') },
              audit: [auditEntry({ recordKey: 'k2' })],
            },
          },
          { id: c!.id, owner: 'w1', effects: { keyMap: { op: 'delete', flow, recordKey: 'k3' } } },
        ]);
        expect(outcomes).toEqual(['ok', 'lost', 'ok']);
        expect(await store.keyMap.get(flow, 'k1')).toMatchObject({
          lastSourceVersion: '7',
          createdAt: clock.now(),
        });
        expect(await store.keyMap.get(flow, 'k2')).toBeNull();
        expect(await store.keyMap.get(flow, 'k3')).toBeNull();
        expect((await store.audit.list({}, {})).items.map((e) => e.recordKey)).toEqual(['k1']);
        expect((await store.queue.itemsForKey(flow, 'k2'))[0]!.state).toBe('leased');
        expect(await store.deadLetters.count()).toBe(0);
      });

      it('writes only the effects of the completions whose lease is still held, one owner, one batch', async () => {
        const store = await openEmpty();
        await deadLetterFor(store, 'k1', 'old');
        await store.keyMap.put(keyMapEntry('k3'));
        await store.keyMap.put(keyMapEntry('k4', { lastSourceVersion: '1' }));
        await store.queue.enqueue([change('k1'), change('k2'), change('k3'), change('k4')]);
        const leased = await store.queue.lease({ owner: 'w1', limit: 4, leaseMs });
        const [a, b, c, d] = [...leased].sort((x, y) => x.recordKey.localeCompare(y.recordKey));
        // k4's lease expires and w2 takes it over: w1's completion of it is lost, with its effects.
        await store.queue.extendLease(a!.id, 'w1', 10 * leaseMs);
        await store.queue.extendLease(b!.id, 'w1', 10 * leaseMs);
        await store.queue.extendLease(c!.id, 'w1', 10 * leaseMs);
        clock.advance(leaseMs);
        expect((await store.queue.lease({ owner: 'w2', limit: 4, leaseMs })).map((i) => i.recordKey)).toEqual(
          ['k4'],
        );
        const outcomes = await store.queue.completeMany([
          {
            id: a!.id,
            owner: 'w1',
            effects: {
              keyMap: { op: 'put', entry: keyMapEntry('k1', { lastSourceVersion: '7' }) },
              audit: [
                auditEntry({ recordKey: 'k1', action: 'profile.create' }),
                auditEntry({ recordKey: 'k1', action: 'dlq.superseded' }),
              ],
              resolveDeadLetters: true,
            },
          },
          { id: b!.id, owner: 'w1', effects: { audit: [auditEntry({ recordKey: 'k2' })] } },
          { id: c!.id, owner: 'w1', effects: { keyMap: { op: 'delete', flow, recordKey: 'k3' } } },
          {
            id: d!.id,
            owner: 'w1',
            effects: {
              keyMap: { op: 'put', entry: keyMapEntry('k4', { lastSourceVersion: '9' }) },
              audit: [auditEntry({ recordKey: 'k4' })],
              resolveDeadLetters: true,
            },
          },
        ]);
        expect(outcomes).toEqual(['ok', 'ok', 'ok', 'lost']);
        expect(await store.keyMap.get(flow, 'k1')).toMatchObject({ lastSourceVersion: '7' });
        expect(await store.keyMap.get(flow, 'k3')).toBeNull();
        expect(await store.keyMap.get(flow, 'k4')).toMatchObject({ lastSourceVersion: '1' });
        expect((await store.audit.list({}, {})).items.map((e) => [e.recordKey, e.action])).toEqual([
          ['k1', 'profile.create'],
          ['k1', 'dlq.superseded'],
          ['k2', auditEntry({}).action],
        ]);
        expect(await store.deadLetters.count()).toBe(0);
        expect((await store.queue.itemsForKey(flow, 'k4'))[0]).toMatchObject({
          state: 'leased',
          leaseOwner: 'w2',
        });
        expect(await store.queue.backlog()).toEqual([{ flow, lane: 'live', queued: 0, leased: 1 }]);
      });

      it('resolves the dead letters of the completed key only', async () => {
        const store = await openEmpty();
        for (const key of ['k1', 'k2']) await deadLetterFor(store, key);
        await store.queue.enqueue([change('k1', { payload: 'newer' })]);
        const item = await leaseOne(store);
        expect(await store.queue.complete(item.id, 'w1', { resolveDeadLetters: true })).toBe('ok');
        expect((await store.deadLetters.list({}, {})).items.map((d) => d.recordKey)).toEqual(['k2']);
      });

      it('completes many items in one call and reports each outcome in order', async () => {
        const store = await openEmpty();
        await store.queue.enqueue(Array.from({ length: 30 }, (_, i) => change(`k${i}`)));
        const leased = await store.queue.lease({ owner: 'w1', limit: 30, leaseMs });
        const outcomes = await store.queue.completeMany([
          ...leased.map((item) => ({ id: item.id, owner: 'w1' })),
          { id: leased[0]!.id, owner: 'w1' },
        ]);
        expect(outcomes).toEqual([...leased.map(() => 'ok'), 'lost']);
        expect(await store.queue.backlog()).toEqual([]);
      });
    });

    describe('fail', () => {
      const error = { code: 'CAMPAIGN_HTTP_503', message: 'Campaign answered 503', retryable: true };

      it('puts the item back for a retry at `retryAt`, keeping its attempts and last error', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1')]);
        const item = await leaseOne(store);
        expect(await store.queue.fail({ id: item.id, owner: 'w1', error, retryAt: clock.now() + 5000 })).toBe(
          'ok',
        );
        expect((await store.queue.itemsForKey(flow, 'k1'))[0]).toMatchObject({
          state: 'queued',
          leaseOwner: null,
          availableAt: clock.now() + 5000,
          attempts: 1,
          lastError: error,
        });
        clock.advance(4999);
        expect(await store.queue.lease({ owner: 'w1', limit: 1, leaseMs })).toEqual([]);
        clock.advance(1);
        expect(await leaseOne(store)).toMatchObject({ id: item.id, attempts: 2, lastError: error });
      });

      it('refuses times that are not whole milliseconds, in both dialects, and keeps the lease', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1')]);
        const item = await leaseOne(store);
        const retryAt = clock.now() + 52.25;
        expect((await rejectionOf(store.queue.fail({ id: item.id, owner: 'w1', error, retryAt }))).code).toBe(
          'STORE_INVALID_INPUT',
        );
        expect((await rejectionOf(store.queue.lease({ owner: 'w2', limit: 1, leaseMs: 1000.5 }))).code).toBe(
          'STORE_INVALID_INPUT',
        );
        expect((await rejectionOf(store.locks.tryAcquire('poller:x', 'w1', 0.5))).code).toBe(
          'STORE_INVALID_INPUT',
        );
        expect((await store.queue.itemsForKey(flow, 'k1'))[0]).toMatchObject({
          state: 'leased',
          leaseOwner: 'w1',
        });
      });

      it('dead-letters the item when `retryAt` is null', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1', { sourceVersion: '3', payload: { v: 3 } })]);
        const first = await leaseOne(store);
        await store.queue.fail({ id: first.id, owner: 'w1', error, retryAt: clock.now() + 10 });
        const firstFailedAt = clock.now();
        clock.advance(10);
        const second = await leaseOne(store);
        const rejected = { code: 'CAMPAIGN_INVALID', message: 'field email rejected', retryable: false };
        expect(await store.queue.fail({ id: second.id, owner: 'w1', error: rejected, retryAt: null })).toBe(
          'ok',
        );
        expect(await store.queue.itemsForKey(flow, 'k1')).toEqual([]);
        const { items } = await store.deadLetters.list({}, {});
        expect(items).toEqual([
          {
            id: expect.stringMatching(/^\d+$/) as string,
            flow,
            recordKey: 'k1',
            payload: { v: 3 },
            sourceVersion: '3',
            code: 'CAMPAIGN_INVALID',
            message: 'field email rejected',
            attempts: 2,
            firstFailedAt,
            lastFailedAt: clock.now(),
          },
        ]);
      });

      it('drops the failed item when a newer one is queued; the newer inherits attempts and backoff', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1', { sourceVersion: '1' })]);
        const old = await leaseOne(store);
        await store.queue.enqueue([change('k1', { sourceVersion: '2' })]);
        expect(await store.queue.fail({ id: old.id, owner: 'w1', error, retryAt: clock.now() + 2000 })).toBe(
          'ok',
        );
        const items = await store.queue.itemsForKey(flow, 'k1');
        expect(items).toHaveLength(1);
        expect(items[0]).toMatchObject({
          sourceVersion: '2',
          state: 'queued',
          attempts: 1,
          availableAt: clock.now() + 2000,
        });
        expect(await store.deadLetters.count()).toBe(0);
      });

      it('gives the attempt back for a try that does not count (throttling), here and in a successor', async () => {
        const store = await openEmpty();
        const throttled = { code: 'RATE_LIMITED', message: 'Campaign: too many calls', retryable: true };
        await store.queue.enqueue([change('k1', { sourceVersion: '1' })]);
        const first = await leaseOne(store);
        expect(first).toMatchObject({ attempts: 1, firstFailedAt: null });
        const failedAt = clock.now();
        await store.queue.fail({
          id: first.id,
          owner: 'w1',
          error: throttled,
          retryAt: failedAt + 10,
          countsAttempt: false,
        });
        expect((await store.queue.itemsForKey(flow, 'k1'))[0]).toMatchObject({
          attempts: 0,
          lastError: throttled,
        });
        clock.advance(10);
        const second = await leaseOne(store);
        expect(second).toMatchObject({ id: first.id, attempts: 1, firstFailedAt: failedAt });
        // A counted failure still counts; a newer queued item inherits what was not given back.
        await store.queue.enqueue([change('k1', { sourceVersion: '2' })]);
        await store.queue.fail({ id: second.id, owner: 'w1', error, retryAt: clock.now() + 10 });
        clock.advance(10);
        const third = await leaseOne(store);
        expect(third).toMatchObject({ sourceVersion: '2', attempts: 2, firstFailedAt: failedAt });
        await store.queue.enqueue([change('k1', { sourceVersion: '3' })]);
        await store.queue.fail({
          id: third.id,
          owner: 'w1',
          error: throttled,
          retryAt: clock.now(),
          countsAttempt: false,
        });
        expect(await store.queue.itemsForKey(flow, 'k1')).toMatchObject([
          { sourceVersion: '3', attempts: 1 },
        ]);
      });

      it('counts what is retrying per flow and last error code, with the oldest first failure', async () => {
        const store = await openEmpty();
        const throttled = {
          code: 'CAMPAIGN_RATE_LIMITED',
          message: 'Campaign: too many calls',
          retryable: true,
        };
        await store.queue.enqueue([change('k1'), change('k2'), change('k3'), change('k4')]);
        await store.queue.enqueue([change('t1', { flow: 'table:new_ticket' })]);
        expect(await store.queue.retrying()).toEqual([]);
        const leased = await store.queue.lease({ owner: 'w1', limit: 10, leaseMs });
        const byKey = new Map(leased.map((item) => [item.recordKey, item]));
        const firstAt = clock.now();
        await store.queue.fail({ id: byKey.get('k1')!.id, owner: 'w1', error, retryAt: firstAt + 10 });
        clock.advance(5);
        await store.queue.fail({ id: byKey.get('k2')!.id, owner: 'w1', error, retryAt: firstAt + 10 });
        await store.queue.fail({
          id: byKey.get('k3')!.id,
          owner: 'w1',
          error: throttled,
          retryAt: firstAt + 10,
        });
        await store.queue.fail({
          id: byKey.get('t1')!.id,
          owner: 'w1',
          error: throttled,
          retryAt: firstAt + 10,
        });
        // A dead letter is no longer retrying; a completed item neither.
        await store.queue.fail({ id: byKey.get('k4')!.id, owner: 'w1', error, retryAt: null });
        expect(await store.queue.retrying()).toEqual([
          { flow, code: 'CAMPAIGN_HTTP_503', count: 2, oldestFailedAt: firstAt },
          { flow, code: 'CAMPAIGN_RATE_LIMITED', count: 1, oldestFailedAt: firstAt + 5 },
          { flow: 'table:new_ticket', code: 'CAMPAIGN_RATE_LIMITED', count: 1, oldestFailedAt: firstAt + 5 },
        ]);
        clock.advance(10);
        const again = await store.queue.lease({ owner: 'w1', limit: 10, leaseMs });
        // Leased again for its retry, an item still counts until it is done.
        expect((await store.queue.retrying()).reduce((n, e) => n + e.count, 0)).toBe(4);
        await store.queue.completeMany(again.map((item) => ({ id: item.id, owner: 'w1' })));
        expect(await store.queue.retrying()).toEqual([]);
      });

      it('lists what is retrying item by item, with key, last error and next attempt, paged and by flow', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1'), change('k2'), change('k3'), change('k4')]);
        await store.queue.enqueue([change('t1', { flow: 'table:new_ticket' })]);
        expect(await store.queue.listRetrying({}, {})).toEqual({ items: [], nextCursor: null });
        expect(await store.queue.countRetrying({})).toBe(0);
        const leased = await store.queue.lease({ owner: 'w1', limit: 10, leaseMs });
        const byKey = new Map(leased.map((item) => [item.recordKey, item]));
        const firstAt = clock.now();
        for (const key of ['k1', 'k2', 't1'])
          await store.queue.fail({ id: byKey.get(key)!.id, owner: 'w1', error, retryAt: firstAt + 1000 });
        // Dead-lettered and completed items are not retrying.
        await store.queue.fail({ id: byKey.get('k4')!.id, owner: 'w1', error, retryAt: null });
        await store.queue.complete(byKey.get('k3')!.id, 'w1');

        const first = await store.queue.listRetrying({}, { limit: 2 });
        expect(first.items).toEqual([
          {
            id: byKey.get('k1')!.id,
            flow,
            recordKey: 'k1',
            code: error.code,
            message: error.message,
            attempts: 1,
            firstFailedAt: firstAt,
            nextAttemptAt: firstAt + 1000,
          },
          expect.objectContaining({ recordKey: 'k2', nextAttemptAt: firstAt + 1000 }),
        ]);
        expect(first.nextCursor).not.toBeNull();
        const second = await store.queue.listRetrying({}, { limit: 2, cursor: first.nextCursor! });
        expect(second.items.map((i) => [i.flow, i.recordKey])).toEqual([['table:new_ticket', 't1']]);
        expect(second.nextCursor).toBeNull();
        expect(await store.queue.countRetrying({})).toBe(3);

        const tickets = await store.queue.listRetrying({ flow: 'table:new_ticket' }, {});
        expect(tickets.items.map((i) => i.recordKey)).toEqual(['t1']);
        expect(await store.queue.countRetrying({ flow })).toBe(2);

        // Leased again for its retry: still listed, its next attempt is the one running now.
        clock.advance(1000);
        await store.queue.lease({ owner: 'w1', limit: 1, leaseMs, flows: [flow] });
        const during = await store.queue.listRetrying({ flow }, {});
        expect(during.items.map((i) => i.nextAttemptAt)).toContain(null);
        expect(during.items.map((i) => i.attempts).sort()).toEqual([1, 2]);
      });

      it('dead-letters the failed item even when a newer one is queued, and keeps the newer', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1', { sourceVersion: '1' })]);
        const old = await leaseOne(store);
        await store.queue.enqueue([change('k1', { sourceVersion: '2' })]);
        await store.queue.fail({ id: old.id, owner: 'w1', error, retryAt: null });
        expect((await store.queue.itemsForKey(flow, 'k1')).map((i) => i.sourceVersion)).toEqual(['2']);
        expect((await store.deadLetters.list({}, {})).items.map((d) => d.sourceVersion)).toEqual(['1']);
      });
    });

    describe('park and release', () => {
      const parent = { flow: 'table:account', recordKey: 'acc-1' };

      it('parks a leased item until its parent lands, then releases it to the live lane', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('child-1', { lane: 'bulk', sourceVersion: '4', payload: 'c1' })]);
        const item = await leaseOne(store);
        clock.advance(10);
        expect(await store.queue.park(item.id, 'w1', parent, 'parent acc-1 not in Campaign yet')).toBe('ok');
        expect(await store.queue.itemsForKey(flow, 'child-1')).toEqual([]);
        expect(await store.parked.get(flow, 'child-1')).toEqual({
          flow,
          recordKey: 'child-1',
          parent,
          state: 'waiting',
          payload: 'c1',
          sourceVersion: '4',
          reason: 'parent acc-1 not in Campaign yet',
          parkedAt: clock.now(),
          updatedAt: clock.now(),
        });
        expect(await store.parked.release({ flow: parent.flow, recordKey: 'other' })).toBe(0);
        expect(await store.parked.release(parent)).toBe(1);
        expect(await store.parked.get(flow, 'child-1')).toBeNull();
        expect(await leaseOne(store)).toMatchObject({
          recordKey: 'child-1',
          lane: 'live',
          payload: 'c1',
          sourceVersion: '4',
        });
      });

      it('parks an orphan in its own state: counted, listed and aged apart; a re-park takes the new state', async () => {
        const store = await openEmpty();
        const noParent = { flow: parent.flow, recordKey: '(empty lookup)' };
        await store.queue.enqueue([change('c1'), change('c2'), change('c3')]);
        const [one, two, three] = await store.queue.lease({ owner: 'w1', limit: 3, leaseMs });
        expect(await store.queue.park(one!.id, 'w1', noParent, 'no parent', undefined, 'orphan')).toBe('ok');
        clock.advance(10);
        await store.queue.park(two!.id, 'w1', noParent, 'no parent', undefined, 'orphan');
        await store.queue.park(three!.id, 'w1', parent, 'waiting');
        expect(await store.parked.get(flow, 'c1')).toMatchObject({ state: 'orphan', parent: noParent });
        expect(await store.parked.count(flow, 'orphan')).toBe(2);
        expect(await store.parked.count(flow, 'waiting')).toBe(1);
        expect(await store.parked.count(undefined, 'orphan')).toBe(2);
        expect(await store.parked.count(flow)).toBe(3);
        expect(await store.parked.oldestParkedAt(flow, 'orphan')).toBe(clock.now() - 10);
        expect(await store.parked.oldestParkedAt(flow, 'waiting')).toBe(clock.now());
        expect(await store.parked.oldestParkedAt('table:none', 'orphan')).toBeNull();
        const orphans = await store.parked.list({ flow, state: 'orphan' }, { limit: 1 });
        expect(orphans.items.map((p) => p.recordKey)).toEqual(['c1']);
        const rest = await store.parked.list({ flow, state: 'orphan' }, { cursor: orphans.nextCursor! });
        expect(rest.items.map((p) => p.recordKey)).toEqual(['c2']);
        // A landing parent releases only what waits for it.
        expect(await store.parked.release(parent)).toBe(1);
        expect(await store.parked.count(flow, 'orphan')).toBe(2);
        // Its next change (the lookup filled) parks it on a real parent: it waits now.
        await store.parked.release(noParent);
        const again = await store.queue.lease({ owner: 'w1', limit: 5, leaseMs });
        const c1 = again.find((i) => i.recordKey === 'c1')!;
        await store.queue.park(c1.id, 'w1', parent, 'waiting');
        expect(await store.parked.get(flow, 'c1')).toMatchObject({ state: 'waiting', parent });
      });

      it('folds a queued newer item into the parked one', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('child-1', { sourceVersion: '1', payload: 'old' })]);
        const item = await leaseOne(store);
        await store.queue.enqueue([change('child-1', { sourceVersion: '2', payload: 'new' })]);
        await store.queue.park(item.id, 'w1', parent, 'waiting');
        expect(await store.queue.itemsForKey(flow, 'child-1')).toEqual([]);
        expect(await store.parked.get(flow, 'child-1')).toMatchObject({ payload: 'new', sourceVersion: '2' });
      });

      it('folds later changes of a parked record into it, refusing older versions', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('child-1', { sourceVersion: '5' })]);
        await store.queue.park((await leaseOne(store)).id, 'w1', parent, 'waiting');
        clock.advance(50);
        expect(
          await store.queue.enqueue([
            change('child-1', { sourceVersion: '6', payload: { op: 'delete' } }),
            change('child-1', { sourceVersion: '3', payload: 'ancient' }),
          ]),
        ).toEqual(['folded-into-parked', 'stale']);
        expect(await store.queue.itemsForKey(flow, 'child-1')).toEqual([]);
        expect(await store.parked.get(flow, 'child-1')).toMatchObject({
          payload: { op: 'delete' },
          sourceVersion: '6',
          updatedAt: clock.now(),
        });
      });

      it('removes, lists (by flow or parent, in pages) and counts parked items', async () => {
        const store = await openEmpty();
        const keys = ['c1', 'c2', 'c3', 'o1'];
        await store.queue.enqueue(
          keys.map((k) => change(k, { flow: k.startsWith('o') ? 'table:order' : flow })),
        );
        for (const item of await store.queue.lease({ owner: 'w1', limit: 10, leaseMs })) {
          const waitFor = item.recordKey === 'c3' ? { flow: parent.flow, recordKey: 'acc-2' } : parent;
          await store.queue.park(item.id, 'w1', waitFor, 'waiting');
        }
        expect(await store.parked.count()).toBe(4);
        expect(await store.parked.count(flow)).toBe(3);
        const first = await store.parked.list({ flow }, { limit: 2 });
        expect(first.items.map((p) => p.recordKey)).toEqual(['c1', 'c2']);
        const second = await store.parked.list({ flow }, { limit: 2, cursor: first.nextCursor! });
        expect(second).toMatchObject({ nextCursor: null });
        expect(second.items.map((p) => p.recordKey)).toEqual(['c3']);
        expect((await store.parked.list({ parent }, {})).items.map((p) => p.recordKey)).toEqual([
          'c1',
          'c2',
          'o1',
        ]);
        expect(await store.parked.remove(flow, 'c2')).toBe(true);
        expect(await store.parked.remove(flow, 'c2')).toBe(false);
        expect(await store.parked.release(parent)).toBe(2);
        expect(await store.parked.count()).toBe(1);
      });
    });

    describe('dead letters', () => {
      async function deadLetter(
        store: StateStore,
        recordKey: string,
        code: string,
        overrides: Partial<WorkItemInput> = {},
      ): Promise<void> {
        await store.queue.enqueue([change(recordKey, overrides)]);
        const item = await leaseOne(store, 'dl');
        await store.queue.fail({
          id: item.id,
          owner: 'dl',
          error: { code, message: `failed ${code}`, retryable: false },
          retryAt: null,
        });
      }

      it('lists with filters (flow, exact key, key prefix, code) and counts', async () => {
        const store = await openEmpty();
        await deadLetter(store, 'ab_1', 'E1');
        await deadLetter(store, 'ab%2', 'E2');
        await deadLetter(store, 'AB_3', 'E1');
        await deadLetter(store, 'xy', 'E1', { flow: 'table:order' });
        const keys = async (filter: Parameters<StateStore['deadLetters']['list']>[0]): Promise<string[]> =>
          (await store.deadLetters.list(filter, {})).items.map((d) => d.recordKey);
        expect(await keys({})).toEqual(['ab_1', 'ab%2', 'AB_3', 'xy']);
        expect(await keys({ flow })).toEqual(['ab_1', 'ab%2', 'AB_3']);
        expect(await keys({ recordKey: 'ab_1' })).toEqual(['ab_1']);
        expect(await keys({ recordKey: 'ab*' })).toEqual(['ab_1', 'ab%2']);
        expect(await keys({ recordKey: 'ab_*' })).toEqual(['ab_1']);
        expect(await keys({ recordKey: 'ab%*' })).toEqual(['ab%2']);
        expect(await keys({ code: 'E1', flow })).toEqual(['ab_1', 'AB_3']);
        expect(await store.deadLetters.count()).toBe(4);
        expect(await store.deadLetters.count({ code: 'E1' })).toBe(3);
        expect(await store.deadLetters.count({ recordKey: 'a*' })).toBe(2);
        expect(await store.deadLetters.countByCode()).toEqual([
          { flow, code: 'E1', count: 2 },
          { flow, code: 'E2', count: 1 },
          { flow: 'table:order', code: 'E1', count: 1 },
        ]);
      });

      it('pages with an opaque cursor without gaps or repeats, and rejects a forged cursor', async () => {
        const store = await openEmpty();
        for (let i = 0; i < 7; i++) await deadLetter(store, `k${i}`, 'E');
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.deadLetters.list(
            {},
            { limit: 3, ...(cursor === undefined ? {} : { cursor }) },
          );
          seen.push(...page.items.map((d) => d.recordKey));
          cursor = page.nextCursor ?? undefined;
          pages++;
        } while (cursor !== undefined);
        expect(seen).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
        expect(pages).toBe(3);
        expect((await rejectionOf(store.deadLetters.list({}, { cursor: 'bm9wZQ' }))).code).toBe(
          'STORE_INVALID_CURSOR',
        );
      });

      it('retries dead letters into the live lane with attempts reset', async () => {
        const store = await openEmpty();
        await deadLetter(store, 'k1', 'E', { lane: 'bulk', sourceVersion: '8', payload: 'p8' });
        const [dead] = (await store.deadLetters.list({}, {})).items;
        clock.advance(100);
        expect(await store.deadLetters.retry([dead!.id, '424242'])).toBe(1);
        expect(await store.deadLetters.count()).toBe(0);
        expect((await store.queue.itemsForKey(flow, 'k1'))[0]).toMatchObject({
          state: 'queued',
          lane: 'live',
          attempts: 0,
          payload: 'p8',
          sourceVersion: '8',
          availableAt: clock.now(),
          lastError: null,
        });
      });

      it('keeps a newer queued item of the key when retrying, and removes the dead letter either way', async () => {
        const store = await openEmpty();
        await deadLetter(store, 'k1', 'E', { payload: 'old' });
        await store.queue.enqueue([change('k1', { payload: 'newer' })]);
        const [dead] = (await store.deadLetters.list({}, {})).items;
        expect(await store.deadLetters.retry([dead!.id])).toBe(1);
        expect(await store.deadLetters.count()).toBe(0);
        const items = await store.queue.itemsForKey(flow, 'k1');
        expect(items.map((i) => i.payload)).toEqual(['newer']);
      });

      it('keeps one dead letter per record and cause: a repeat failure updates it', async () => {
        const store = await openEmpty();
        await deadLetter(store, 'k1', 'E', { sourceVersion: '3', payload: 'v3' });
        const [first] = (await store.deadLetters.list({}, {})).items;
        const firstAt = clock.now();

        // The record is read again (a re-baseline), fails once for a retry, then for good: same cause.
        clock.advance(1000);
        await store.queue.enqueue([change('k1', { sourceVersion: '5', payload: 'v5' })]);
        const retried = await leaseOne(store);
        const transient = { code: 'CAMPAIGN_HTTP_503', message: 'busy', retryable: true };
        await store.queue.fail({ id: retried.id, owner: 'w1', error: transient, retryAt: clock.now() });
        clock.advance(1000);
        const again = await leaseOne(store);
        const failure = { code: 'E', message: 'failed E again', retryable: false };
        expect(await store.queue.fail({ id: again.id, owner: 'w1', error: failure, retryAt: null })).toBe(
          'ok',
        );
        expect((await store.deadLetters.list({}, {})).items).toEqual([
          {
            id: first!.id,
            flow,
            recordKey: 'k1',
            payload: 'v5',
            sourceVersion: '5',
            code: 'E',
            message: 'failed E again',
            attempts: 3,
            firstFailedAt: firstAt,
            lastFailedAt: clock.now(),
          },
        ]);

        // An older state failing for the same cause counts, but does not replace the newer state.
        clock.advance(1000);
        await deadLetter(store, 'k1', 'E', { sourceVersion: '4', payload: 'v4' });
        expect((await store.deadLetters.list({}, {})).items[0]).toMatchObject({
          id: first!.id,
          payload: 'v5',
          sourceVersion: '5',
          message: 'failed E',
          attempts: 4,
          firstFailedAt: firstAt,
          lastFailedAt: clock.now(),
        });
        // Another cause is another dead letter; another flow's record too.
        await deadLetter(store, 'k1', 'E2');
        await deadLetter(store, 'k1', 'E', { flow: 'table:order' });
        expect(await store.deadLetters.count()).toBe(3);
        expect(await store.deadLetters.countByCode()).toEqual([
          { flow, code: 'E', count: 1 },
          { flow, code: 'E2', count: 1 },
          { flow: 'table:order', code: 'E', count: 1 },
        ]);
      });

      it('discards dead letters and resolves them per key', async () => {
        const store = await openEmpty();
        await deadLetter(store, 'k1', 'E');
        await deadLetter(store, 'k2', 'E');
        await deadLetter(store, 'k2', 'E2');
        const [first] = (await store.deadLetters.list({}, {})).items;
        expect(await store.deadLetters.discard([first!.id, first!.id, 'bogus'])).toBe(1);
        expect(await store.deadLetters.resolveKey(flow, 'k2')).toBe(2);
        expect(await store.deadLetters.count()).toBe(0);
        expect(await store.queue.itemsForKey(flow, 'k1')).toEqual([]);
      });
    });

    describe('backlog and lag', () => {
      it('counts queued and leased items per flow and lane, and reports the oldest queued time', async () => {
        const store = await openEmpty();
        expect(await store.queue.oldestQueuedAt(flow)).toBeNull();
        const start = clock.now();
        await store.queue.enqueue([change('k1'), change('k2'), change('b1', { lane: 'bulk' })]);
        clock.advance(100);
        await store.queue.enqueue([
          change('o1', { flow: 'table:order' }),
          change('k1', { payload: 'newer' }),
        ]);
        await leaseOne(store);
        expect(await store.queue.backlog()).toEqual([
          { flow, lane: 'live', queued: 1, leased: 1 },
          { flow, lane: 'bulk', queued: 1, leased: 0 },
          { flow: 'table:order', lane: 'live', queued: 1, leased: 0 },
        ]);
        expect(await store.queue.oldestQueuedAt(flow)).toBe(start);
        expect(await store.queue.oldestQueuedAt('table:order')).toBe(start + 100);
      });

      it('counts the pending items of one flow and lane up to a bound', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([
          change('l1'),
          ...['b1', 'b2', 'b3', 'b4'].map((k) => change(k, { lane: 'bulk' })),
          change('o1', { flow: 'table:order', lane: 'bulk' }),
        ]);
        await store.queue.lease({ owner: 'w1', limit: 1, leaseMs, lanes: ['bulk'] });
        const count = (lane: 'live' | 'bulk', atMost: number, includeLeased = false) =>
          store.queue.countPending({ flow, lane, atMost, includeLeased });
        expect(await count('bulk', 100)).toBe(3);
        expect(await count('bulk', 100, true)).toBe(4);
        expect(await count('bulk', 2)).toBe(2);
        expect(await count('bulk', 3, true)).toBe(3);
        expect(await count('bulk', 0)).toBe(0);
        expect(await count('live', 100)).toBe(1);
        expect(await store.queue.countPending({ flow: 'table:order', lane: 'live', atMost: 9 })).toBe(0);
        expect((await rejectionOf(count('bulk', -1))).code).toBe('STORE_INVALID_INPUT');
      });
    });

    describe('checkpoints', () => {
      it('sets, replaces, lists by prefix and deletes', async () => {
        const store = await openEmpty();
        expect(await store.checkpoints.get('delta:contacts')).toBeNull();
        await store.checkpoints.set('delta:contacts', 'a');
        clock.advance(5);
        await store.checkpoints.set('delta:contacts', 'b');
        await store.checkpoints.set('delta:accounts', 'c');
        await store.checkpoints.set('sftp:last-file', 'd');
        await store.checkpoints.set('delta_x', 'e');
        expect(await store.checkpoints.get('delta:contacts')).toBe('b');
        expect(await store.checkpoints.list('delta:')).toEqual([
          { name: 'delta:accounts', value: 'c', updatedAt: clock.now() },
          { name: 'delta:contacts', value: 'b', updatedAt: clock.now() },
        ]);
        await store.checkpoints.delete('delta:contacts');
        expect(await store.checkpoints.get('delta:contacts')).toBeNull();
        expect((await store.checkpoints.list('')).map((c) => c.name)).toEqual([
          'delta:accounts',
          'delta_x',
          'sftp:last-file',
        ]);
      });
    });

    describe('key map', () => {
      it('puts, gets and replaces entries, keeping createdAt', async () => {
        const store = await openEmpty();
        const created = clock.now();
        await store.keyMap.put(keyMapEntry('k1', { origin: 'adopted', lastPayloadHash: 'h1' }));
        clock.advance(1000);
        await store.keyMap.put(
          keyMapEntry('k1', { lastSourceVersion: '12345678901234567890', lastPayloadHash: 'h2' }),
        );
        expect(await store.keyMap.get(flow, 'k1')).toEqual({
          flow,
          recordKey: 'k1',
          campaignPKey: 'pkey-k1',
          origin: 'created',
          lastSourceVersion: '12345678901234567890',
          lastPayloadHash: 'h2',
          createdAt: created,
          updatedAt: clock.now(),
        });
        expect(await store.keyMap.get(flow, 'missing')).toBeNull();
        expect(await store.keyMap.get('table:order', 'k1')).toBeNull();
      });

      it('gets many, lists keys in byte order after a key, counts and deletes', async () => {
        const store = await openEmpty();
        for (const key of ['b', 'a', 'B', 'c', 'é']) await store.keyMap.put(keyMapEntry(key));
        await store.keyMap.put(keyMapEntry('z', { flow: 'table:order' }));
        expect(
          (await store.keyMap.getMany(flow, ['a', 'c', 'nope', 'a'])).map((e) => e.recordKey).sort(),
        ).toEqual(['a', 'c']);
        expect(await store.keyMap.listKeys(flow, null, 3)).toEqual(['B', 'a', 'b']);
        expect(await store.keyMap.listKeys(flow, 'b', 10)).toEqual(['c', 'é']);
        expect(await store.keyMap.count()).toBe(6);
        expect(await store.keyMap.count(flow)).toBe(5);
        expect(await store.keyMap.delete(flow, 'a')).toBe(true);
        expect(await store.keyMap.delete(flow, 'a')).toBe(false);
        expect(await store.keyMap.count(flow)).toBe(4);
        // An intent (create not confirmed, no PKey yet) is not a synced record.
        await store.keyMap.put(keyMapEntry('intent', { campaignPKey: null }));
        expect(await store.keyMap.count(flow)).toBe(4);
        expect(await store.keyMap.count()).toBe(5);
      });

      it('tracks re-baseline seen marks per run and lists the keys not seen', async () => {
        const store = await openEmpty();
        for (const key of ['k1', 'k2', 'k3', 'k4']) await store.keyMap.put(keyMapEntry(key));
        await store.keyMap.markSeen(flow, ['k1', 'k3', 'new-one', 'k1'], 'run-1');
        await store.keyMap.markSeen(flow, ['k2'], 'run-2');
        await store.keyMap.markSeen('table:order', ['k4'], 'run-1');
        const keysOf = (unseen: { recordKey: string }[]): string[] => unseen.map((k) => k.recordKey);
        expect(await store.keyMap.listUnseen(flow, 'run-1', null, 10)).toEqual([
          { recordKey: 'k2', mapped: true },
          { recordKey: 'k4', mapped: true },
        ]);
        expect(keysOf(await store.keyMap.listUnseen(flow, 'run-1', 'k2', 10))).toEqual(['k4']);
        expect(keysOf(await store.keyMap.listUnseen(flow, 'run-1', null, 1))).toEqual(['k2']);
        await store.keyMap.clearSeen(flow, 'run-1');
        expect(keysOf(await store.keyMap.listUnseen(flow, 'run-1', null, 10))).toEqual([
          'k1',
          'k2',
          'k3',
          'k4',
        ]);
        expect(keysOf(await store.keyMap.listUnseen(flow, 'run-2', null, 10))).toEqual(['k1', 'k3', 'k4']);
      });

      it('lists unseen keys with pending work too: queued, leased, parked, dead-lettered, each once', async () => {
        const store = await openEmpty();
        const failure = { code: 'E', message: 'refused', retryable: false };
        // Dead letters (two causes, one key), a parked child, a leased item with a queued successor,
        // queued items; key-map entries (synced and an intent).
        for (const code of ['E', 'E2']) {
          await store.queue.enqueue([change('d1')]);
          const item = await leaseOne(store);
          await store.queue.fail({ id: item.id, owner: 'w1', error: { ...failure, code }, retryAt: null });
        }
        await store.queue.enqueue([change('p1')]);
        await store.queue.park((await leaseOne(store)).id, 'w1', { flow: 'table:x', recordKey: 'x' }, 'wait');
        await store.queue.enqueue([change('l1')]);
        await leaseOne(store);
        await store.queue.enqueue([change('l1'), change('q1'), change('seen-q')]);
        expect((await store.queue.itemsForKey(flow, 'l1')).map((i) => i.state)).toEqual(['leased', 'queued']);
        expect(await store.deadLetters.count({ recordKey: 'd1' })).toBe(2);
        await store.keyMap.put(keyMapEntry('m1'));
        await store.keyMap.put(keyMapEntry('i1', { campaignPKey: null }));
        await store.keyMap.put(keyMapEntry('q1'));
        await store.queue.enqueue([change('other', { flow: 'table:order' })]);
        await store.keyMap.markSeen(flow, ['seen-q'], 'run-1');

        const all = [
          { recordKey: 'd1', mapped: false },
          { recordKey: 'i1', mapped: true },
          { recordKey: 'l1', mapped: false },
          { recordKey: 'm1', mapped: true },
          { recordKey: 'p1', mapped: false },
          { recordKey: 'q1', mapped: true },
        ];
        expect(await store.keyMap.listUnseen(flow, 'run-1', null, 100)).toEqual(all);
        // Paged by any limit, the pages add up to the whole list, without gaps or repeats.
        for (const limit of [1, 2, 4]) {
          const pages: { recordKey: string; mapped: boolean }[] = [];
          let after: string | null = null;
          for (;;) {
            const page = await store.keyMap.listUnseen(flow, 'run-1', after, limit);
            if (page.length === 0) break;
            expect(page.length).toBeLessThanOrEqual(limit);
            pages.push(...page);
            after = page[page.length - 1]!.recordKey;
          }
          expect(pages, `limit ${limit}`).toEqual(all);
        }
      });
    });

    describe('audit', () => {
      it('appends entries with increasing ids and lists them by filter in pages', async () => {
        const store = await openEmpty();
        const t0 = Date.UTC(2026, 0, 1);
        await store.audit.append([
          auditEntry({ at: t0, recordKey: 'k1', action: 'profile.create', fields: ['email', 'firstName'] }),
          auditEntry({ at: t0 + 10, recordKey: 'k2' }),
          auditEntry({
            at: t0 + 20,
            recordKey: 'k1',
            flow: null,
            actor: 'cli:ops',
            action: 'dlq.retry',
            fields: [],
          }),
        ]);
        await store.audit.append([]);
        const all = await store.audit.list({}, {});
        expect(all.items.map((e) => Number(e.id))).toEqual(
          [...all.items.map((e) => Number(e.id))].sort((a, b) => a - b),
        );
        expect(all.items[0]).toEqual({
          id: all.items[0]!.id,
          at: t0,
          actor: 'engine',
          action: 'profile.create',
          flow,
          recordKey: 'k1',
          fields: ['email', 'firstName'],
          outcome: 'ok',
          detail: null,
        });
        const keys = async (filter: Parameters<StateStore['audit']['list']>[0]): Promise<(string | null)[]> =>
          (await store.audit.list(filter, {})).items.map((e) => `${e.recordKey}@${e.at - t0}`);
        expect(await keys({ recordKey: 'k1' })).toEqual(['k1@0', 'k1@20']);
        expect(await keys({ flow })).toEqual(['k1@0', 'k2@10']);
        expect(await keys({ action: 'dlq.retry' })).toEqual(['k1@20']);
        expect(await keys({ since: t0 + 10 })).toEqual(['k2@10', 'k1@20']);
        const page1 = await store.audit.list({}, { limit: 2 });
        const page2 = await store.audit.list({}, { limit: 2, cursor: page1.nextCursor! });
        expect([...page1.items, ...page2.items].map((e) => e.id)).toEqual(all.items.map((e) => e.id));
        expect(page2.nextCursor).toBeNull();
      });
    });

    describe('record trace', () => {
      const parent = { flow: 'table:account', recordKey: 'acc-1' };

      it("lists one record's entries newest first (per flow when asked), with their trace facts", async () => {
        const store = await openEmpty();
        const t0 = Date.UTC(2026, 0, 1);
        await store.audit.append([
          auditEntry({
            at: t0,
            recordKey: 'k1',
            trace: { sourceVersion: '7', stagedAt: t0 - 5, attempts: 1 },
          }),
          auditEntry({ at: t0 + 1, recordKey: 'k2' }),
          auditEntry({ at: t0 + 2, recordKey: 'k1', flow: 'table:x', trace: { parents: [parent] } }),
          auditEntry({ at: t0 + 3, recordKey: 'k1', action: 'profile.delete', fields: [] }),
        ]);
        const k1 = await store.audit.forRecord('k1', { limit: 10 });
        expect(k1.map((e) => e.at - t0)).toEqual([3, 2, 0]);
        expect(k1[2]).toMatchObject({ trace: { sourceVersion: '7', stagedAt: t0 - 5, attempts: 1 } });
        expect(k1[0]).not.toHaveProperty('trace');
        expect((await store.audit.forRecord('k1', { flow, limit: 1 })).map((e) => e.at - t0)).toEqual([3]);
        expect(await store.audit.forRecord('k1', { flow: 'table:x', limit: 10 })).toMatchObject([
          { trace: { parents: [parent] } },
        ]);
        expect(await store.audit.forRecord('nope', { limit: 10 })).toEqual([]);
        expect(await store.audit.flowsOfRecord('k1')).toEqual([flow, 'table:x'].sort());
      });

      it('finds key-map entries by Campaign PKey', async () => {
        const store = await openEmpty();
        await store.keyMap.putMany([
          keyMapEntry('k1'),
          keyMapEntry('k2', { campaignPKey: null }),
          keyMapEntry('k1', { flow: 'table:x', campaignPKey: 'other' }),
        ]);
        expect((await store.keyMap.findByCampaignPKey('pkey-k1')).map((e) => [e.flow, e.recordKey])).toEqual([
          [flow, 'k1'],
        ]);
        expect(await store.keyMap.findByCampaignPKey('PKEY-K1')).toEqual([]);
        expect(await store.keyMap.findByCampaignPKey('pkey-k2')).toEqual([]);
        const many = await store.keyMap.findByCampaignPKeys([
          'other',
          'pkey-k1',
          'PKEY-K1',
          'pkey-k2',
          'pkey-k1',
        ]);
        expect(many.map((e) => [e.flow, e.recordKey, e.campaignPKey])).toEqual([
          [flow, 'k1', 'pkey-k1'],
          ['table:x', 'k1', 'other'],
        ]);
        expect(await store.keyMap.findByCampaignPKeys([])).toEqual([]);
      });

      it('records a park, a failed attempt and a dead letter with the audit entries given, in their transaction', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('child-1', { sourceVersion: '4' }), change('k2')]);
        const child = await leaseOne(store);
        const parkEntry = auditEntry({ recordKey: 'child-1', action: 'record.parked', fields: [] });
        expect(await store.queue.park(child.id, 'w1', parent, 'waiting', [parkEntry])).toBe('ok');
        // A lost lease writes nothing.
        expect(await store.queue.park(child.id, 'w1', parent, 'waiting', [parkEntry])).toBe('lost');
        const other = await leaseOne(store);
        const error = { code: 'CAMPAIGN_UNAVAILABLE', message: 'down', retryable: true };
        const failed = auditEntry({
          recordKey: 'k2',
          action: 'record.attempt-failed',
          trace: { code: error.code },
        });
        expect(
          await store.queue.fail({ id: other.id, owner: 'w1', error, retryAt: clock.now(), audit: [failed] }),
        ).toBe('ok');
        const again = await leaseOne(store);
        const dead = auditEntry({ recordKey: 'k2', action: 'record.dead-lettered' });
        expect(
          await store.queue.fail({ id: again.id, owner: 'w1', error, retryAt: null, audit: [dead] }),
        ).toBe('ok');
        expect((await store.audit.forRecord('child-1', { limit: 10 })).map((e) => e.action)).toEqual([
          'record.parked',
        ]);
        expect((await store.audit.forRecord('k2', { limit: 10 })).map((e) => e.action)).toEqual([
          'record.dead-lettered',
          'record.attempt-failed',
        ]);
      });

      it('records each release: one entry per child (with its parent) and one on the parent', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('c1', { sourceVersion: '3' }), change('c2')]);
        for (let i = 0; i < 2; i++)
          await store.queue.park((await leaseOne(store)).id, 'w1', parent, 'waiting');
        clock.advance(100);
        expect(await store.parked.release(parent)).toBe(2);
        const c1 = await store.audit.forRecord('c1', { limit: 10 });
        expect(c1).toMatchObject([
          {
            at: clock.now(),
            action: 'record.released',
            flow,
            trace: { parents: [parent], sourceVersion: '3' },
          },
        ]);
        expect(c1[0]!.detail).toContain('waiting');
        expect(await store.audit.forRecord('acc-1', { flow: parent.flow, limit: 10 })).toMatchObject([
          {
            action: 'record.children-released',
            trace: {
              childCount: 2,
              children: [
                { flow, recordKey: 'c1' },
                { flow, recordKey: 'c2' },
              ],
            },
          },
        ]);
        // Nothing parked, nothing recorded.
        expect(await store.parked.release(parent)).toBe(0);
        expect(await store.audit.forRecord('acc-1', { limit: 10 })).toHaveLength(1);
      });
    });

    describe('named locks', () => {
      it('grants a lock to one owner at a time until it expires or is released', async () => {
        const store = await openEmpty();
        expect(await store.locks.tryAcquire('poll:contacts', 'p1', 1000)).toBe(true);
        expect(await store.locks.tryAcquire('poll:contacts', 'p2', 1000)).toBe(false);
        expect(await store.locks.tryAcquire('poll:contacts', 'p1', 1000)).toBe(true);
        expect(await store.locks.tryAcquire('poll:accounts', 'p2', 1000)).toBe(true);
        clock.advance(999);
        expect(await store.locks.renew('poll:contacts', 'p1', 1000)).toBe(true);
        expect(await store.locks.renew('poll:contacts', 'p2', 1000)).toBe(false);
        clock.advance(999);
        expect(await store.locks.tryAcquire('poll:contacts', 'p2', 1000)).toBe(false);
        clock.advance(1);
        expect(await store.locks.tryAcquire('poll:contacts', 'p2', 1000)).toBe(true);
        expect(await store.locks.renew('poll:contacts', 'p1', 1000)).toBe(false);
        await store.locks.release('poll:contacts', 'p1');
        expect(await store.locks.tryAcquire('poll:contacts', 'p1', 1000)).toBe(false);
        await store.locks.release('poll:contacts', 'p2');
        expect(await store.locks.tryAcquire('poll:contacts', 'p1', 1000)).toBe(true);
      });

      it('lets only one of several stores acquiring at once hold a lock', async () => {
        await openEmpty();
        const stores = [opened[0]!, await openSame(), await openSame()];
        const results = await Promise.all(
          stores.flatMap((store, i) =>
            [0, 1, 2].map((j) => store.locks.tryAcquire('poll:x', `p${i}-${j}`, 1000)),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it('counts an epoch that grows each time the lock changes hands, and audits each hand-over', async () => {
        const store = await openEmpty();
        expect(await store.locks.acquire('poller:contacts', 'w1', 1000)).toBe(1);
        expect(await store.locks.acquire('poller:contacts', 'w1', 1000)).toBe(1);
        expect(await store.locks.acquire('poller:contacts', 'w2', 1000)).toBeNull();
        clock.advance(1000);
        expect(await store.locks.acquire('poller:contacts', 'w2', 1000)).toBe(2);
        await store.locks.release('poller:contacts', 'w2', { audit: true });
        // A release hands over at once, without waiting for the expiry; the epoch never goes back.
        expect(await store.locks.renew('poller:contacts', 'w2', 1000)).toBe(false);
        expect(await store.locks.acquire('poller:contacts', 'w1', 1000)).toBe(3);
        expect(await store.locks.list('poller:')).toEqual([
          { name: 'poller:contacts', owner: 'w1', epoch: 3, expiresAt: clock.now() + 1000 },
        ]);
        const trail = await store.audit.list({ recordKey: 'poller:contacts' }, { limit: 10 });
        expect(trail.items.map((e) => [e.action, e.actor, e.detail])).toEqual([
          ['duty.acquired', 'w1', 'epoch 1; was free'],
          ['duty.acquired', 'w2', 'epoch 2; was expired, held by w1'],
          ['duty.released', 'w2', 'epoch 2'],
          ['duty.acquired', 'w1', 'epoch 3; was released by w2'],
        ]);
      });

      it('refuses a fenced enqueue once the lock changed hands, writing nothing', async () => {
        const store = await openEmpty();
        const epoch = await store.locks.acquire('poller:contacts', 'w1', 1000);
        const fence = { name: 'poller:contacts', owner: 'w1', epoch: epoch! };
        expect(
          await store.queue.enqueue([change('k1')], { name: 'delta:contacts', value: 'l1' }, fence),
        ).toEqual(['queued']);
        clock.advance(1000);
        expect(await store.locks.acquire('poller:contacts', 'w2', 1000)).toBe(2);
        const refused = await rejectionOf(
          store.queue.enqueue([change('k2')], { name: 'delta:contacts', value: 'l2' }, fence),
        );
        expect(refused.code).toBe('STORE_LOCK_LOST');
        expect(await store.checkpoints.get('delta:contacts')).toBe('l1');
        expect((await store.queue.backlog()).reduce((n, b) => n + b.queued, 0)).toBe(1);
        // The same owner back at a later epoch does not revive the old fence.
        await store.locks.release('poller:contacts', 'w2');
        expect(await store.locks.acquire('poller:contacts', 'w1', 1000)).toBe(3);
        expect((await rejectionOf(store.queue.enqueue([change('k2')], undefined, fence))).code).toBe(
          'STORE_LOCK_LOST',
        );
      });
    });

    describe('worker registry', () => {
      const worker = {
        id: 'host-a:100:x1',
        host: 'host-a',
        pid: 100,
        version: '1.2.0',
        schemaVersion: 11,
        startedAt: 0,
        state: 'running' as const,
        duties: [],
        itemsLeased: 0,
        budget: null,
        lastError: null,
      };

      it('registers, refreshes, lists and prunes workers', async () => {
        const store = await openEmpty();
        await store.workers.register({ ...worker, startedAt: clock.now() });
        clock.advance(2000);
        expect(
          await store.workers.heartbeat(worker.id, {
            state: 'draining',
            duties: ['poller:contacts'],
            itemsLeased: 3,
            budget: { callsPerSecond: 10 },
            lastError: null,
          }),
        ).toBe(true);
        expect(await store.workers.heartbeat('nobody', { ...worker })).toBe(false);
        const [listed] = await store.workers.list();
        expect(listed).toEqual({
          ...worker,
          startedAt: clock.now() - 2000,
          heartbeatAt: clock.now(),
          state: 'draining',
          duties: ['poller:contacts'],
          itemsLeased: 3,
          budget: { callsPerSecond: 10 },
        });
        expect(await store.workers.prune(clock.now())).toBe(0);
        expect(await store.workers.prune(clock.now() + 1)).toBe(1);
        expect(await store.workers.list()).toEqual([]);
        expect(await store.workers.schemaVersion()).toBeGreaterThanOrEqual(11);
      });
    });

    describe('durability', () => {
      it('keeps items, leases, checkpoints and migrations across close and reopen', async () => {
        const store = await openEmpty();
        await store.queue.enqueue([change('k1'), change('k2')], { name: 'delta:contacts', value: 'l1' });
        const leased = await leaseOne(store);
        await store.close();
        const reopened = await openSame();
        await reopened.migrate();
        expect(await reopened.checkpoints.get('delta:contacts')).toBe('l1');
        expect((await reopened.queue.itemsForKey(flow, leased.recordKey))[0]).toMatchObject({
          state: 'leased',
          leaseOwner: 'w1',
        });
        expect(await reopened.queue.complete(leased.id, 'w1')).toBe('ok');
        expect((await leaseOne(reopened, 'w2')).recordKey).toBe('k2');
      });

      it('refuses calls after close', async () => {
        const store = await openEmpty();
        await store.close();
        await store.close();
        expect((await rejectionOf(store.checkpoints.get('x'))).code).toBe('STORE_CLOSED');
      });
    });

    describe('model-based: random enqueue/lease/complete/fail/expire sequences', () => {
      it('never leases a key twice at once, applies each key in source order and loses nothing', async () => {
        const keyArb = fc.constantFrom('k0', 'k1', 'k2', 'k3');
        const workerArb = fc.constantFrom('w0', 'w1');
        const opArb = fc.oneof(
          {
            weight: 4,
            arbitrary: fc.record({ kind: fc.constant('enqueue' as const), key: keyArb, bulk: fc.boolean() }),
          },
          {
            weight: 3,
            arbitrary: fc.record({
              kind: fc.constant('lease' as const),
              worker: workerArb,
              limit: fc.integer({ min: 1, max: 3 }),
            }),
          },
          {
            weight: 3,
            arbitrary: fc.record({
              kind: fc.constant('complete' as const),
              worker: workerArb,
              pick: fc.nat(),
            }),
          },
          {
            weight: 2,
            arbitrary: fc.record({
              kind: fc.constant('fail' as const),
              worker: workerArb,
              pick: fc.nat(),
              dead: fc.boolean(),
              delayMs: fc.integer({ min: 0, max: 1500 }),
            }),
          },
          {
            weight: 2,
            arbitrary: fc.record({
              kind: fc.constant('advance' as const),
              ms: fc.integer({ min: 1, max: 1500 }),
            }),
          },
        );
        type Held = { id: string; key: string; version: bigint; expiresAt: number };

        // One store for every run; each run works in its own flow, so runs cannot see each other.
        const store = await openEmpty();
        let run = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
            const runFlow = `model-${run++}`;
            const held = new Map<string, Held[]>([
              ['w0', []],
              ['w1', []],
              ['drain', []],
            ]);
            const newest = new Map<string, bigint>();
            const applied = new Map<string, bigint[]>();
            const modelLeaseMs = 1000;

            const onLeased = (worker: string, items: WorkItem[]): void => {
              for (const item of items) {
                const version = BigInt(item.sourceVersion!);
                for (const [, list] of held) {
                  for (const h of list) {
                    // Rule: never a second lease on a key whose lease has not expired.
                    if (h.key === item.recordKey && h.id !== item.id && h.expiresAt > clock.now()) {
                      throw new Error(`key ${item.recordKey} leased twice at once`);
                    }
                  }
                }
                // A taken-over item leaves the old holder (possibly this worker) with nothing.
                for (const [, list] of held)
                  list.splice(0, list.length, ...list.filter((h) => h.id !== item.id));
                const done = applied.get(item.recordKey) ?? [];
                if (done.length > 0 && version <= done[done.length - 1]!) {
                  throw new Error(
                    `key ${item.recordKey}: version ${version} leased after ${done[done.length - 1]} applied`,
                  );
                }
                held
                  .get(worker)!
                  .push({ id: item.id, key: item.recordKey, version, expiresAt: item.leaseExpiresAt! });
              }
            };
            const take = (worker: string, pick: number): Held | undefined => {
              const list = held.get(worker)!;
              if (list.length === 0) return undefined;
              return list.splice(pick % list.length, 1)[0];
            };
            const complete = async (worker: string, h: Held): Promise<void> => {
              const outcome = await store.queue.complete(h.id, worker);
              if (outcome === 'ok') {
                const done = applied.get(h.key) ?? [];
                if (done.length > 0 && h.version <= done[done.length - 1]!) {
                  throw new Error(
                    `key ${h.key}: version ${h.version} applied after ${done[done.length - 1]}`,
                  );
                }
                applied.set(h.key, [...done, h.version]);
              } else if (h.expiresAt > clock.now()) {
                throw new Error(`unexpired lease on ${h.key} reported lost`);
              }
            };

            for (const op of ops) {
              switch (op.kind) {
                case 'enqueue': {
                  const version = (newest.get(op.key) ?? 0n) + 1n;
                  newest.set(op.key, version);
                  const [outcome] = await store.queue.enqueue([
                    change(op.key, {
                      flow: runFlow,
                      sourceVersion: String(version),
                      payload: String(version),
                      lane: op.bulk ? 'bulk' : 'live',
                    }),
                  ]);
                  expect(outcome).not.toBe('stale');
                  break;
                }
                case 'lease':
                  onLeased(
                    op.worker,
                    await store.queue.lease({
                      owner: op.worker,
                      limit: op.limit,
                      leaseMs: modelLeaseMs,
                      flows: [runFlow],
                    }),
                  );
                  break;
                case 'complete': {
                  const h = take(op.worker, op.pick);
                  if (h !== undefined) await complete(op.worker, h);
                  break;
                }
                case 'fail': {
                  const h = take(op.worker, op.pick);
                  if (h === undefined) break;
                  const outcome = await store.queue.fail({
                    id: h.id,
                    owner: op.worker,
                    error: { code: 'E', message: 'model failure', retryable: !op.dead },
                    retryAt: op.dead ? null : clock.now() + op.delayMs,
                  });
                  if (outcome === 'lost' && h.expiresAt > clock.now())
                    throw new Error('unexpired lease reported lost');
                  break;
                }
                case 'advance':
                  clock.advance(op.ms);
                  break;
              }
            }

            // Drain: let every lease and backoff expire, then apply everything that is left.
            for (let round = 0; round < 100; round++) {
              clock.advance(10_000);
              const items = await store.queue.lease({
                owner: 'drain',
                limit: 100,
                leaseMs: modelLeaseMs,
                flows: [runFlow],
              });
              if (items.length === 0) break;
              onLeased('drain', items);
              for (const h of held.get('drain')!.splice(0)) await complete('drain', h);
            }
            expect((await store.queue.backlog()).filter((entry) => entry.flow === runFlow)).toEqual([]);

            // Nothing lost: the newest version of every key was applied or is a dead letter.
            const dead = (await store.deadLetters.list({ flow: runFlow }, { limit: 1000 })).items;
            for (const [key, version] of newest) {
              const done = applied.get(key) ?? [];
              const lastApplied = done[done.length - 1];
              const deadLettered = dead.some(
                (d) => d.recordKey === key && BigInt(d.sourceVersion!) === version,
              );
              if (lastApplied !== version && !deadLettered) {
                throw new Error(`key ${key}: newest version ${version} neither applied nor dead-lettered`);
              }
            }
          }),
          { numRuns: 50 },
        );
      });
    });
  });
}
