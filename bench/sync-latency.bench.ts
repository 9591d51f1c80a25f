/**
 * `npm run bench -- sync-latency`
 *
 * End-to-end latency at 50 changes/s: a contact update in Dynamics → the new value visible in
 * Campaign, measured inside the emulator process (it makes the change and watches the profile).
 * The sync runs as `dcsync run` in a process of its own, after its initial load.
 * - webhook mode: the Dynamics emulator notifies the service's `POST /webhooks/dynamics`, which
 *   triggers an immediate delta read (poll interval left at 5 s). Targets p50 ≤ 2 s, p99 ≤ 10 s.
 * - polling mode: poll interval 5 s, no webhook. Targets p50 ≤ 5 s, p99 ≤ 15 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bundleSyncChild,
  EmulatorHost,
  SyncChild,
  writeSyncConfig,
  type SyncChildScript,
} from '../test/support/sync-process.js';
import { latencySummary, sleep, type LatencySummary } from './support/samples.js';
import { writeBenchResult } from './support/write-result.js';

const contacts = 2000;
const changesPerSecond = 50;
const durationMs = Number(process.env.SYNC_BENCH_DURATION_MS ?? 60_000);
const webhookKey = 'bench-webhook-key-0123456789';

type ModeResult = LatencySummary;

async function measure(script: SyncChildScript, mode: 'webhook' | 'polling'): Promise<ModeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'dcsync-bench-'));
  const host = await EmulatorHost.start({ dynamics: { contacts, seed: 17 }, campaign: { seed: 17 } });
  try {
    const configPath = writeSyncConfig(
      dir,
      host.endpoints,
      { url: `sqlite:${join(dir, 'state.db')}` },
      {
        dynamics: {
          pageSize: 5000,
          ...(mode === 'webhook' ? { webhook: { key: 'env:DCSYNC_WEBHOOK_KEY' } } : {}),
        },
        campaign: { budget: { callsPerSecond: 2000 } },
        engine: { workers: 16, pollIntervalMs: 5000 },
        logging: { level: 'info' },
      },
    );
    const child = SyncChild.spawn(script, configPath, {
      serve: mode === 'webhook',
      env: { DCSYNC_WEBHOOK_KEY: webhookKey },
      captureOutput: false,
    });
    try {
      const running = await child.running;
      for (let i = 0; i < 600; i++) {
        const profiles = await host.call<{ total: number }>('countProfiles');
        if (profiles.total >= contacts) break;
        await sleep(100);
      }
      if (mode === 'webhook') {
        const url = running.url;
        if (typeof url !== 'string') throw new Error('the sync did not report its server URL');
        await host.call('registerWebhook', {
          url: `${url}/webhooks/dynamics`,
          table: 'contact',
          messages: ['Create', 'Update', 'Delete'],
          auth: { type: 'HttpHeader', headers: { 'x-dcsync-key': webhookKey } },
        });
      }
      // Let the first delta poll after the load pass, so both modes start from a steady state.
      await sleep(6000);
      const run = await host.call<{ latenciesMs: number[]; lost: number }>('latencyRun', {
        changesPerSecond,
        durationMs,
        seed: 5,
        giveUpMs: 60_000,
      });
      return latencySummary(run.latenciesMs, run.lost);
    } finally {
      await child.kill('SIGTERM');
    }
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const script = await bundleSyncChild();
  try {
    const webhook = await measure(script, 'webhook');
    console.log(JSON.stringify({ webhook }));
    const polling = await measure(script, 'polling');
    console.log(JSON.stringify({ polling }));
    writeBenchResult('sync-latency', {
      setup: `${contacts} contacts loaded first; then contact updates at ${changesPerSecond}/s for ${durationMs / 1000} s; latency = update in the Dynamics emulator until the new value is visible in the Campaign emulator (checked every 5 ms in the emulator process); dcsync run in its own process; webhook mode through the service's POST /webhooks/dynamics with the poll interval left at 5 s; polling mode with pollIntervalMs 5000`,
      targets: {
        webhook: { p50Ms: '<= 2000', p99Ms: '<= 10000' },
        polling: { p50Ms: '<= 5000', p99Ms: '<= 15000' },
      },
      met:
        webhook.lost === 0 &&
        polling.lost === 0 &&
        webhook.p50Ms <= 2000 &&
        webhook.p99Ms <= 10_000 &&
        polling.p50Ms <= 5000 &&
        polling.p99Ms <= 15_000,
      webhook,
      polling,
    });
  } finally {
    script.dispose();
  }
}
