/**
 * The engine's work path in milliseconds: the runner over an in-memory SQLite store and small
 * flows defined here (their appliers are the "fake sink" of the test — no emulator). It finds each
 * item's applier by flow id, validates payloads, parks and releases through the one parking module
 * (the release commits with the parent's completion), retries and dead-letters, and reports it all
 * on the event bus.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock } from '../../../src/core/clock.js';
import { ConnectorError, StoreError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/ports/engine-logger.js';
import type { KeyMapStore, ParentRef, StateStore } from '../../../src/core/ports/state-store.js';
import { resolveRetryPolicy } from '../../../src/core/retry-policy.js';
import { EngineEvents, type EngineEventMap } from '../../../src/engine/engine-events.js';
import { FlowRegistry, type ApplyResult, type Flow, type ParkingPolicy } from '../../../src/engine/flow.js';
import { Parking } from '../../../src/engine/parking.js';
import { WorkRunner, type WorkRunnerOptions } from '../../../src/engine/work-runner.js';
import { openStateStore } from '../../../src/store/open-state-store.js';

const valueSchema = z.object({ value: z.number(), parent: z.string().nullable().optional() });
type Value = z.infer<typeof valueSchema>;

/** A target system in memory: what each flow wrote, and failures to inject. */
class FakeSink {
  readonly written = new Map<string, number>();
  readonly calls: string[] = [];
  failures: Error[] = [];

  write(flow: string, key: string, value: number): void {
    this.calls.push(`${flow}/${key}`);
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.written.set(`${flow}/${key}`, value);
  }
}

/** A parent flow whose records land in the sink, and a child flow whose records wait for them. */
function buildFlows(sink: FakeSink, keyMap: KeyMapStore): Flow<Value>[] {
  const parentFlow: Flow<Value> = {
    id: 'parents',
    direction: 'dynamics-to-campaign',
    description: 'test parents',
    payload: valueSchema,
    applier: {
      apply: (item, payload): Promise<ApplyResult> => {
        sink.write('parents', item.recordKey, payload.value);
        return Promise.resolve({
          kind: 'done',
          outcome: 'created',
          landed: true,
          effects: {
            keyMap: {
              op: 'put',
              entry: {
                flow: 'parents',
                recordKey: item.recordKey,
                campaignPKey: `pk-${item.recordKey}`,
                origin: 'created',
                lastSourceVersion: null,
                lastPayloadHash: null,
              },
            },
          },
        });
      },
    },
  };
  const waitsForParent: ParkingPolicy = {
    parentFlows: ['parents'],
    judge: async (_key, payload, parent, map) => {
      const parsed = valueSchema.safeParse(payload);
      if (!parsed.success || parsed.data.parent !== parent.recordKey) return 'unpark';
      return (await map.get('parents', parent.recordKey))?.campaignPKey ? 'unpark' : 'keep';
    },
  };
  const childFlow: Flow<Value> = {
    id: 'children',
    direction: 'dynamics-to-campaign',
    description: 'test children',
    payload: valueSchema,
    parking: waitsForParent,
    applier: {
      apply: async (item, payload): Promise<ApplyResult> => {
        if (payload.parent && !(await keyMap.get('parents', payload.parent))?.campaignPKey)
          return {
            kind: 'park',
            parent: { flow: 'parents', recordKey: payload.parent },
            reason: 'parent missing',
          };
        sink.write('children', item.recordKey, payload.value);
        return { kind: 'done', outcome: 'created', landed: true, effects: {} };
      },
    },
  };
  return [parentFlow, childFlow];
}

