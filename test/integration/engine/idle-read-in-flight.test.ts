/**
 * `runUntilIdle` stops only once the sources are caught up as of after its last check: a poller's
 * `caughtUp` is what its last read found, so a change that a read still in flight (here: a slow
 * Dataverse) is bringing back must be staged and written before the run says it is idle.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SyncTestBed } from '../../support/sync-test-bed.js';

describe('runUntilIdle with a delta read in flight', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('waits for the read and writes what it brings', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 5, seed: 41 },
      campaign: { profiles: 0, seed: 41 },
    });
    const { engine } = await bed.engine();
    await engine.start();
    // The load is done and the poller caught up (its last read found nothing new).
    while (!(await engine.isIdle())) await new Promise((r) => setTimeout(r, 50));
    expect(bed.profilesByExternalId().size).toBe(5);

    // Every read of Dataverse now takes longer than two of the run's idle checks (200 ms apart).
    bed.dynamics.admin.configureFaults({ latencyMs: 1500 });
    const [id] = bed.dynamics.admin.listIds('contact');
    bed.dynamics.admin.updateContact(id!, { lastname: 'Read-In-Flight' });
    await engine.runUntilIdle({ timeoutMs: 60_000 });

    expect(bed.profilesByExternalId().get(id!)!.lastName).toBe('Read-In-Flight');
  });
});
