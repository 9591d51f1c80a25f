/**
 * Delta-token expiry: the saved delta link dies (retention passed) while contacts are created,
 * updated and deleted. The sync re-baselines — full read, compare with the key map — applies the
 * differences including the deletes it never saw as changes, and raises a 'delta-rebaseline' alert.
 * The HTTP status Dataverse sends with ExpiredVersionStamp is undocumented: the emulator answers
 * it with 400, 410 and 422 in turn. A delta link refused with an undocumented 4xx is given up the
 * same way (never retried forever), and pauses the flow if the next delta link is refused again.
 * A paged delta whose later pages lack the `/$delta` context suffix stays a delta (issue 18).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/core/ports/alert-sink.js';
import { createSyncEngine } from '../../../src/cli/runtime/start-sync.js';
import type { SyncRuntime } from '../../../src/cli/runtime/sync-runtime.js';
import type { RunSummary, SyncEngine } from '../../../src/engine/sync-engine.js';
import { SyncTestBed, type StoreKind } from '../../support/sync-test-bed.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { readCursor } from '../../support/rebaseline-helpers.js';
import { expectConverged, foreignProfiles, profilesByKey } from './fixtures/sync-convergence.js';

interface Missed {
  ids: string[];
  gone: string[];
  created: string;
}

/** A first sync of 300 contacts, then 12 deletes, an update and a create that the next read must find. */
async function syncThenChange(bed: SyncTestBed): Promise<Missed> {
  const first = await bed.engine();
  expect((await first.engine.runUntilIdle({ timeoutMs: 60_000 })).created).toBe(300);
  const ids = bed.dynamics.admin.listIds('contact');
  const gone = ids.slice(0, 12);
  for (const id of gone) bed.dynamics.admin.deleteContact(id);
  bed.dynamics.admin.updateContact(ids[20]!, { lastname: 'Rebaselined' });
  const created = bed.dynamics.admin.createContact(buildContact({ lastname: 'New-While-Dead' }));
  return { ids, gone, created: String(created.contactid) };
}

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

/** Everything missed was applied by a re-baseline run, with no dead letter. */
async function expectRebaselined(
  bed: SyncTestBed,
  runtime: SyncRuntime,
  summary: RunSummary,
  missed: Missed,
): Promise<void> {
  expect(summary.deleted).toBe(12);
  expect(summary.created).toBe(1);
  expect(summary['dead-lettered']).toBe(0);
  expect(await runtime.store.deadLetters.count()).toBe(0);
  expect(expectConverged(bed)).toBe(289);
  const byKey = profilesByKey(bed);
  expect(missed.gone.filter((id) => byKey.has(id))).toEqual([]);
  expect(byKey.get(missed.ids[20]!)![0]!.lastName).toBe('Rebaselined');
  expect(byKey.has(missed.created)).toBe(true);
  // The re-baseline is a run: its total is the rows read plus the deletes staged for the records
  // it did not see, and it ended once all of them were written.
  const [run] = (await runtime.store.runs.list({ kind: 'rebaseline' }, {})).items;
  expect(run).toMatchObject({
    flow: 'contacts',
    trigger: 'cursor-expired',
    outcome: 'succeeded',
    total: 289 + 12,
    counts: { read: 289 + 12, created: 1, deleted: 12, deadLettered: 0 },
  });
  const c = run!.counts;
  expect(c.created + c.updated + c.adopted + c.deleted + c.unchanged).toBe(289 + 12);
}

describe('delta-token expiry', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it.each([400, 410, 422])(
    'ExpiredVersionStamp answered with %i: re-baselines, applies updates, creates and the missed deletes, and alerts',
    async (status) => {
      bed = await SyncTestBed.start({
        dynamics: { contacts: 300, seed: 61, expiredTokenStatus: status },
        campaign: { profiles: 10, seed: 61 },
        config: { dynamics: { pageSize: 100 } },
      });
      const foreign = foreignProfiles(bed);
      const missed = await syncThenChange(bed);
      bed.dynamics.admin.expireDeltaTokens();
      const statsBefore = bed.dynamics.admin.stats();

      const { runtime, engine, alerts } = await engineWithAlerts(bed);
      const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });

      const statsAfter = bed.dynamics.admin.stats();
      // The expired link was refused (with the configured status) and the table read again in full (289 rows, 3 pages).
      const refused =
        (statsAfter.byRouteAndStatus[`GET contacts ${status}`] ?? 0) -
        (statsBefore.byRouteAndStatus[`GET contacts ${status}`] ?? 0);
      expect(refused).toBeGreaterThanOrEqual(1);
      expect(
        (statsAfter.byRoute['GET contacts'] ?? 0) - (statsBefore.byRoute['GET contacts'] ?? 0),
      ).toBeGreaterThanOrEqual(4);
      expect(alerts.map((a) => a.kind)).toContain('delta-rebaseline');
      const alert = alerts.find((a) => a.kind === 'delta-rebaseline')!;
      expect(alert.subject).toBe('contacts');
      expect(alert.message).toContain('expired');
      await expectRebaselined(bed, runtime, summary, missed);
      expect(foreignProfiles(bed)).toEqual(foreign);
    },
  );
});

