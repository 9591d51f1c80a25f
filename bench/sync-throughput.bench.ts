/**
 * `npm run bench -- sync-throughput`
 *
 * End-to-end throughput of the contact sync: an initial load of N contacts from the Dynamics
 * emulator into the Campaign emulator (both at zero latency, no throttling, in a process of their
 * own) by `dcsync run --until-idle` in a separate process, so the sync process is measured alone.
 * Target: ≥ 2,000 contacts/s on SQLite; PostgreSQL is reported.
 *
 * Machines differ more than the engine does. On the 2-core Intel Xeon host of 2026-11-28 evening
 * (store bench: SQLite 32,000–37,000 items/s) 40,000 contacts sync at 2,757/s; on the 2-core AMD EPYC
 * host of the same morning (store bench 10,270 items/s: slower CPU and ~2.5 ms fsyncs) the same
 * code reached 1,051/s. Where the time goes on the faster host (CPU profile of the sync process,
 * 40,000 contacts): it is busy 70 % of the time and waits on the emulators (same 2 cores) for the
 * rest; of the busy time SQLite takes ~45 % (2,040 commits, 1.2 ms each: lease, key-map intents
 * and completions are one transaction each per batch of ~60), the HTTP client ~8 %, GC ~10 %.
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
import { writeBenchResult } from './support/write-result.js';

const contacts = Number(process.env.SYNC_BENCH_CONTACTS ?? 40_000);
const targetPerSecond = 2000;

interface StoreRun {
  store: 'sqlite' | 'postgres';
  contacts: number;
  created: number;
  /** Engine time: start to idle (excludes process start-up). */
  engineSeconds: number;
  /** Process start to exit. */
  wallSeconds: number;
  contactsPerSecond: number;
  wallContactsPerSecond: number;
  campaignCalls: number;
  dynamicsRequests: number;
  peakRssMiB: number;
}

async function measure(script: SyncChildScript, store: 'sqlite' | 'postgres'): Promise<StoreRun> {
  const dir = mkdtempSync(join(tmpdir(), 'dcsync-bench-'));
  const host = await EmulatorHost.start({ dynamics: { contacts, seed: 7 }, campaign: { seed: 7 } });
  const schema = store === 'postgres' ? await createPostgresTestSchema('bench') : null;
  try {
    const configPath = writeSyncConfig(
      dir,
      host.endpoints,
      schema ? { url: schema.url, schema: schema.name } : { url: `sqlite:${join(dir, 'state.db')}` },
      {
        dynamics: { pageSize: 5000 },
        campaign: { budget: { callsPerSecond: 100_000, adaptive: false } },
        engine: { workers: Number(process.env.SYNC_BENCH_WORKERS ?? 64), pollIntervalMs: 200 },
      },
    );
    const started = performance.now();
    const child = SyncChild.spawn(script, configPath, { untilIdle: true });
    child.sampleRss();
    const exit = await child.exited;
    const wallSeconds = (performance.now() - started) / 1000;
    if (exit.code !== 0) throw new Error(`sync failed (${exit.code}): ${exit.stderr.slice(-2000)}`);
    const summary = JSON.parse(exit.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    const stats = await host.call<{
      dynamics: { total: number };
      campaign: { requests: number };
    }>('stats');
    const engineSeconds = summary.elapsedMs! / 1000;
    const created = summary.created! + summary.adopted!;
    return {
      store,
      contacts,
      created,
      engineSeconds: round(engineSeconds),
      wallSeconds: round(wallSeconds),
      contactsPerSecond: Math.round(created / engineSeconds),
      wallContactsPerSecond: Math.round(created / wallSeconds),
      campaignCalls: stats.campaign.requests,
      dynamicsRequests: stats.dynamics.total,
      peakRssMiB: round(child.peakRssBytes / 2 ** 20),
    };
  } finally {
    await host.close();
    await schema?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

export async function run(): Promise<void> {
  const script = await bundleSyncChild();
  try {
    const sqlite = await measure(script, 'sqlite');
    console.log(JSON.stringify(sqlite));
    const postgres = await measure(script, 'postgres');
    console.log(JSON.stringify(postgres));
    writeBenchResult('sync-throughput', {
      setup:
        'initial load; emulators at zero latency in their own process; dcsync run --until-idle in a separate process; 5,000-row pages; 64 workers; Campaign budget not limiting',
      targets: { sqliteContactsPerSecond: `>= ${targetPerSecond}` },
      met: sqlite.contactsPerSecond >= targetPerSecond,
      sqlite,
      postgres,
    });
  } finally {
    script.dispose();
  }
}
