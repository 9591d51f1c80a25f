/**
 * 5xx bursts on both sides: the sync retries (the Dynamics client and the poller for reads, the
 * engine's retry policy for Campaign writes) and converges without dead letters; a fault that
 * outlasts the attempts leaves dead letters with code, reason and attempts, which a retry clears.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncTestBed } from '../../support/sync-test-bed.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { expectConverged, foreignProfiles } from './fixtures/sync-convergence.js';

describe('5xx bursts', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('retries through bursts of 503 and 500 on both sides and converges', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 500, seed: 31 },
      campaign: { profiles: 10, seed: 31 },
      config: {
        dynamics: { pageSize: 50 },
        engine: { retry: { initialDelayMs: 50, maxDelayMs: 500, maxAttempts: 8 } },
      },
    });
    const foreign = foreignProfiles(bed);
    const { runtime, engine } = await bed.engine();
    bed.dynamics.admin.configureFaults({ errorNext: 3, errorStatus: 503 });
    bed.campaign.admin.setFaults({ errorNext: 25, errorStatus: 503 });
    await engine.start();
    for (let i = 0; i < 100 && bed.campaign.admin.stats().faults.errors < 25; i++) await sleep(100);
    // A second burst, now of 500s and on a share of the calls, while live changes flow.
    bed.campaign.admin.setFaults({ errorRate: 0.15, errorStatus: 500 });
    bed.dynamics.admin.configureFaults({ errorNext: 2, errorStatus: 500 });
    const ids = bed.dynamics.admin.listIds('contact');
    bed.dynamics.admin.updateContact(ids[0]!, { lastname: 'After-500' });
    bed.dynamics.admin.deleteContact(ids[1]!);
    bed.dynamics.admin.createContact(buildContact({ lastname: 'Created-In-Burst' }));
    for (let i = 0; i < 100 && bed.campaign.admin.stats().faults.errors < 45; i++) await sleep(100);
    bed.campaign.admin.clearFaults();
    const summary = await engine.runUntilIdle({ timeoutMs: 90_000 });

    expect(bed.dynamics.admin.stats().faults.errors).toBe(5);
    expect(bed.campaign.admin.stats().faults.errors).toBeGreaterThanOrEqual(45);
    expect(summary.retried).toBeGreaterThan(0);
    expect(summary['dead-lettered']).toBe(0);
    expect(await runtime.store.deadLetters.count()).toBe(0);
    expect(expectConverged(bed)).toBe(500);
    expect(bed.profilesByExternalId().get(ids[0]!)!.lastName).toBe('After-500');
    expect(foreignProfiles(bed)).toEqual(foreign);
  });

  it('an outage longer than the attempts leaves dead letters with code, reason and attempts; retrying them converges', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 30, seed: 32 },
      config: { engine: { retry: { initialDelayMs: 20, maxDelayMs: 50, maxAttempts: 3 } } },
    });
    const { runtime, engine } = await bed.engine();
    bed.campaign.admin.setFaults({ errorRate: 1, errorStatus: 503, pathPattern: '/profile' });
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(summary['dead-lettered']).toBe(30);
    const letters = await runtime.store.deadLetters.list({ flow: 'contacts' }, { limit: 100 });
    expect(letters.items).toHaveLength(30);
    for (const letter of letters.items) {
      expect(letter.code).toBe('CAMPAIGN_HTTP_503');
      expect(letter.attempts).toBe(3);
      expect(letter.message).toMatch(/503/);
    }
    expect(bed.campaign.admin.stats().faults.errors).toBeGreaterThanOrEqual(90);

    bed.campaign.admin.clearFaults();
    expect(await runtime.store.deadLetters.retry(letters.items.map((l) => l.id))).toBe(30);
    const again = await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(again.created).toBe(30);
    expect(await runtime.store.deadLetters.count()).toBe(0);
    expect(expectConverged(bed)).toBe(30);
  });
});
