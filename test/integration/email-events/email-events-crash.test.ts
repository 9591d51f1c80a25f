/**
 * Flow F6 under `kill -9` (issue #20, "Must show"): the sync runs as a separate `dcsync run`
 * process and is killed several times while it works through a burst of 20,000 e-mail events; the
 * last process runs until idle. At the end every event of an enabled type is exactly one activity
 * in Dynamics — none lost (the journal position is committed with the staged events), none
 * duplicated (the activity id derives from the event id, and the event id column has an alternate
 * key) — with no dead letters.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { readCheckpoint } from '../../../src/engine/checkpoints.js';
import { emailJournalCheckpoint } from '../../../src/engine/email-events/email-event-poller.js';
import { activityCounts, activityTablesSeed, activityTotal } from '../../support/email-event-fixtures.js';
import { bundleSyncChild, SyncChild, type SyncChildScript } from '../../support/sync-process.js';
import { SyncTestBed } from '../../support/sync-test-bed.js';

const burstSize = 20_000;
/** Kill when this many activities have landed (work done, not time, so every kill lands mid-burst). */
const killAt = [2_500, 7_000, 12_000, 16_000];

let script: SyncChildScript;
let bed: SyncTestBed | undefined;
beforeAll(async () => {
  script = await bundleSyncChild();
});
afterAll(async () => {
  script?.dispose();
  await bed?.close();
});

async function runUntilIdle(configPath: string): Promise<void> {
  const child = SyncChild.spawn(script, configPath, { untilIdle: true });
  const timeout = setTimeout(() => void child.kill('SIGKILL'), 60_000);
  const exit = await child.exited;
  clearTimeout(timeout);
  expect(exit.code, exit.stderr.slice(-3000)).toBe(0);
}

describe('flow F6: kill -9 during a burst of 20,000 events', () => {
  it('every event of an enabled type is exactly one activity: none lost, none duplicated, no dead letters', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 40, seed: 20, seedData: activityTablesSeed() },
      campaign: { seed: 20, profiles: 0 },
      configFor: ({ campaign }) => ({
        // Short leases and duty TTL: a killed process's items and journal duty are taken over quickly.
        engine: { workers: 64, leaseMs: 1500, pollIntervalMs: 200 },
        workers: { dutyTtlMs: 1500, heartbeatMs: 500 },
        logging: { level: 'info' },
        flows: {
          emailEvents: {
            enabled: true,
            // Send too: every event of the burst is of an enabled type (its bounces are hard).
            types: { send: true },
            journal: { url: campaign.journalUrl, imsOrgId: campaign.imsOrgId, limit: 500 },
            pollIntervalMs: 200,
            batchSize: 50,
          },
        },
      }),
    });
    // The contacts reach Campaign first (their profiles carry the externalId events are matched by).
    await runUntilIdle(bed.configPath);
    const synced = [...bed.profilesByExternalId().values()];
    expect(synced).toHaveLength(40);
    // Campaign mails only profiles with an address.
    const profiles = synced
      .filter((p) => typeof p.email === 'string' && p.email !== '')
      .map((p) => String(p.PKey));
    expect(profiles.length).toBeGreaterThan(20);

    const burst = bed.campaign.admin.burstEvents({
      count: burstSize,
      profiles,
      mix: { send: 2, open: 5, click: 2, bounce: 1 },
      seed: 7,
    });
    const expected = burst.counts;
    expect(expected.send + expected.open + expected.click + expected.bounce).toBe(burstSize);

    const dynamics = bed.dynamics.admin;
    const landedAtKill: number[] = [];
    for (const target of killAt) {
      const child = SyncChild.spawn(script, bed.configPath);
      const started = await Promise.race([child.running.then(() => true), sleep(20_000).then(() => false)]);
      if (!started) {
        const exit = await child.kill();
        throw new Error(`sync child did not start: ${exit.stderr.slice(-2000)}`);
      }
      for (let waited = 0; activityTotal(dynamics) < target && waited < 30_000; waited += 20) await sleep(20);
      const exit = await child.kill('SIGKILL');
      expect(exit.signal, `the run ended by itself: ${exit.stderr.slice(-1000)}`).toBe('SIGKILL');
      landedAtKill.push(activityTotal(dynamics));
    }
    // Every kill landed mid-burst, each after more work than the one before.
    expect(landedAtKill.every((n, i) => n < burstSize && (i === 0 || n > landedAtKill[i - 1]!))).toBe(true);

    await runUntilIdle(bed.configPath);

    const landed = activityCounts(dynamics);
    expect(landed.rows).toEqual(expected);
    expect(landed.distinctEventIds).toBe(burstSize);
    // One activity party per activity: a crash between a row and its party never halves a write.
    const parties = dynamics.countRows('activityparty');
    expect(parties).toBe(burstSize);

    const config = bed.loadConfig();
    const store = await openStateStore(config.store.url, { migrate: false });
    try {
      expect(await store.deadLetters.count()).toBe(0);
      const state = await readCheckpoint(store.checkpoints, emailJournalCheckpoint, 'emailEvents', 0);
      expect(state.position).toBe(bed.campaign.admin.journalStatus().latestPosition);
      // Pages read again after a kill are counted again: at least the burst was read.
      expect(state.counts.read).toBeGreaterThanOrEqual(burstSize);
    } finally {
      await store.close();
    }
  }, 150_000);
});