describe('delta link refused with an undocumented 4xx', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('once: re-baselines with an alert naming the answer, then follows deltas again', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 300, seed: 62 },
      campaign: { profiles: 10, seed: 62 },
      config: { dynamics: { pageSize: 100 } },
    });
    const missed = await syncThenChange(bed);
    bed.dynamics.admin.settings.deltaLinkRefusal = {
      status: 422,
      code: '0x80040203',
      message: 'Invalid argument.',
      times: 1,
    };
    const { runtime, engine, alerts } = await engineWithAlerts(bed);
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });

    const rebaseline = alerts.filter((a) => a.kind === 'delta-rebaseline');
    expect(rebaseline).toHaveLength(1);
    expect(rebaseline[0]!.message).toContain('not the documented expiry');
    expect(rebaseline[0]!.message).toContain('HTTP 422 (0x80040203)');
    expect(alerts.map((a) => a.kind)).not.toContain('flow-paused');
    await expectRebaselined(bed, runtime, summary, missed);
    expect(engine.control.isPaused('contacts')).toBe(false);
    // The re-baseline's delta link was followed and completed: the refusal count is gone.
    const cursor = await readCursor(runtime, 'contacts');
    expect(cursor).toMatchObject({ phase: 'delta' });
    expect(cursor!.refusedRebaselines).toBeUndefined();
  });

  it.each<StoreKind>(['sqlite', 'postgres'])(
    'every time (%s): one re-baseline, then the flow pauses with the answer instead of re-reading forever',
    async (store) => {
      bed = await SyncTestBed.start({
        store,
        dynamics: { contacts: 300, seed: 63 },
        campaign: { profiles: 10, seed: 63 },
        config: { dynamics: { pageSize: 100 } },
      });
      const missed = await syncThenChange(bed);
      bed.dynamics.admin.settings.deltaLinkRefusal = { status: 410, code: '', message: 'Gone.' };
      const before = bed.dynamics.admin.stats();
      const { runtime, engine, alerts } = await engineWithAlerts(bed);
      await engine.runUntilIdle({ timeoutMs: 60_000 });

      expect(alerts.filter((a) => a.kind === 'delta-rebaseline')).toHaveLength(1);
      const paused = alerts.filter((a) => a.kind === 'flow-paused');
      expect(paused).toHaveLength(1);
      expect(paused[0]).toMatchObject({ severity: 'critical', subject: 'contacts' });
      expect(paused[0]!.message).toContain('HTTP 410');
      expect(paused[0]!.message).toContain('dcsync flow resume --flow contacts');
      expect(engine.control.get('contacts')).toMatchObject({ status: 'paused' });
      expect(engine.control.get('contacts').reason).toContain('refused the delta link again');
      // Two refused delta links and one full read (3 pages) — not a loop of full reads.
      const after = bed.dynamics.admin.stats();
      const grew = (key: string): number =>
        (after.byRouteAndStatus[key] ?? 0) - (before.byRouteAndStatus[key] ?? 0);
      expect(grew('GET contacts 410')).toBe(2);
      expect(grew('GET contacts 200')).toBe(3);
      expect(await runtime.store.deadLetters.count()).toBe(0);

      // Once Dataverse accepts the link again, resuming follows it and the flow carries on: the
      // re-baseline's work (waiting while paused) and a new change are written.
      bed.dynamics.admin.settings.deltaLinkRefusal = null;
      await engine.control.resume('contacts');
      bed.dynamics.admin.updateContact(missed.ids[30]!, { lastname: 'After-Resume' });
      const { engine: again } = await engineWithAlerts(bed);
      expect((await again.runUntilIdle({ timeoutMs: 60_000 }))['dead-lettered']).toBe(0);
      expect(await runtime.store.deadLetters.count()).toBe(0);
      expect(expectConverged(bed)).toBe(289);
      const byKey = profilesByKey(bed);
      expect(missed.gone.filter((id) => byKey.has(id))).toEqual([]);
      expect(byKey.has(missed.created)).toBe(true);
      expect(byKey.get(missed.ids[30]!)![0]!.lastName).toBe('After-Resume');
      expect((await readCursor(runtime, 'contacts'))!.refusedRebaselines).toBeUndefined();
    },
  );
});

describe('paged delta whose later pages lack the /$delta suffix', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('is read as a delta: every change applied, no re-baseline, nothing deleted as unseen', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 300, seed: 64, laterDeltaPagesContext: 'plain' },
      campaign: { profiles: 10, seed: 64 },
      config: { dynamics: { pageSize: 100 } },
    });
    const first = await bed.engine();
    expect((await first.engine.runUntilIdle({ timeoutMs: 60_000 })).created).toBe(300);
    const ids = bed.dynamics.admin.listIds('contact');
    for (const id of ids.slice(0, 40)) bed.dynamics.admin.updateContact(id, { lastname: 'Paged' });
    for (let i = 0; i < 170; i++) bed.dynamics.admin.createContact(buildContact({ lastname: 'Paged-New' }));
    for (const id of ids.slice(290)) bed.dynamics.admin.deleteContact(id);
    const before = bed.dynamics.admin.stats();

    const { runtime, engine, alerts } = await engineWithAlerts(bed);
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });

    // 220 changes in pages of 100: three delta pages, the later two without the suffix.
    const after = bed.dynamics.admin.stats();
    expect(
      (after.byRoute['GET contacts'] ?? 0) - (before.byRoute['GET contacts'] ?? 0),
    ).toBeGreaterThanOrEqual(3);
    expect(summary).toMatchObject({ created: 170, updated: 40, deleted: 10, 'dead-lettered': 0 });
    expect(alerts.map((a) => a.kind)).not.toContain('delta-rebaseline');
    expect((await runtime.store.runs.list({ kind: 'rebaseline' }, {})).items).toEqual([]);
    expect(expectConverged(bed)).toBe(460);
  });
});