/** A runner over `store` with the test flows (fast waits, two attempts, no jitter); `options` add to it. */
function buildRunner(
  store: StateStore,
  sink: FakeSink,
  events: EngineEvents,
  clock: ManualClock,
  options: Pick<WorkRunnerOptions, 'window' | 'activeFlows'> & Partial<WorkRunnerOptions>,
): WorkRunner {
  const flows = options.flows ?? new FlowRegistry(buildFlows(sink, store.keyMap));
  return new WorkRunner({
    store,
    flows,
    parking: new Parking(store, flows, events),
    events,
    clock,
    logger: silentLogger,
    retryPolicy: resolveRetryPolicy({
      initialDelayMs: 1000,
      maxDelayMs: 1000,
      maxAttempts: 2,
      jitter: 'none',
    }),
    owner: 'test',
    leaseMs: 60_000,
    idleWaitMs: 1,
    groupCommitDelayMs: 1,
    ...options,
  });
}
describe('WorkRunner over flows as data', () => {
  let store: StateStore;
  let clock: ManualClock;
  let sink: FakeSink;
  let events: EngineEvents;
  let seen: { name: keyof EngineEventMap; event: unknown }[];
  let runner: WorkRunner;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 11, 1));
    store = await openStateStore('sqlite::memory:', { clock });
    sink = new FakeSink();
    events = new EngineEvents();
    seen = [];
    for (const name of ['item.applied', 'item.parked', 'item.released', 'item.failed'] as const)
      events.on(name, (event) => seen.push({ name, event }));
    runner = buildRunner(store, sink, events, clock, {
      window: 4,
      activeFlows: () => ['parents', 'children', 'nobody'],
    });
    runner.start();
  });

  afterEach(async () => {
    await runner.stop();
    await store.close();
  });

  /** Wait (briefly, in real time: the runner's own timers) until `done` holds. */
  async function until(done: () => boolean | Promise<boolean>): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      if ((await done()) && runner.inFlightCount === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    throw new Error('the runner did not get there');
  }

  const count = (name: keyof EngineEventMap): number => seen.filter((s) => s.name === name).length;

  it('applies each item with its flow’s applier and its validated payload', async () => {
    await store.queue.enqueue([{ flow: 'parents', recordKey: 'p1', payload: { value: 7 } }]);
    runner.wake();
    await until(() => count('item.applied') === 1);
    expect(sink.written.get('parents/p1')).toBe(7);
    // A parent's completion always carries the release of its children (none here).
    expect(seen.map((s) => s.name)).toEqual(['item.applied', 'item.released']);
    expect(seen[0]!.event).toMatchObject({ flow: 'parents', outcome: 'created' });
  });

  it('dead-letters an item of an unknown flow and a payload its flow does not accept, naming the record', async () => {
    await store.queue.enqueue([
      { flow: 'nobody', recordKey: 'x', payload: { value: 1 } },
      { flow: 'parents', recordKey: 'bad', payload: { value: 'seven' } },
    ]);
    runner.wake();
    await until(() => count('item.failed') === 2);
    const letters = (await store.deadLetters.list({}, {})).items;
    expect(letters.map((l) => [l.flow, l.recordKey, l.code]).sort()).toEqual([
      ['nobody', 'x', 'FLOW_UNKNOWN'],
      ['parents', 'bad', 'PAYLOAD_INVALID'],
    ]);
    expect(letters.find((l) => l.code === 'PAYLOAD_INVALID')!.message).toContain(
      'of flow parents (record bad) does not hold a valid payload: value:',
    );
    expect(sink.calls).toEqual([]);
  });

  it('dead-letters an invalid payload whose lease-written create intent cannot be removed', async () => {
    // A record flow whose lease writes create intents, over a store whose key-map delete fails:
    // the intent may stay (it costs a look-up, never a duplicate), the dead letter must not turn
    // into a retry of a payload that can never be valid.
    await runner.stop();
    const keyMap = Object.create(store.keyMap, {
      delete: {
        value: () => Promise.reject(new StoreError('STORE_UNAVAILABLE', 'key-map delete refused (test)')),
      },
    }) as KeyMapStore;
    const failingDeletes = Object.create(store, { keyMap: { value: keyMap } }) as StateStore;
    const [parents] = buildFlows(sink, store.keyMap);
    const flows = new FlowRegistry([{ ...parents!, id: 'records', intentsAtLease: true }]);
    runner = buildRunner(failingDeletes, sink, events, clock, {
      window: 4,
      activeFlows: () => ['records'],
      flows,
    });
    runner.start();
    await store.queue.enqueue([{ flow: 'records', recordKey: 'r1', payload: { value: 'one' } }]);
    runner.wake();
    await until(async () => (await store.deadLetters.list({}, {})).items.length === 1);
    const [letter] = (await store.deadLetters.list({}, {})).items;
    expect([letter!.recordKey, letter!.code]).toEqual(['r1', 'PAYLOAD_INVALID']);
    // The lease did write the intent, and it stayed.
    expect(await store.keyMap.get('records', 'r1')).toMatchObject({ campaignPKey: null, origin: 'created' });
    expect(sink.calls).toEqual([]);
  });

  it('parks a child before its parent, and releases it with the parent’s completion', async () => {
    await store.queue.enqueue([{ flow: 'children', recordKey: 'c1', payload: { value: 1, parent: 'p1' } }]);
    runner.wake();
    await until(() => count('item.parked') === 1);
    expect(await store.parked.count('children')).toBe(1);
    expect(seen.map((s) => s.name)).toEqual(['item.parked']);

    await store.queue.enqueue([{ flow: 'parents', recordKey: 'p1', payload: { value: 2 } }]);
    runner.wake();
    await until(() => count('item.applied') === 2);
    expect(await store.parked.count()).toBe(0);
    expect([...sink.written.keys()].sort()).toEqual(['children/c1', 'parents/p1']);
    const released = seen.find((s) => s.name === 'item.released')!.event as EngineEventMap['item.released'];
    expect(released).toEqual({ parent: { flow: 'parents', recordKey: 'p1' }, count: null });
  });

  it('commits the release in the same transaction as the parent’s completion', async () => {
    // The store alone, leased by hand: the runner must not lease these items first.
    await runner.stop();
    const parent: ParentRef = { flow: 'parents', recordKey: 'p1' };
    await store.queue.enqueue([{ flow: 'children', recordKey: 'c2', payload: { value: 1, parent: 'p1' } }]);
    const [child] = await store.queue.lease({
      owner: 'other',
      limit: 1,
      leaseMs: 60_000,
      flows: ['children'],
    });
    await store.queue.park(child!.id, 'other', parent, 'parent missing');
    await store.queue.enqueue([{ flow: 'parents', recordKey: 'p1', payload: { value: 2 } }]);
    const [item] = await store.queue.lease({ owner: 'other', limit: 1, leaseMs: 60_000, flows: ['parents'] });
    // A completion whose effects cannot commit (an invalid key-map entry) releases nothing either.
    await expect(
      store.queue.complete(item!.id, 'other', {
        keyMap: {
          op: 'put',
          entry: {
            flow: '',
            recordKey: '',
            campaignPKey: null,
            origin: 'created',
            lastSourceVersion: null,
            lastPayloadHash: null,
          },
        },
        releaseParked: parent,
      }),
    ).rejects.toThrow();
    expect(await store.parked.count()).toBe(1);
    expect(await store.queue.complete(item!.id, 'other', { releaseParked: parent })).toBe('ok');
    expect(await store.parked.count()).toBe(0);
    expect((await store.queue.itemsForKey('children', 'c2')).map((i) => i.state)).toEqual(['queued']);
  });

  it('retries a retryable failure when its time comes, and dead-letters when attempts run out', async () => {
    sink.failures = [
      new ConnectorError('campaign', 'CAMPAIGN_HTTP_503', 'unavailable', { status: 503 }),
      new ConnectorError('campaign', 'CAMPAIGN_HTTP_503', 'unavailable', { status: 503 }),
    ];
    await store.queue.enqueue([{ flow: 'parents', recordKey: 'k1', payload: { value: 3 } }]);
    runner.wake();
    await until(() => count('item.failed') === 1);
    expect(seen.map((s) => s.name)).toEqual(['item.failed']);
    expect(seen[0]!.event).toMatchObject({ code: 'CAMPAIGN_HTTP_503', deadLettered: false });
    clock.advance(1000);
    runner.wake();
    await until(() => count('item.failed') === 2);
    expect(seen.map((s) => s.name)).toEqual(['item.failed', 'item.failed']);
    expect(seen[1]!.event).toMatchObject({ deadLettered: true });
    expect((await store.deadLetters.list({}, {})).items).toMatchObject([
      { flow: 'parents', recordKey: 'k1', code: 'CAMPAIGN_HTTP_503', attempts: 2 },
    ]);
  });
});

