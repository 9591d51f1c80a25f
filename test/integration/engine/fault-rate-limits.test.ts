/**
 * 429 storms on both sides during an initial load and live changes: Dynamics service protection
 * (429 with Retry-After) and Campaign throttling (429 without Retry-After). The sync must wait them
 * out — no dead letters, throttling uses up no attempts — and converge; only a refusal longer than
 * `engine.retry.maxThrottledMs` turns records into dead letters.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncTestBed } from '../../support/sync-test-bed.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { expectConverged, foreignProfiles } from './fixtures/sync-convergence.js';

describe('429 storms', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('Dynamics service protection: waits out Retry-After on the initial read and on deltas', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 600, seed: 21 },
      campaign: { profiles: 10, seed: 21 },
      config: { dynamics: { pageSize: 50 } },
    });
    const foreign = foreignProfiles(bed);
    const { runtime, engine } = await bed.engine();
    // A burst on the initial read: 4 requests answered 429 with Retry-After 1 s.
    bed.dynamics.admin.throttleNext(4, 1);
    await engine.start();
    const ids = bed.dynamics.admin.listIds('contact');
    for (let i = 0; i < 100 && bed.dynamics.admin.stats().throttled < 4; i++) await sleep(100);
    bed.dynamics.admin.updateContact(ids[0]!, { lastname: 'Throttled' });
    bed.dynamics.admin.deleteContact(ids[1]!);
    bed.dynamics.admin.createContact(buildContact({ lastname: 'During-Storm' }));
    // A second burst while deltas are followed.
    bed.dynamics.admin.throttleNext(3, 1, 'executionTime');
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });

    const stats = bed.dynamics.admin.stats();
    expect(stats.throttled).toBeGreaterThanOrEqual(7);
    expect(stats.byRouteAndStatus['GET contacts 429'] ?? 0).toBeGreaterThanOrEqual(7);
    expect(summary['dead-lettered']).toBe(0);
    expect(await runtime.store.deadLetters.count()).toBe(0);
    expect(expectConverged(bed)).toBe(600);
    expect(bed.profilesByExternalId().get(ids[0]!)!.lastName).toBe('Throttled');
    expect(foreignProfiles(bed)).toEqual(foreign);
  });

  it('Campaign throttling without Retry-After: backs off and adapts, loses and duplicates nothing', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 400, seed: 22 },
      // The gateway refuses more than 60 calls/s with a bare 429; the sync's budget allows far more.
      campaign: { profiles: 10, seed: 22, callsPerSecond: 60, retryAfterSec: null },
      config: {
        campaign: { budget: { callsPerSecond: 1000, adaptive: true } },
        // Throttling does not use up attempts: with only 2, any record throttled twice would
        // otherwise be a dead letter.
        engine: { retry: { initialDelayMs: 100, maxDelayMs: 2000, maxAttempts: 2 } },
      },
    });
    const foreign = foreignProfiles(bed);
    const { runtime, engine } = await bed.engine();
    await engine.start();
    const ids = bed.dynamics.admin.listIds('contact');
    for (let i = 0; i < 50 && bed.profilesByExternalId().size < 50; i++) await sleep(100);
    bed.dynamics.admin.updateContact(ids[5]!, { firstname: 'Storm' });
    bed.dynamics.admin.deleteContact(ids[6]!);
    const summary = await engine.runUntilIdle({ timeoutMs: 90_000 });

    const stats = bed.campaign.admin.stats();
    expect(stats.throttled).toBeGreaterThan(0);
    expect(stats.byStatus['429'] ?? 0).toBe(stats.throttled);
    expect(summary.retried).toBeGreaterThan(0);
    expect(summary['dead-lettered']).toBe(0);
    expect(await runtime.store.deadLetters.count()).toBe(0);
    expect(expectConverged(bed)).toBe(399);
    expect(bed.profilesByExternalId().get(ids[5]!)!.firstName).toBe('Storm');
    expect(foreignProfiles(bed)).toEqual(foreign);
  });

  it('dead-letters records throttled longer than maxThrottledMs; once it ends, a retry converges', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 30, seed: 23 },
      // One call a second gets through; the budget's adaptive floor stays far above that.
      campaign: { profiles: 5, seed: 23, callsPerSecond: 1, retryAfterSec: null },
      config: {
        campaign: { budget: { callsPerSecond: 1000, adaptive: true } },
        engine: { retry: { initialDelayMs: 100, maxDelayMs: 400, maxAttempts: 2, maxThrottledMs: 2000 } },
      },
    });
    const foreign = foreignProfiles(bed);
    const { runtime, engine } = await bed.engine();
    await engine.start();
    const first = await engine.runUntilIdle({ timeoutMs: 30_000 });

    const { items } = await runtime.store.deadLetters.list({}, { limit: 100 });
    expect(first['dead-lettered']).toBe(items.length);
    expect(items.length).toBeGreaterThan(0);
    expect(items.length + bed.profilesByExternalId().size).toBe(30);
    for (const letter of items) {
      expect(letter.code).toBe('CAMPAIGN_RATE_LIMITED');
      expect(letter.message).toContain('longer than engine.retry.maxThrottledMs');
      expect(letter.lastFailedAt - letter.firstFailedAt).toBeGreaterThanOrEqual(2000);
    }

    bed.campaign.admin.setLimits({ callsPerSecond: null });
    expect(await runtime.store.deadLetters.retry(items.map((d) => d.id))).toBe(items.length);
    const second = await engine.runUntilIdle({ timeoutMs: 30_000 });
    // The summary counts since start: nothing more was dead-lettered.
    expect(second['dead-lettered']).toBe(first['dead-lettered']);
    expect(await runtime.store.deadLetters.count()).toBe(0);
    expect(expectConverged(bed)).toBe(30);
    expect(foreignProfiles(bed)).toEqual(foreign);
  });
});
