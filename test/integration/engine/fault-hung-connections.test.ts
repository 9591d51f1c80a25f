/**
 * Hung connections: the emulators accept a request and never answer. The clients give up after
 * their configured timeout, the call is retried, and the sync converges.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SyncTestBed } from '../../support/sync-test-bed.js';
import { expectConverged } from './fixtures/sync-convergence.js';

describe('hung connections', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('times out hung Dynamics reads and Campaign writes, retries them, converges', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 200, seed: 41 },
      campaign: { seed: 41 },
      config: {
        dynamics: { pageSize: 50, timeoutMs: 800 },
        campaign: { timeoutMs: 800 },
        engine: { retry: { initialDelayMs: 50, maxDelayMs: 500, maxAttempts: 6 } },
      },
    });
    const { runtime, engine } = await bed.engine();
    // The second change-tracking page and four profile writes hang.
    bed.dynamics.admin.configureFaults({ hangNext: 1, pathPattern: '/contacts$' });
    bed.campaign.admin.setFaults({ hangNext: 4, pathPattern: '/profile' });
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });

    expect(bed.dynamics.admin.stats().faults.hung).toBe(1);
    expect(bed.campaign.admin.stats().faults.hangs).toBe(4);
    expect(summary.retried).toBeGreaterThanOrEqual(4);
    expect(summary['dead-lettered']).toBe(0);
    expect(await runtime.store.deadLetters.count()).toBe(0);
    expect(expectConverged(bed)).toBe(200);
  });
});