describe('Parking', () => {
  it('judges staged changes of parked records by the flow’s policy, and sweeps what no event settles', async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 1));
    const store = await openStateStore('sqlite::memory:', { clock });
    try {
      // A delete drops a parked record; a change that names no parent unparks it; others keep waiting.
      const policy: ParkingPolicy = {
        parentFlows: ['parents'],
        judge: (_key, payload) => {
          const value = valueSchema.safeParse(payload);
          if (!value.success) return Promise.resolve('unpark');
          return Promise.resolve(value.data.value < 0 ? 'drop' : value.data.parent ? 'keep' : 'unpark');
        },
      };
      const flows = new FlowRegistry([{ ...buildFlows(new FakeSink(), store.keyMap)[1]!, parking: policy }]);
      const parking = new Parking(store, flows);
      const parent = { flow: 'parents', recordKey: 'p1' };
      for (const key of ['a', 'b', 'c']) {
        await store.queue.enqueue([
          { flow: 'children', recordKey: key, payload: { value: 1, parent: 'p1' } },
        ]);
        const [item] = await store.queue.lease({
          owner: 'w',
          limit: 1,
          leaseMs: 60_000,
          flows: ['children'],
        });
        expect(await parking.park(item!, 'w', parent, 'parent missing')).toBe(true);
      }
      expect(await store.parked.count('children')).toBe(3);

      const outcomes = await parking.stage(
        'children',
        [
          { flow: 'children', recordKey: 'a', payload: { value: -1, parent: 'p1' } },
          { flow: 'children', recordKey: 'b', payload: { value: 2, parent: null } },
          { flow: 'children', recordKey: 'c', payload: { value: 3, parent: 'p1' } },
        ],
        (items) => store.queue.enqueue(items),
      );
      // a: dropped, never staged; b: unparked and queued; c: folded into its parked state.
      expect(outcomes).toEqual(['queued', 'folded-into-parked']);
      expect(await store.parked.get('children', 'a')).toBeNull();
      expect((await store.queue.itemsForKey('children', 'b')).map((i) => i.state)).toEqual(['queued']);
      expect((await store.parked.get('children', 'c'))?.payload).toEqual({ value: 3, parent: 'p1' });

      // The policy now lets c go (as when its parent landed while no event said so): a sweep releases it.
      policy.judge = () => Promise.resolve('unpark');
      expect(await parking.sweep('children')).toEqual({ dropped: 0, released: 1 });
      expect(await store.parked.count()).toBe(0);
    } finally {
      await store.close();
    }
  });
});

