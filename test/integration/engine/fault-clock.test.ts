/**
 * Clock faults: the sync's clock jumps an hour ahead in the middle of the initial load (a VM
 * suspended and resumed, an NTP step) and then steps a few seconds back. Every lease in flight
 * expires at once and is taken over; retries are scheduled across the jumps. Nothing may be lost,
 * duplicated or dead-lettered (I1, I3, I4).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Redactor } from '../../../src/logging/redactor.js';
import { openSyncRuntime } from '../../../src/cli/runtime/sync-runtime.js';
import { createSyncEngine } from '../../../src/cli/runtime/start-sync.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { SyncTestBed, storeKinds } from '../../support/sync-test-bed.js';

describe.each(storeKinds)('clock faults (%s store)', (store) => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('a jump an hour ahead mid-load, then a step back: converges exactly', async () => {
    bed = await SyncTestBed.start({
      store,
      dynamics: { contacts: 2000, seed: 31 },
      config: {
        engine: { leaseMs: 30_000, retry: { initialDelayMs: 20, maxDelayMs: 500, maxAttempts: 20 } },
      },
    });
    // Campaign answers slowly, so the jump lands while many writes are in flight.
    bed.campaign.admin.setFaults({ latencyMs: 20, pathPattern: 'profileAndServices' });
    let offsetMs = 0;
    const runtime = await openSyncRuntime(bed.loadConfig(), new Redactor(), {
      clock: { now: () => Date.now() + offsetMs },
    });
    bed.runtimes.push(runtime);
    const engine = await createSyncEngine(runtime);
    const created = () =>
      bed!.campaign.admin.listRecords('profile').filter((p) => p.values.externalId).length;
    await engine.start();
    try {
      await expect.poll(created, { timeout: 30_000, interval: 20 }).toBeGreaterThan(300);
      offsetMs = 3_600_000;
      await expect.poll(created, { timeout: 30_000, interval: 20 }).toBeGreaterThan(1000);
      bed.dynamics.admin.updateContact(bed.dynamics.admin.listIds('contact')[0]!, { lastname: 'AfterJump' });
      bed.dynamics.admin.createContact(buildContact({ lastname: 'BornAfterJump' }));
      offsetMs = 3_600_000 - 5_000;
      bed.campaign.admin.setFaults({ latencyMs: 0 });
    } finally {
      await engine.stop();
    }
    const summary = await (await createSyncEngine(runtime)).runUntilIdle({ timeoutMs: 120_000 });
    expect(summary['dead-lettered']).toBe(0);
    const contacts = bed.dynamics.admin.listIds('contact');
    const profiles = bed.campaign.admin.listRecords('profile').filter((p) => p.values.externalId);
    expect(new Set(profiles.map((p) => p.values.externalId)).size).toBe(profiles.length);
    expect(profiles).toHaveLength(contacts.length);
    const byKey = bed.profilesByExternalId();
    for (const id of contacts)
      expect(byKey.get(id)?.lastName ?? null).toBe(bed.dynamics.admin.getContact(id)!.lastname ?? null);
    expect(await runtime.store.deadLetters.count()).toBe(0);
  }, 180_000);
});
