/**
 * `npm run bench -- sync-scale-out`
 *
 * Scale-out on PostgreSQL: an initial load of N contacts by 1, 2 and 3 `dcsync run` processes on
 * one schema, with both emulators answering every call after a fixed latency (20 ms), so the
 * work is I/O-bound as it is against real tenants and a worker is bounded by the calls it can have
 * in flight, not by this machine's two cores. Each process keeps `engine.workers` calls in flight.
 * Reported: contacts/s for each worker count (first profile written to the last), the ratio to
 * one worker (target: 3 workers >= 2.5x), and the most Campaign calls the emulator admitted in any
 * one-second window (never above the Campaign budget, which the processes share through the store).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresTestSchema } from '../test/support/postgres-test-schema.js';
import {
  bundleSyncChild,
  EmulatorHost,
  SyncChild,
  writeSyncConfig,
  type SyncChildScript,
} from '../test/support/sync-process.js';
import { sleep } from './support/samples.js';
import { writeBenchResult } from './support/write-result.js';

const contacts = Number(process.env.SCALE_BENCH_CONTACTS ?? 6000);
const latencyMs = Number(process.env.SCALE_BENCH_LATENCY_MS ?? 20);
const inFlight = Number(process.env.SCALE_BENCH_WORKERS ?? 4);
const budgetPerSecond = 1000;

interface WorkerRun {
  processes: number;
  contacts: number;
  seconds: number;
  contactsPerSecond: number;
  campaignCalls: number;
  maxCallsInAnySecond: number;
}

async function measure(script: SyncChildScript, processes: number): Promise<WorkerRun> {
  const dir = mkdtempSync(join(tmpdir(), 'dcsync-bench-'));
  const host = await EmulatorHost.start({ dynamics: { contacts, seed: 7 }, campaign: { seed: 7 } });
  const schema = await createPostgresTestSchema('scale');
  const children: SyncChild[] = [];
  try {
    const configPath = writeSyncConfig(
      dir,
      host.endpoints,
      { url: schema.url, schema: schema.name },
      {
        dynamics: { pageSize: 1000 },
        campaign: { budget: { callsPerSecond: budgetPerSecond, adaptive: false } },
        engine: { workers: inFlight, pollIntervalMs: 200 },
        logging: { level: 'info' },
      },
    );
    await host.call('campaignFaults', { latencyMs, pathPattern: 'profileAndServices' });
    await host.call('dynamicsFaults', { latencyMs });
    // The schema is migrated once, by the first process, before the others start (as a deployment
    // that rolls out workers one after another).
    const first = SyncChild.spawn(script, configPath);
    children.push(first);
    await first.running;
    for (let i = 1; i < processes; i++) children.push(SyncChild.spawn(script, configPath));
    await Promise.all(children.map((c) => c.running));
    let startedAt: number | null = null;
    let endedAt = 0;
    for (;;) {
      const count = await host.call<{ total: number }>('countProfiles');
      const now = performance.now();
      if (startedAt === null && count.total > 0) startedAt = now;
      if (count.total >= contacts) {
        endedAt = now;
        break;
      }
      await sleep(50);
    }
    const stats = await host.call<{ campaign: { requests: number; maxCallsInAnySecond: number } }>('stats');
    const seconds = (endedAt - (startedAt ?? endedAt)) / 1000;
    return {
      processes,
      contacts,
      seconds: Math.round(seconds * 10) / 10,
      contactsPerSecond: Math.round(contacts / seconds),
      campaignCalls: stats.campaign.requests,
      maxCallsInAnySecond: stats.campaign.maxCallsInAnySecond,
    };
  } finally {
    await Promise.all(children.map((c) => c.kill('SIGTERM')));
    await host.close();
    await schema.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const script = await bundleSyncChild();
  try {
    const runs: WorkerRun[] = [];
    for (const processes of [1, 2, 3]) {
      const result = await measure(script, processes);
      console.log(JSON.stringify(result));
      runs.push(result);
    }
    const one = runs[0]!.contactsPerSecond;
    const ratios = Object.fromEntries(
      runs.map((r) => [`${r.processes}`, Math.round((r.contactsPerSecond / one) * 100) / 100]),
    );
    const budgetKept = runs.every((r) => r.maxCallsInAnySecond <= budgetPerSecond);
    writeBenchResult('sync-scale-out', {
      setup: `initial load of ${contacts} contacts; PostgreSQL store; both emulators in their own process answering after ${latencyMs} ms; each dcsync run process keeps ${inFlight} Campaign calls in flight (engine.workers); the processes share one Campaign budget of ${budgetPerSecond} calls/s through the store; the emulator's most calls in any second is checked against ${budgetPerSecond}`,
      targets: { threeWorkersVsOne: '>= 2.5', maxCallsInAnySecond: `<= ${budgetPerSecond}` },
      met: (ratios['3'] ?? 0) >= 2.5 && budgetKept,
      ratiosToOneWorker: ratios,
      runs,
    });
  } finally {
    script.dispose();
  }
}
