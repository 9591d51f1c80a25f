import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/core/clock.js';
import { silentLogger } from '../../../../src/core/ports/engine-logger.js';
import type { StateStore } from '../../../../src/core/ports/state-store.js';
import { EngineEvents } from '../../../../src/engine/engine-events.js';
import { controlCheckpoint, type FlowControlState } from '../../../../src/engine/flow-control.js';
import { RunTracker } from '../../../../src/engine/runs/run-tracker.js';
import { runDone, type RunView } from '../../../../src/engine/runs/run-view.js';
import { openStateStore } from '../../../../src/store/open-state-store.js';

describe('run tracker', () => {
  let store: StateStore | undefined;
  let tracker: RunTracker | undefined;
  afterEach(async () => {
    await tracker?.stop();
    await store?.close();
  });

  async function setUp() {
    const clock = new ManualClock(1_000_000);
    store = await openStateStore('sqlite::memory:', { clock });
    const events = new EngineEvents((error) => {
      throw error;
    });
    let control: FlowControlState = controlCheckpoint.initial(clock.now());
    tracker = new RunTracker({
      store,
      clock,
      logger: silentLogger,
      events,
      control: { get: () => control },
      flows: ['contacts'],
      // The timer never fires within a test; the test flushes.
      flushIntervalMs: 3_600_000,
    });
    const views: { name: string; run: RunView }[] = [];
    for (const name of ['run.started', 'run.progressed', 'run.ended'] as const)
      events.on(name, (run) => views.push({ name, run }));
    await tracker.start();
    const setControl = (next: Partial<FlowControlState>) => (control = { ...control, ...next });
    return { clock, store, events, tracker, views, setControl };
  }

  const applied = (
    events: EngineEvents,
    outcome: 'created' | 'filtered' | 'updated',
    lane: 'bulk' | 'live' = 'bulk',
  ) => events.emit('item.applied', { flow: 'contacts', lane, outcome, elapsedMs: 1, lagMs: 1 });

  it('settles at once the rows read that became no work item of the run (merged into a live item being retried, stale, folded into a parked child)', async () => {
    const { clock, store, events, tracker } = await setUp();
    events.emit('read.started', {
      flow: 'contacts',
      kind: 'replay',
      rows: 0,
      total: 5,
      startedAt: clock.now(),
      done: false,
    });
    for (let i = 0; i < 2; i++) applied(events, 'updated');
    events.emit('item.absorbed', {
      flow: 'contacts',
      lane: 'bulk',
      outcomes: { coalesced: 1, stale: 1, 'folded-into-parked': 1 },
    });
    // Live staging is not the run's.
    events.emit('item.absorbed', { flow: 'contacts', lane: 'live', outcomes: { coalesced: 7 } });
    await tracker.flush();
    const [run] = (await store.runs.list({}, {})).items;
    expect(run!.counts).toMatchObject({
      updated: 2,
      parked: 1,
      skipped: { 'merged-with-queued': 1, stale: 1 },
    });
    expect(runDone(run!.counts)).toBe(5);
  });

  it('counts what the bulk lane wrote, flushes in batches, and ends only after the read is complete and the lane drained', async () => {
    const { clock, store, events, tracker, views, setControl } = await setUp();
    events.emit('read.started', {
      flow: 'contacts',
      kind: 'initial',
      rows: 0,
      total: 10,
      startedAt: clock.now(),
      done: false,
    });
    await tracker.flush();
    const [run] = (await store.runs.list({}, {})).items;
    expect(run).toMatchObject({
      kind: 'initial',
      trigger: 'first-start',
      total: 10,
      totalSource: 'count',
      phase: 'reading',
    });
    expect(views.map((v) => v.name)).toEqual(['run.started', 'run.progressed']);

    for (let i = 0; i < 4; i++) applied(events, 'created');
    applied(events, 'updated', 'live'); // live work of the same flow is not the run's
    applied(events, 'filtered');
    events.emit('item.parked', {
      flow: 'contacts',
      lane: 'bulk',
      recordKey: 'k',
      parent: { flow: 'x', recordKey: 'p' },
      reason: 'r',
      state: 'waiting',
    });
    events.emit('item.failed', {
      flow: 'contacts',
      lane: 'bulk',
      recordKey: 'k2',
      code: 'X',
      deadLettered: true,
      throttled: false,
    });
    events.emit('item.failed', {
      flow: 'contacts',
      lane: 'bulk',
      recordKey: 'k3',
      code: 'X',
      deadLettered: false,
      throttled: false,
    });
    events.emit('read.progressed', {
      flow: 'contacts',
      kind: 'initial',
      rows: 10,
      total: 10,
      startedAt: run!.startedAt,
      done: false,
    });
    // Nothing reaches the store before the flush.
    expect((await store.runs.get(run!.id))!.counts.created).toBe(0);
    clock.advance(2000);
    setControl({ status: 'paused', reason: 'mass-change breaker: too many deletes', trippedRunId: 'r1' });
    await tracker.flush();
    expect((await store.runs.get(run!.id))!.counts).toEqual({
      read: 10,
      created: 4,
      updated: 0,
      adopted: 0,
      deleted: 0,
      unchanged: 0,
      skipped: { filtered: 1 },
      parked: 1,
      deadLettered: 1,
      campaignCalls: 0,
    });
    setControl({ status: 'running', reason: null, trippedRunId: null });
    events.emit('read.ended', {
      flow: 'contacts',
      kind: 'initial',
      rows: 10,
      total: 10,
      startedAt: run!.startedAt,
      done: true,
    });
    for (let i = 0; i < 3; i++) applied(events, 'created');
    clock.advance(2000);
    await tracker.flush(); // drained once: not yet
    expect((await store.runs.get(run!.id))!.outcome).toBe('running');
    await tracker.flush();
    const ended = await store.runs.get(run!.id);
    expect(ended).toMatchObject({
      outcome: 'succeeded',
      phase: 'ended',
      total: 10,
      totalSource: 'read',
      endedAt: clock.now(),
    });
    expect(ended!.counts.created).toBe(7);
    expect(ended!.events.map((e) => e.kind)).toEqual(['breaker-tripped', 'read-complete', 'resumed']);
    const last = views.at(-1)!;
    expect(last.name).toBe('run.ended');
    expect(last.run.progress).toMatchObject({ done: 10, total: 10, percent: 100, etaMs: null });
    expect(tracker.views()).toEqual([]);
  });

  it('measures the rate over its window and bounds the ETA by the call budget', async () => {
    const { clock, events, tracker, views } = await setUp();
    events.emit('read.started', {
      flow: 'contacts',
      kind: 'replay',
      rows: 0,
      total: 1000,
      startedAt: clock.now(),
      done: false,
    });
    await tracker.flush();
    for (let second = 0; second < 3; second++) {
      for (let i = 0; i < 50; i++) applied(events, 'updated');
      clock.advance(1000);
      await tracker.flush();
    }
    const view = views.at(-1)!.run;
    expect(view.kind).toBe('replay');
    expect(view.trigger).toBe('operator');
    expect(view.progress).toMatchObject({
      done: 150,
      total: 1000,
      totalSource: 'count',
      percent: 15,
      ratePerSecond: 50,
    });
    expect(view.progress.etaMs).toBe(17_000);
    events.emit('budget.changed', { target: 'campaign', callsPerSecond: 10, limit: 800, reason: '503' });
    expect(tracker.views()[0]!.progress.etaMs).toBe(85_000);
  });

  it('continues a running run of the store after a restart and keeps its id', async () => {
    const { clock, store } = await setUp();
    await tracker!.stop();
    tracker = undefined;
    const stored = await store.runs.start({
      flow: 'contacts',
      kind: 'initial',
      trigger: 'first-start',
      counts: { read: 5, created: 3 },
    });
    // The cursor says the full read is over: the run is writing what it read.
    const events = new EngineEvents();
    tracker = new RunTracker({
      store,
      clock,
      logger: silentLogger,
      events,
      control: { get: () => controlCheckpoint.initial(0) },
      flows: ['contacts'],
      flushIntervalMs: 3_600_000,
    });
    await store.checkpoints.set(
      'flow:contacts:cursor',
      JSON.stringify({
        phase: 'delta',
        link: 'x',
        runId: null,
        runRows: 0,
        runDeletes: 0,
        runOverwrites: 0,
        startedAt: 0,
        caughtUpAt: 1,
      }),
    );
    await tracker.start();
    expect(tracker.views()).toMatchObject([{ id: stored.id, phase: 'writing', counts: { created: 3 } }]);
    applied(events, 'created');
    applied(events, 'created');
    await tracker.flush(true);
    expect(await store.runs.get(stored.id)).toMatchObject({
      outcome: 'succeeded',
      counts: { read: 5, created: 5 },
    });
    expect((await store.runs.get(stored.id))!.events.map((e) => e.kind)).toEqual(['continued']);
  });

  it('a worker process follows a run another process started, counts what it writes, and lets go when it ended', async () => {
    const { clock, store, events: readerEvents, tracker: reader } = await setUp();
    const workerEvents = new EngineEvents();
    const worker = new RunTracker({
      store,
      clock,
      logger: silentLogger,
      events: workerEvents,
      control: { get: () => controlCheckpoint.initial(0) },
      flows: ['contacts'],
      flushIntervalMs: 3_600_000,
    });
    await worker.start();
    try {
      readerEvents.emit('read.started', {
        flow: 'contacts',
        kind: 'initial',
        rows: 0,
        total: null,
        startedAt: clock.now(),
        done: false,
      });
      await reader.flush();
      await worker.flush();
      expect(worker.views()).toHaveLength(1);
      applied(readerEvents, 'created');
      applied(workerEvents, 'created');
      applied(workerEvents, 'created');
      readerEvents.emit('read.ended', {
        flow: 'contacts',
        kind: 'initial',
        rows: 3,
        total: null,
        startedAt: clock.now(),
        done: true,
      });
      await reader.flush();
      await reader.flush(true);
      await worker.flush();
      expect(worker.views()).toEqual([]);
      const [run] = (await store.runs.list({}, {})).items;
      expect(run).toMatchObject({ outcome: 'succeeded', counts: { read: 3, created: 3 } });
    } finally {
      await worker.stop();
    }
  });

  it('a tracker started again after a stop continues its run instead of taking it for a duplicate', async () => {
    const { clock, store, events, tracker } = await setUp();
    events.emit('read.started', {
      flow: 'contacts',
      kind: 'initial',
      rows: 0,
      total: null,
      startedAt: clock.now(),
      done: false,
    });
    await tracker.stop();
    await tracker.start();
    const [run] = (await store.runs.list({}, {})).items;
    expect(run).toMatchObject({ outcome: 'running' });
    expect(tracker.views().map((v) => v.id)).toEqual([run!.id]);
  });
});
