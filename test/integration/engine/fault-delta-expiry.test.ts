/**
 * Delta-token expiry: the saved delta link dies (retention passed) while contacts are created,
 * updated and deleted. The sync re-baselines — full read, compare with the key map — applies the
 * differences including the deletes it never saw as changes, and raises a 'delta-rebaseline' alert.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/core/ports/alert-sink.js';
import { createSyncEngine } from '../../../src/cli/runtime/start-sync.js';
import { SyncTestBed } from '../../support/sync-test-bed.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { expectConverged, foreignProfiles, profilesByKey } from './fixtures/sync-convergence.js';

describe('delta-token expiry', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('re-baselines: applies updates, creates and the missed deletes, and alerts', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 300, seed: 61 },
      campaign: { profiles: 10, seed: 61 },
      config: { dynamics: { pageSize: 100 } },
    });
    const foreign = foreignProfiles(bed);
    const first = await bed.engine();
    expect((await first.engine.runUntilIdle({ timeoutMs: 60_000 })).created).toBe(300);

    const ids = bed.dynamics.admin.listIds('contact');
    const gone = ids.slice(0, 12);
    for (const id of gone) bed.dynamics.admin.deleteContact(id);
    bed.dynamics.admin.updateContact(ids[20]!, { lastname: 'Rebaselined' });
    const created = bed.dynamics.admin.createContact(buildContact({ lastname: 'New-While-Dead' }));
    bed.dynamics.admin.expireDeltaTokens();
    const statsBefore = bed.dynamics.admin.stats();

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
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });

    const statsAfter = bed.dynamics.admin.stats();
    // The expired link was refused (400) and the table read again in full (289 rows, 3 pages).
    const refused =
      (statsAfter.byRouteAndStatus['GET contacts 400'] ?? 0) -
      (statsBefore.byRouteAndStatus['GET contacts 400'] ?? 0);
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(
      (statsAfter.byRoute['GET contacts'] ?? 0) - (statsBefore.byRoute['GET contacts'] ?? 0),
    ).toBeGreaterThanOrEqual(4);
    expect(alerts.map((a) => a.kind)).toContain('delta-rebaseline');
    expect(alerts.find((a) => a.kind === 'delta-rebaseline')!.subject).toBe('contacts');
    expect(summary.deleted).toBe(12);
    expect(summary.created).toBe(1);
    expect(summary['dead-lettered']).toBe(0);
    expect(await runtime.store.deadLetters.count()).toBe(0);
    expect(expectConverged(bed)).toBe(289);
    const byKey = profilesByKey(bed);
    expect(gone.filter((id) => byKey.has(id))).toEqual([]);
    expect(byKey.get(ids[20]!)![0]!.lastName).toBe('Rebaselined');
    expect(byKey.has(String(created.contactid))).toBe(true);
    expect(foreignProfiles(bed)).toEqual(foreign);
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
  });
});
