/**
 * `npm run bench -- sync-backlog-rss`
 *
 * Memory with a 1,000,000-item backlog: a 1,000,000-contact initial read under a tiny Campaign
 * budget, so the changes pile up in the durable inbox while the workers work through a few. The
 * sync process's peak RSS (kernel high-water mark) is measured from start until it has staged
 * everything and worked on for a while. Target: ≤ 256 MiB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateStore } from '../src/store/open-state-store.js';
import { cursorCheckpoint, type CursorState } from '../src/engine/feed-cursor.js';
import { bundleSyncChild, EmulatorHost, SyncChild, writeSyncConfig } from '../test/support/sync-process.js';
import { sleep } from './support/samples.js';
import { writeBenchResult } from './support/write-result.js';

const contacts = Number(process.env.SYNC_BENCH_CONTACTS ?? 1_000_000);
const workAfterStagedMs = Number(process.env.SYNC_BENCH_WORK_MS ?? 30_000);
const targetMiB = 256;

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dcsync-bench-'));
  const script = await bundleSyncChild();
  const host = await EmulatorHost.start({ dynamics: { contacts, seed: 13 }, campaign: { seed: 13 } });
  const storeUrl = `sqlite:${join(dir, 'state.db')}`;
  try {
    const configPath = writeSyncConfig(
      dir,
      host.endpoints,
      { url: storeUrl },
      {
        dynamics: { pageSize: 5000 },
        campaign: { budget: { callsPerSecond: 50, callsPerDay: 10_000_000 } },
        engine: { workers: 16, pollIntervalMs: 1000 },
        logging: { level: 'info' },
      },
    );
    const started = performance.now();
    const child = SyncChild.spawn(script, configPath, { captureOutput: false });
    child.sampleRss(100);
    await child.running;
    // Wait until the initial read has staged every row (the cursor follows deltas).
    let stagedAt: number | null = null;
    while (stagedAt === null) {
      await sleep(2000);
      const store = await openStateStore(storeUrl, { migrate: false });
      try {
        const raw = await store.checkpoints.get(cursorCheckpoint.name('contacts'));
        if (raw && (JSON.parse(raw) as CursorState).phase === 'delta') stagedAt = performance.now();
      } finally {
        await store.close();
      }
      if (performance.now() - started > 30 * 60_000) throw new Error('initial read did not finish in 30 min');
    }
    await sleep(workAfterStagedMs);
    const store = await openStateStore(storeUrl, { migrate: false });
    let backlog: number;
    let synced: number;
    try {
      backlog = (await store.queue.backlog()).reduce((n, b) => n + b.queued + b.leased, 0);
      synced = await store.keyMap.count('contacts');
    } finally {
      await store.close();
    }
    const peak = child.peakRssBytes;
    await child.kill('SIGTERM');
    const peakMiB = Math.round((peak / 2 ** 20) * 10) / 10;
    writeBenchResult('sync-backlog-rss', {
      setup: `initial read of ${contacts} contacts (5,000-row pages) staged into the SQLite inbox while the workers drain it under a 50 calls/s Campaign budget; dcsync run in its own process; peak RSS = VmHWM sampled every 100 ms`,
      targets: { peakRssMiB: `<= ${targetMiB}` },
      met: peakMiB <= targetMiB,
      contacts,
      secondsToStageAll: Math.round((stagedAt - started) / 100) / 10,
      workedAfterStagedSeconds: workAfterStagedMs / 1000,
      backlogAtEnd: backlog,
      syncedAtEnd: synced,
      peakRssMiB: peakMiB,
    });
  } finally {
    await host.close();
    script.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
