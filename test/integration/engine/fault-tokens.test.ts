/**
 * Token expiry and revocation on both sides while the sync runs: the clients fetch a new token
 * and repeat the call; nothing is lost, duplicated or dead-lettered.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncTestBed } from '../../support/sync-test-bed.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { expectConverged } from './fixtures/sync-convergence.js';

describe('token expiry and revocation', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('renews expired and revoked tokens of Dynamics and Campaign mid-run', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 400, seed: 51 },
      campaign: { seed: 51 },
      config: { dynamics: { pageSize: 50 }, campaign: { budget: { callsPerSecond: 300 } } },
    });
    const { runtime, engine } = await bed.engine();
    await engine.start();
    const waitForProfiles = async (n: number): Promise<void> => {
      for (let i = 0; i < 200 && bed!.profilesByExternalId().size < n; i++) await sleep(50);
    };
    const tokens = (): [number, number] => [
      bed!.dynamics.admin.stats().tokensIssued,
      bed!.campaign.admin.stats().tokensIssued,
    ];
    const before = tokens();
    await waitForProfiles(50);
    bed.dynamics.admin.expireTokens();
    bed.campaign.admin.expireTokens();
    await waitForProfiles(150);
    bed.dynamics.admin.revokeTokens();
    bed.campaign.admin.revokeTokens();
    const ids = bed.dynamics.admin.listIds('contact');
    bed.dynamics.admin.updateContact(ids[3]!, { firstname: 'Renewed' });
    bed.dynamics.admin.deleteContact(ids[4]!);
    bed.dynamics.admin.createContact(buildContact({ lastname: 'After-Revocation' }));
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });

    const after = tokens();
    expect(after[0] - before[0]).toBeGreaterThanOrEqual(2);
    expect(after[1] - before[1]).toBeGreaterThanOrEqual(2);
    expect(bed.campaign.admin.stats().byStatus['401'] ?? 0).toBeGreaterThan(0);
    expect(bed.dynamics.admin.stats().byStatus['401'] ?? 0).toBeGreaterThan(0);
    expect(summary['dead-lettered']).toBe(0);
    expect(await runtime.store.deadLetters.count()).toBe(0);
    expect(expectConverged(bed)).toBe(400);
    expect(bed.profilesByExternalId().get(ids[3]!)!.firstName).toBe('Renewed');
  });
});
