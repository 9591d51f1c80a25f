import { afterEach, describe, expect, it } from 'vitest';
import { SyncTestBed, testEnv } from '../../support/sync-test-bed.js';
import { runDcsync } from '../../support/cli-runner.js';

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
});
