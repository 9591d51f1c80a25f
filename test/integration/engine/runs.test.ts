import { afterEach, describe, expect, it } from 'vitest';
import type { RunView } from '../../../src/engine/runs/run-view.js';
import { SyncTestBed, storeKinds } from '../../support/sync-test-bed.js';

describe.each(storeKinds)('runs over the emulators (%s store)', (store) => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('an initial load is one run that ends after its last write with exact counts; a replay is another', async () => {
    const contacts = 230;
    bed = await SyncTestBed.start({
      store,
      dynamics: { contacts, seed: 11 },
      config: { dynamics: { pageSize: 50 } },
    });
    const { runtime, engine } = await bed.engine();
    const started: RunView[] = [];
    const ended: RunView[] = [];
    const progressed: RunView[] = [];
    let lastWriteAt = 0;
    engine.events.on('item.applied', () => (lastWriteAt = runtime.clock.now()));
    engine.events.on('run.started', (run) => started.push(run));
    engine.events.on('run.progressed', (run) => progressed.push(run));
    engine.events.on('run.ended', (run) => ended.push(run));
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(summary.created).toBe(contacts);

    const runs = (await runtime.store.runs.list({ flow: 'contacts' }, {})).items;
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run).toMatchObject({
      kind: 'initial',
      trigger: 'first-start',
      outcome: 'succeeded',
      phase: 'ended',
      total: contacts,
      totalSource: 'read',
      counts: { read: contacts, created: contacts, updated: 0, adopted: 0, deadLettered: 0, parked: 0 },
    });
    expect(run.counts.campaignCalls).toBeGreaterThanOrEqual(contacts);
    expect(run.endedAt).not.toBeNull();
    expect(run.endedAt!).toBeGreaterThanOrEqual(lastWriteAt);
    expect(started.map((r) => r.id)).toEqual([run.id]);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({
      id: run.id,
      outcome: 'succeeded',
      progress: { done: contacts, total: contacts, percent: 100, etaMs: null },
    });
    // Progress never runs ahead of what was written, and never backwards.
    const dones = progressed.map((r) => r.progress.done);
    expect([...dones].sort((a, b) => a - b)).toEqual(dones);
    expect(Math.max(0, ...dones)).toBeLessThanOrEqual(contacts);
    const detail = await runtime.store.runs.get(run.id);
    expect(detail!.events.map((e) => e.kind)).toContain('read-complete');
    expect((await engine.flowStatuses())[0]).toMatchObject({ phase: 'live', run: null });

    const second = await bed.engine();
    await second.engine.requestReplay('contacts');
    await second.engine.runUntilIdle({ timeoutMs: 60_000 });
    const after = (await runtime.store.runs.list({ flow: 'contacts' }, {})).items;
    expect(after.map((r) => r.kind)).toEqual(['replay', 'initial']);
    expect(after[0]).toMatchObject({
      trigger: 'operator',
      outcome: 'succeeded',
      // A replay writes every record again.
      counts: { read: contacts, created: 0, updated: contacts },
    });
    expect((await runtime.store.runs.list({ flow: 'contacts', kind: 'replay' }, {})).items).toHaveLength(1);
  });

  it('a run stopped part way is continued by the next engine and ends once with exact counts', async () => {
    const contacts = 600;
    bed = await SyncTestBed.start({
      store,
      dynamics: { contacts, seed: 5 },
      config: { dynamics: { pageSize: 100 }, engine: { workers: 2 } },
    });
    const first = await bed.engine();
    let applied = 0;
    const enough = new Promise<void>((resolve) =>
      first.engine.events.on('item.applied', () => {
        if (++applied === 60) resolve();
      }),
    );
    await first.engine.start();
    await enough;
    await first.engine.stop();
    const [stopped] = (await first.runtime.store.runs.list({}, {})).items;
    expect(stopped).toMatchObject({ kind: 'initial', outcome: 'running', endedAt: null });
    expect(stopped!.counts.created).toBeGreaterThanOrEqual(60);
    expect(stopped!.counts.created).toBeLessThan(contacts);

    const second = await bed.engine();
    const ended: RunView[] = [];
    second.engine.events.on('run.ended', (run) => ended.push(run));
    await second.engine.runUntilIdle({ timeoutMs: 60_000 });
    const runs = (await second.runtime.store.runs.list({}, {})).items;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      id: stopped!.id,
      outcome: 'succeeded',
      counts: { created: contacts, read: contacts, updated: 0, adopted: 0 },
    });
    expect(ended.map((r) => r.id)).toEqual([stopped!.id]);
    const events = (await second.runtime.store.runs.get(stopped!.id))!.events.map((e) => e.kind);
    expect(events.filter((k) => k === 'continued')).toHaveLength(1);
    expect(bed.profilesByExternalId().size).toBe(contacts);
  });
});