/** `count` items of the parents flow (keys p0, p1…, value = index) in the queue of `store`. */
async function enqueueParents(store: StateStore, count: number): Promise<void> {
  await store.queue.enqueue(
    Array.from({ length: count }, (_, i) => ({
      flow: 'parents',
      recordKey: `p${i}`,
      payload: { value: i },
    })),
  );
}

describe('WorkRunner group commits', () => {
  /** Wait (2 ms steps, in real time: the runner's own timers) until `done` holds. */
  async function until(done: () => boolean): Promise<void> {
    for (let i = 0; i < 1000 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
    if (!done()) throw new Error('the runner did not get there');
  }

  it('keeps at most commitConcurrency commits in flight, commits what piled up meanwhile, and drains on stop', async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 1));
    const real = await openStateStore('sqlite::memory:', { clock });
    let inFlight = 0;
    let most = 0;
    const held: (() => void)[] = [];
    const batches: number[] = [];
    // The real store, with its completeMany held until the test lets it go.
    const queue = Object.create(real.queue) as StateStore['queue'];
    queue.completeMany = async (completions) => {
      inFlight++;
      most = Math.max(most, inFlight);
      batches.push(completions.length);
      await new Promise<void>((resolve) => held.push(resolve));
      try {
        return await real.queue.completeMany(completions);
      } finally {
        inFlight--;
      }
    };
    const store = Object.assign(Object.create(real) as StateStore, { queue });
    const sink = new FakeSink();
    const events = new EngineEvents();
    let applied = 0;
    events.on('item.applied', () => applied++);
    const runner = buildRunner(store, sink, events, clock, {
      window: 8,
      activeFlows: () => ['parents'],
      groupCommitSize: 2,
      commitConcurrency: 2,
    });
    try {
      await enqueueParents(real, 8);
      runner.start();
      await until(() => sink.written.size === 8 && held.length === 2);
      // Two commits held: the other completions wait for one of them, not for a third commit.
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(held).toHaveLength(2);
      held.shift()!();
      await until(() => held.length === 2);
      while (applied < 8) {
        held.shift()?.();
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      expect(most).toBe(2);
      expect(batches.reduce((a, b) => a + b, 0)).toBe(8);
      // What piled up behind the two held commits went as one batch.
      expect(Math.max(...batches)).toBeGreaterThan(2);
    } finally {
      const stopping = runner.stop();
      while (held.length > 0) held.shift()!();
      await stopping;
      await real.close();
    }
    expect(applied).toBe(8);
  });

  it('gives an applied item’s slot back while its completion waits for the commit, up to twice the window in flight', async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 1));
    const real = await openStateStore('sqlite::memory:', { clock });
    const held: (() => void)[] = [];
    const queue = Object.create(real.queue) as StateStore['queue'];
    queue.completeMany = async (completions) => {
      await new Promise<void>((resolve) => held.push(resolve));
      return real.queue.completeMany(completions);
    };
    const store = Object.assign(Object.create(real) as StateStore, { queue });
    const sink = new FakeSink();
    const events = new EngineEvents();
    const runner = buildRunner(store, sink, events, clock, {
      window: 2,
      activeFlows: () => ['parents'],
      groupCommitSize: 1,
      commitConcurrency: 1,
    });
    try {
      await enqueueParents(real, 6);
      runner.start();
      // The first commit is held: four items applied (two slots, each freed once its item waits
      // for the commit), none of them completed; the keys stay leased meanwhile.
      await until(() => sink.written.size === 4);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(sink.written.size).toBe(4);
      expect(runner.inFlightCount).toBe(4);
      expect((await real.queue.backlog()).find((b) => b.flow === 'parents')).toMatchObject({
        queued: 2,
        leased: 4,
      });
    } finally {
      const stopping = runner.stop();
      const release = setInterval(() => held.shift()?.(), 1);
      await stopping;
      clearInterval(release);
    }
    // Stopping committed the four completions (the other two were never leased).
    expect((await real.queue.backlog()).find((b) => b.flow === 'parents')).toMatchObject({
      queued: 2,
      leased: 0,
    });
    await real.close();
  });
});

