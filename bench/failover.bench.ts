/**
 * `npm run bench -- failover`
 *
 * Scale-out failover: 3 `dcsync run` workers (processes of their own) on one PostgreSQL store with
 * the default duty timing (`workers.dutyTtlMs` 10 s, attempts every 2 s). Repeatedly `kill -9` the
 * holder of the contact poller duty and measure the seconds from the kill to the new holder's first
 * action (its `duty.acquired` entry in the store's audit trail), then start a replacement worker.
 * Same-run baseline: graceful hand-overs (SIGTERM: the holder releases the duty as it stops).
 * Target: p99 of the kill -9 hand-overs ≤ 15 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/core/clock.js';
import type { StateStore } from '../src/core/ports/state-store.js';
import { openStateStore } from '../src/store/open-state-store.js';
import { createPostgresTestSchema, postgresTestUrl } from '../test/support/postgres-test-schema.js';
import { bundleSyncChild, EmulatorHost, SyncChild, writeSyncConfig } from '../test/support/sync-process.js';
import { percentile, sleep } from './support/samples.js';
import { writeBenchResult } from './support/write-result.js';

const duty = 'poller:contacts';
const kills = Number(process.env.FAILOVER_BENCH_KILLS ?? 20);
const graceful = Number(process.env.FAILOVER_BENCH_GRACEFUL ?? 5);
const workerCount = 3;

function summary(ms: number[]): { runs: number; p50S: number; p99S: number; maxS: number; meanS: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const s = (v: number): number => Math.round(v) / 1000;
  return {
    runs: ms.length,
    p50S: s(percentile(sorted, 50)),
    p99S: s(percentile(sorted, 99)),
    maxS: s(sorted.at(-1) ?? NaN),
    meanS: s(ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length)),
  };
}

async function holder(store: StateStore): Promise<{ owner: string; epoch: number } | null> {
  const lock = (await store.locks.list(duty)).find((l) => l.name === duty);
  return lock && lock.expiresAt > systemClock.now() ? { owner: lock.owner, epoch: lock.epoch } : null;
}

async function waitForHolder(
  store: StateStore,
  afterEpoch: number,
): Promise<{ owner: string; epoch: number }> {
  const deadline = systemClock.now() + 120_000;
  for (;;) {
    const h = await holder(store);
    if (h && h.epoch > afterEpoch) return h;
    if (systemClock.now() > deadline) throw new Error('no new holder within 120 s');
    await sleep(50);
  }
}

/** When the holder of `epoch` took the duty, from the audit trail. */
async function acquiredAt(store: StateStore, epoch: number): Promise<number> {
  const trail = await store.audit.list({ recordKey: duty, action: 'duty.acquired' }, { limit: 1000 });
  const entry = trail.items.find((e) => (e.detail ?? '').startsWith(`epoch ${epoch};`));
  if (!entry) throw new Error(`no duty.acquired entry for epoch ${epoch}`);
  return entry.at;
}

export async function run(): Promise<void> {
  const script = await bundleSyncChild();
  const schema = await createPostgresTestSchema('failover_bench');
  const dir = mkdtempSync(join(tmpdir(), 'dcsync-bench-'));
  const host = await EmulatorHost.start({ dynamics: { contacts: 200, seed: 21 }, campaign: { seed: 21 } });
  const store = await openStateStore(postgresTestUrl, { clock: systemClock, schema: schema.name });
  const children: SyncChild[] = [];
  try {
    const configPath = writeSyncConfig(
      dir,
      host.endpoints,
      { url: postgresTestUrl, schema: schema.name },
      { engine: { pollIntervalMs: 1000 }, logging: { level: 'info' } },
    );
    const spawnWorker = async (): Promise<void> => {
      const child = SyncChild.spawn(script, configPath, { captureOutput: false });
      children.push(child);
      await child.running;
    };
    for (let i = 0; i < workerCount; i++) await spawnWorker();
    const childOf = async (owner: string): Promise<SyncChild> => {
      const worker = (await store.workers.list()).find((w) => w.id === owner);
      const child = children.find((c) => c.pid === worker?.pid);
      if (!child) throw new Error(`no process for worker ${owner}`);
      return child;
    };

    const measure = async (signal: 'SIGKILL' | 'SIGTERM'): Promise<number> => {
      const current = await waitForHolder(store, 0);
      const child = await childOf(current.owner);
      const at = systemClock.now();
      await child.kill(signal);
      children.splice(children.indexOf(child), 1);
      const next = await waitForHolder(store, current.epoch);
      const took = (await acquiredAt(store, next.epoch)) - at;
      await spawnWorker();
      // Let the replacement register and the new holder settle before the next kill.
      await sleep(1000);
      return took;
    };

    const gracefulMs: number[] = [];
    for (let i = 0; i < graceful; i++) gracefulMs.push(await measure('SIGTERM'));
    const killMs: number[] = [];
    for (let i = 0; i < kills; i++) {
      killMs.push(await measure('SIGKILL'));
      console.log(`kill ${i + 1}/${kills}: ${(killMs.at(-1)! / 1000).toFixed(2)} s`);
    }
    const killed = summary(killMs);
    const released = summary(gracefulMs);
    writeBenchResult('failover', {
      setup: {
        workers: workerCount,
        store: 'postgres',
        dutyTtlMs: 10_000,
        attemptMs: 2000,
        measuredAs:
          'kill (or SIGTERM) of the poller:contacts holder → the new holder’s duty.acquired audit time',
      },
      kill9: { ...killed, samplesS: killMs.map((ms) => ms / 1000) },
      baselineSigterm: released,
      ratioKill9P50ToSigtermP50: Math.round((killed.p50S / Math.max(0.001, released.p50S)) * 10) / 10,
      targets: { kill9P99S: 15 },
      met: { kill9P99S: killed.p99S <= 15 },
    });
  } finally {
    await Promise.all(children.map((c) => c.kill('SIGKILL')));
    await store.close();
    await host.close();
    await schema.drop();
    script.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
