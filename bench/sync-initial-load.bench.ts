/**
 * `npm run bench -- sync-initial-load`
 *
 * Initial load of 100,000 contacts under a Campaign budget of 200 calls/s. Calls are counted at
 * the Campaign emulator, which also reports the most calls it received in any sliding second and
 * any 429s. Target: wall time ≤ 1.1 × calls ÷ budget.
 *
 * The emulator does not throttle by default, like the real service (KA-16022).
 * `SYNC_BENCH_GATEWAY_LIMIT=210` puts a throttling gateway in front: on a busy machine calls
 * granted a second apart can arrive closer together, each 429 then halves the adaptive rate, and
 * the ratio suffers (one such run of 100,000 contacts on a busy machine: 100,106 calls, 32 429s,
 * 673 s, ratio 1.35).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleSyncChild, EmulatorHost, SyncChild, writeSyncConfig } from '../test/support/sync-process.js';
import { writeBenchResult } from './support/write-result.js';

const contacts = Number(process.env.SYNC_BENCH_CONTACTS ?? 100_000);
const budget = 200;
const gatewayLimit =
  process.env.SYNC_BENCH_GATEWAY_LIMIT === undefined ? null : Number(process.env.SYNC_BENCH_GATEWAY_LIMIT);

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dcsync-bench-'));
  const script = await bundleSyncChild();
  const host = await EmulatorHost.start({
    dynamics: { contacts, seed: 11 },
    campaign: { seed: 11, callsPerSecond: gatewayLimit, retryAfterSec: null },
  });
  try {
    const configPath = writeSyncConfig(
      dir,
      host.endpoints,
      { url: `sqlite:${join(dir, 'state.db')}` },
      {
        dynamics: { pageSize: 5000 },
        campaign: { budget: { callsPerSecond: budget, callsPerDay: 10_000_000 } },
        engine: { workers: 16, pollIntervalMs: 1000 },
      },
    );
    const started = performance.now();
    const child = SyncChild.spawn(script, configPath, { untilIdle: true });
    child.sampleRss(500);
    const exit = await child.exited;
    const wallSeconds = (performance.now() - started) / 1000;
    if (exit.code !== 0) throw new Error(`sync failed (${exit.code}): ${exit.stderr.slice(-2000)}`);
    const summary = JSON.parse(exit.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    const stats = await host.call<{
      campaign: { requests: number; throttled: number; maxCallsInAnySecond: number };
    }>('stats');
    const profiles = await host.call<{ total: number }>('countProfiles');
    const calls = stats.campaign.requests;
    const idealSeconds = calls / budget;
    const ratio = wallSeconds / idealSeconds;
    writeBenchResult('sync-initial-load', {
      setup: `initial load of ${contacts} contacts; Campaign budget ${budget} calls/s; ${gatewayLimit === null ? 'the emulator does not throttle (as the real service)' : `the emulator throttles above ${gatewayLimit} calls/s with a bare 429`}; dcsync run --until-idle in its own process; wall time from process start to exit`,
      targets: { wallOverIdeal: '<= 1.1 (ideal = calls / budget)' },
      met: ratio <= 1.1 && profiles.total === contacts,
      contacts,
      profiles: profiles.total,
      created: summary.created,
      deadLettered: summary['dead-lettered'],
      campaignCalls: calls,
      campaign429s: stats.campaign.throttled,
      maxCallsInAnySecond: stats.campaign.maxCallsInAnySecond,
      wallSeconds: Math.round(wallSeconds * 10) / 10,
      idealSeconds: Math.round(idealSeconds * 10) / 10,
      ratio: Math.round(ratio * 1000) / 1000,
      peakRssMiB: Math.round(child.peakRssBytes / 2 ** 20),
    });
  } finally {
    await host.close();
    script.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