describe('WorkRunner leases', () => {
  it('leases a batch when slots come back one by one, not one item per completion', async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 1));
    const real = await openStateStore('sqlite::memory:', { clock });
    const asked: number[] = [];
    const queue = Object.create(real.queue) as StateStore['queue'];
    queue.lease = async (request) => {
      const leased = await real.queue.lease(request);
      if (leased.length > 0) asked.push(request.limit);
      return leased;
    };
    const store = Object.assign(Object.create(real) as StateStore, { queue });
    // Each apply waits until the test lets it finish: slots come back one at a time.
    const gates: (() => void)[] = [];
    let applied = 0;
    const flow: Flow<Value> = {
      id: 'parents',
      direction: 'dynamics-to-campaign',
      description: 'held applies',
      payload: valueSchema,
      applier: {
        apply: async (): Promise<ApplyResult> => {
          await new Promise<void>((resolve) => gates.push(resolve));
          applied++;
          return { kind: 'done', outcome: 'created', landed: true, effects: {} };
        },
      },
    };
    const runner = buildRunner(store, new FakeSink(), new EngineEvents(), clock, {
      flows: new FlowRegistry([flow]),
      groupCommitSize: 1,
      window: 16,
      activeFlows: () => ['parents'],
    });
    const items = 160;
    const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));
    try {
      await enqueueParents(real, items);
      runner.start();
      for (let i = 0; i < 5000 && applied < items; i++) {
        gates.shift()?.();
        await tick();
      }
      expect(applied).toBe(items);
    } finally {
      await runner.stop();
      await real.close();
    }
    // The first lease fills the window; every later one waited for a quarter of it to come back.
    expect(asked[0]).toBe(16);
    expect(Math.min(...asked.slice(1, -1))).toBeGreaterThanOrEqual(4);
    expect(asked.length).toBeLessThanOrEqual(items / 4 + 2);
  });
});
