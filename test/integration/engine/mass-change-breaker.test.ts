import { afterEach, describe, expect, it } from 'vitest';
import { SyncTestBed, testEnv } from '../../support/sync-test-bed.js';
import { runDcsync } from '../../support/cli-runner.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { readUntilCaughtUp, waitUntil } from '../../support/rebaseline-helpers.js';
import { createSyncEngine } from '../../../src/cli/runtime/start-sync.js';
import { expectConverged } from './fixtures/sync-convergence.js';

describe('mass-change breaker', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  async function syncedBed(): Promise<SyncTestBed> {
    const b = await SyncTestBed.start({
      dynamics: { contacts: 30, seed: 4 },
      config: { engine: { breaker: { maxShare: 0.2, minRecords: 10 } } },
    });
    const { engine } = await b.engine();
    expect((await engine.runUntilIdle({ timeoutMs: 60_000 })).created).toBe(30);
    return b;
  }

  it('pauses a flow whose run would delete too much, deletes nothing, and continues once accepted', async () => {
    bed = await syncedBed();
    const ids = bed.dynamics.admin.listIds('contact');
    for (const id of ids.slice(0, 10)) bed.dynamics.admin.deleteContact(id); // 33 % > 20 %

    const { runtime, engine } = await bed.engine();
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(summary.deleted).toBe(0);
    expect(bed.profilesByExternalId().size).toBe(30);
    const [status] = await engine.flowStatuses();
    expect(status!.control.status).toBe('paused');
    expect(status!.control.reason).toContain('10 deletes of 30 synced records');
    const alerts = await runtime.store.audit.list({}, {});
    expect(alerts.items.filter((a) => a.action.endsWith('.delete'))).toHaveLength(0);

    // A plain resume trips again: the same run still deletes too much.
    await runDcsync(['flow', 'resume', '--config', bed.configPath, '--flow', 'contacts'], testEnv);
    await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(bed.profilesByExternalId().size).toBe(30);

    // Accepting the mass change lets exactly that run through.
    const resumed = await runDcsync(
      ['flow', 'resume', '--config', bed.configPath, '--flow', 'contacts', '--accept-mass-change'],
      testEnv,
    );
    expect(resumed.code).toBe(0);
    const after = await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(after.deleted).toBe(10);
    expect(bed.profilesByExternalId().size).toBe(20);
  });

  it('pauses on mass overwrites too, and stays quiet below the share', async () => {
    bed = await syncedBed();
    const ids = bed.dynamics.admin.listIds('contact');
    for (const id of ids.slice(0, 5)) bed.dynamics.admin.updateContact(id, { lastname: 'Small' }); // 17 %: fine
    const first = await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(first.updated).toBe(5);

    for (const id of ids.slice(0, 12)) bed.dynamics.admin.updateContact(id, { lastname: 'Mass' }); // 40 %
    const { engine } = await bed.engine();
    const second = await engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(second.updated).toBe(0);
    const [status] = await engine.flowStatuses();
    expect(status!.control).toMatchObject({ status: 'paused' });
    expect(status!.control.reason).toContain('overwrites');
  });

  it('after a re-baseline counts the synced records it would delete; cancelling creates that never reached Campaign is no mass delete', async () => {
    bed = await syncedBed();
    const stageCreates = async (count: number): Promise<string[]> => {
      const ids = Array.from({ length: count }, (_, n) =>
        String(bed!.dynamics.admin.createContact(buildContact({ lastname: `Waiting-${n}` })).contactid),
      );
      await readUntilCaughtUp(bed!, { flowIds: ['contacts'], work: false });
      return ids;
    };
    const synced = bed.dynamics.admin.listIds('contact');

    // 20 queued creates and 3 synced records vanish while the delta link is dead: 23 unseen keys,
    // but only 3 of the 30 synced records (10 %) would be deleted.
    const waiting = await stageCreates(20);
    for (const id of [...waiting, ...synced.slice(0, 3)]) bed.dynamics.admin.deleteContact(id);
    bed.dynamics.admin.expireDeltaTokens();
    await readUntilCaughtUp(bed, { flowIds: ['contacts'], work: false });
    const first = await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(first.deleted).toBe(3);
    expect(first.created).toBe(0);
    expect(expectConverged(bed)).toBe(27);

    // 5 more queued creates and 8 of the 27 synced records (30 %): the creates are cancelled (they
    // never reached Campaign), the deletes wait for the operator with the paused flow.
    const more = await stageCreates(5);
    for (const id of [...more, ...synced.slice(3, 11)]) bed.dynamics.admin.deleteContact(id);
    bed.dynamics.admin.expireDeltaTokens();
    const poller = await createSyncEngine(await bed.openRuntime(), { work: false });
    await poller.start();
    await waitUntil('the breaker paused the flow', async () => {
      const [status] = await poller.flowStatuses();
      return status!.control.status === 'paused';
    });
    await poller.stop();
    const [status] = await poller.flowStatuses();
    expect(status!.control.reason).toContain('re-baseline found 8 deletes of 27 synced records');
    const { runtime, engine } = await bed.engine();
    const paused = await engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(paused.deleted + paused.created).toBe(0);
    expect(bed.profilesByExternalId().size).toBe(27);
    for (const id of more) {
      const items = await runtime.store.queue.itemsForKey('contacts', id);
      expect(items.map((i) => (i.payload as { op: string }).op)).toEqual(['delete']);
    }
    for (const id of synced.slice(3, 11))
      expect(await runtime.store.queue.itemsForKey('contacts', id)).toEqual([]);

    await runDcsync(
      ['flow', 'resume', '--config', bed.configPath, '--flow', 'contacts', '--accept-mass-change'],
      testEnv,
    );
    const accepted = await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(accepted.deleted).toBe(8);
    expect(accepted.created).toBe(0);
    expect(expectConverged(bed)).toBe(19);
    // The breaker's pause and the operator's resume are events of the re-baseline's run.
    const [rebaseline] = (await runtime.store.runs.list({ kind: 'rebaseline' }, {})).items;
    expect(rebaseline).toMatchObject({
      outcome: 'succeeded',
      trigger: 'cursor-expired',
      counts: { deleted: 8 },
    });
    const events = (await runtime.store.runs.get(rebaseline!.id))!.events.map((e) => e.kind);
    expect(events.filter((k) => k === 'breaker-tripped' || k === 'resumed')).toEqual([
      'breaker-tripped',
      'resumed',
    ]);
  });
});
