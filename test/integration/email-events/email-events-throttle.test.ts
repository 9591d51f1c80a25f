/**
 * Flow F6 in a Dataverse 429 storm (issue #20, "Must show"): the Dynamics emulator's
 * service-protection limits are scaled down (requests and combined execution time per window, an
 * execution cost per write) and a burst of forced 429s is queued, then a burst of e-mail events is
 * written. The flow slows down — every 429's Retry-After holds the client, and a throttled write
 * gives its attempt back — and ends with every event written once and no dead letter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityCounts, activityTablesSeed } from '../../support/email-event-fixtures.js';
import { SyncTestBed } from '../../support/sync-test-bed.js';

let bed: SyncTestBed;
let profiles: string[];

beforeAll(async () => {
  bed = await SyncTestBed.start({
    dynamics: { contacts: 20, seed: 29, seedData: activityTablesSeed() },
    campaign: { seed: 29, profiles: 0 },
    configFor: ({ campaign }) => ({
      // The client knows the tenant's limits, as it knows Dataverse's real ones by default.
      dynamics: { serviceProtection: { requests: 15, executionTimeMs: 400, windowMs: 1000 } },
      engine: { workers: 16, retry: { initialDelayMs: 50, maxDelayMs: 500, maxAttempts: 3 } },
      flows: {
        emailEvents: {
          enabled: true,
          journal: { url: campaign.journalUrl, imsOrgId: campaign.imsOrgId, limit: 500 },
          pollIntervalMs: 200,
          batchSize: 50,
        },
      },
    }),
  });
  const { engine } = await bed.engine();
  await engine.runUntilIdle({ timeoutMs: 60_000 });
  profiles = [...bed.profilesByExternalId().values()]
    .filter((p) => typeof p.email === 'string' && p.email !== '')
    .map((p) => String(p.PKey));
  expect(profiles.length).toBeGreaterThan(10);
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

describe('flow F6 in a Dataverse 429 storm', () => {
  it('slows down on every limit and ends with every event written, no dead letter', async () => {
    const dynamics = bed.dynamics.admin;
    // About 200 writes a second fit the execution-time window, 15 requests a second the request
    // window; a client that ignored Retry-After would be refused for ever longer (the emulator
    // lengthens the wait of every early return).
    dynamics.configureLimits({ requests: 15, executionTimeMs: 400, windowMs: 1000, writeExecutionMs: 2 });
    dynamics.throttleNext(8, 1, 'requests');
    dynamics.resetStats();
    const burst = bed.campaign.admin.burstEvents({ count: 1500, profiles, seed: 3 });

    const { runtime, engine } = await bed.engine();
    const summary = await engine.runUntilIdle({ timeoutMs: 120_000 });

    const stats = dynamics.stats();
    // The storm happened: forced 429s, and the scaled-down limits held the client (it paces to
    // both windows from the server's answers, so the limits themselves may refuse few or none).
    expect(stats.throttled).toBeGreaterThanOrEqual(8);
    const client = runtime.dynamics.client.stats();
    expect(client.throttled).toBe(stats.throttled);
    expect(client.throttledBy.requests).toBeGreaterThanOrEqual(8);

    const landed = activityCounts(dynamics);
    expect(landed.rows).toEqual(burst.counts);
    expect(landed.distinctEventIds).toBe(1500);
    expect(summary['dead-lettered']).toBe(0);
    expect(await runtime.store.deadLetters.count()).toBe(0);
    expect(engine.stats.byFlow().emailEvents).toMatchObject({ created: 1500 });
  }, 150_000);
});
