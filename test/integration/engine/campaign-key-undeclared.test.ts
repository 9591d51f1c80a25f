/**
 * The profile identification key not declared in Campaign (issue 18), the emulator set up both
 * ways. When the client addresses profiles by `externalId` and Campaign cannot parse the key
 * (500 XTK-170036), the contacts flow pauses with one critical alert naming what to declare and
 * where — no dead letter per record, every change kept — and carries on once the key is declared
 * and the flow resumed. With the key declared, or undeclared in the metadata too (the client then
 * looks profiles up through the byExternalId filter), the sync works as before. The same for a
 * custom resource's key column (the table's flow pauses, the others carry on).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/core/ports/alert-sink.js';
import { createSyncEngine } from '../../../src/cli/runtime/start-sync.js';
import type { SyncRuntime } from '../../../src/cli/runtime/sync-runtime.js';
import type { SyncEngine } from '../../../src/engine/sync-engine.js';
import { SyncTestBed, type StoreKind } from '../../support/sync-test-bed.js';
import { tableFlowId } from '../../../src/engine/records/record-flow.js';
import {
  buildNote,
  noteTable,
  recordsByKey,
  startCustomTableBed,
} from '../../support/custom-table-fixtures.js';
import { expectConverged } from './fixtures/sync-convergence.js';

async function engineWithAlerts(
  bed: SyncTestBed,
): Promise<{ runtime: SyncRuntime; engine: SyncEngine; alerts: Alert[] }> {
  const alerts: Alert[] = [];
  const runtime = await bed.openRuntime();
  const engine = await createSyncEngine(runtime, {
    alerts: {
      raise(alert) {
        alerts.push(alert);
        return Promise.resolve();
      },
    },
  });
  return { runtime, engine, alerts };
}

describe('profile identification key not declared', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it.each<StoreKind>(['sqlite', 'postgres'])(
    'looked up by key, answered 500 XTK-170036 (%s): the flow pauses with one alert naming the fix, no dead letters; declared and resumed, it syncs',
    async (store) => {
      bed = await SyncTestBed.start({
        store,
        dynamics: { contacts: 60, seed: 81 },
        campaign: {
          profiles: 5,
          seed: 81,
          behaviour: { undeclaredKeyAnswer: 'xtk-500', undeclaredKeyResources: ['profile'] },
        },
      });
      // Ten profiles already carry a contact's id (an earlier integration): creating them meets a
      // duplicate, so the client looks them up by key — which Campaign cannot parse.
      const existing = bed.dynamics.admin.listIds('contact').slice(0, 10);
      bed.campaign.admin.seedProfiles({
        records: existing.map((externalId) => ({ externalId, lastName: 'Old' })),
      });
      const { runtime, engine, alerts } = await engineWithAlerts(bed);
      const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });

      expect(summary['dead-lettered']).toBe(0);
      expect(await runtime.store.deadLetters.count()).toBe(0);
      const paused = alerts.filter((a) => a.kind === 'flow-paused');
      expect(paused).toHaveLength(1);
      expect(paused[0]).toMatchObject({ severity: 'critical', subject: 'contacts' });
      expect(paused[0]!.message).toContain('CAMPAIGN_KEY_NOT_DECLARED');
      expect(paused[0]!.message).toContain(
        "declare 'externalId' as an identification key of the Profiles & Services Ext extension",
      );
      expect(paused[0]!.message).toContain('dcsync flow resume --flow contacts');
      expect(alerts.map((a) => a.kind)).not.toContain('dead-letters');
      const control = engine.control.get('contacts');
      expect(control.status).toBe('paused');
      expect(control.reason).toContain('CAMPAIGN_KEY_NOT_DECLARED');
      // The changes not written are kept (queued, not leased), the ten among them.
      const backlog = (await runtime.store.queue.backlog()).find((b) => b.flow === 'contacts')!;
      expect(backlog.leased).toBe(0);
      expect(backlog.queued).toBeGreaterThanOrEqual(1);
      expect(summary.created + backlog.queued).toBe(60);

      // The operator declares the key (the wire now honours it) and resumes: the sync goes through.
      bed.campaign.admin.configure({ undeclaredKeyResources: [] });
      await engine.control.resume('contacts');
      const { runtime: again, engine: resumed, alerts: later } = await engineWithAlerts(bed);
      const after = await resumed.runUntilIdle({ timeoutMs: 60_000 });
      expect(after['dead-lettered']).toBe(0);
      expect(summary.created + after.created + after.adopted).toBe(60);
      expect(later.map((a) => a.kind)).not.toContain('flow-paused');
      expect(await again.store.deadLetters.count()).toBe(0);
      // One profile per contact: the ten that existed were found and updated, not created twice.
      expect(expectConverged(bed)).toBe(60);
      expect(existing.every((id) => bed!.profilesByExternalId().get(id)?.lastName !== 'Old')).toBe(true);
    },
  );

  it('declared: the sync works as before (existing profiles found by key and adopted)', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 60, seed: 82 },
      campaign: { profiles: 5, seed: 82, behaviour: { undeclaredKeyAnswer: 'xtk-500' } },
    });
    const existing = bed.dynamics.admin.listIds('contact').slice(0, 10);
    bed.campaign.admin.seedProfiles({
      records: existing.map((externalId) => ({ externalId, lastName: 'Old' })),
    });
    const { engine, alerts } = await engineWithAlerts(bed);
    expect(await engine.runUntilIdle({ timeoutMs: 60_000 })).toMatchObject({
      created: 50,
      adopted: 10,
      'dead-lettered': 0,
    });
    expect(alerts.map((a) => a.kind)).not.toContain('flow-paused');
    expect(expectConverged(bed)).toBe(60);
  });

  it('undeclared in the metadata too: profiles are looked up through the byExternalId filter, no by-key URL', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 60, seed: 83 },
      campaign: {
        profiles: 5,
        seed: 83,
        seedFile: { profile: { customKey: null } },
        behaviour: { undeclaredKeyAnswer: 'xtk-500' },
      },
    });
    const { engine, alerts } = await engineWithAlerts(bed);
    expect(await engine.runUntilIdle({ timeoutMs: 60_000 })).toMatchObject({
      created: 60,
      'dead-lettered': 0,
    });
    expect(alerts.map((a) => a.kind)).not.toContain('flow-paused');
    expect(expectConverged(bed)).toBe(60);
  });
});

describe('custom resource key column not declared', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('the table flow pauses with one alert naming the key column and the resource; declared and resumed, it syncs', async () => {
    bed = await startCustomTableBed({
      tables: [noteTable],
      campaign: { behaviour: { undeclaredKeyAnswer: 'xtk-500', undeclaredKeyResources: ['cusNote'] } },
    });
    const notes = Array.from({ length: 6 }, () =>
      String(bed!.dynamics.admin.createRow('new_note', buildNote(null)).new_noteid),
    );
    // Two notes exist in Campaign already: their creates meet a duplicate and are looked up by key.
    for (const crmId of notes.slice(0, 2)) bed.campaign.admin.insertRecord('cusNote', { crmId, text: 'old' });
    const flow = tableFlowId('new_note');

    const { runtime, engine, alerts } = await engineWithAlerts(bed);
    expect((await engine.runUntilIdle({ timeoutMs: 60_000 }))['dead-lettered']).toBe(0);
    expect(await runtime.store.deadLetters.count()).toBe(0);
    const paused = alerts.filter((a) => a.kind === 'flow-paused');
    expect(paused).toHaveLength(1);
    expect(paused[0]).toMatchObject({ severity: 'critical', subject: flow });
    expect(paused[0]!.message).toContain(
      "declare 'crmId' as an identification key of custom resource 'cusNote'",
    );
    expect(engine.control.isPaused(flow)).toBe(true);
    expect(engine.control.isPaused('contacts')).toBe(false);

    bed.campaign.admin.configure({ undeclaredKeyResources: [] });
    await engine.control.resume(flow);
    const { runtime: again, engine: resumed } = await engineWithAlerts(bed);
    expect((await resumed.runUntilIdle({ timeoutMs: 60_000 }))['dead-lettered']).toBe(0);
    expect(await again.store.deadLetters.count()).toBe(0);
    const byKey = recordsByKey(bed.campaign, 'cusNote');
    expect([...byKey.keys()].sort()).toEqual([...notes].sort());
    expect(notes.every((id) => byKey.get(id)!.values.text === 'note')).toBe(true);
  });
});
