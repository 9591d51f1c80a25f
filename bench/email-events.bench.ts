/**
 * `npm run bench -- email-events`
 *
 * Flow F6 (Campaign e-mail events → Dynamics timeline activities) through both emulators (their own
 * process) and `dcsync run` in a separate process, measured alone:
 *
 * 1. **Throughput**: a burst of N events (default 200,000; `EMAIL_BENCH_EVENTS`) at zero latency,
 *    service protection not binding: events/s (engine time, start to idle) and the sync process's
 *    peak RSS. Targets ≥ 2,000 events/s, ≤ 256 MiB.
 * 2. **Under service protection scaled down** (600 requests and 120 s execution time per 30 s
 *    window, 20 ms execution cost per write in the emulator, the same limits in
 *    `dynamics.serviceProtection`): for `EMAIL_BENCH_WINDOWS` whole windows (default 3) with a
 *    backlog that outlasts them, the emulator's counters sampled every second. Share of the binding
 *    limit used over those whole windows from the start (at most one limit per window fits; target
 *    ≥ 90 %), 429s
 *    as a share of requests (≤ 1 %), dead letters (0), requests and execution-ms per event.
 *
 * Recorded run (bench/results/email-events.json): 200,000 events, 256 workers, adaptive batch
 * 10 → 200, journal pages of 500, execution-time pacing by operations, on the shared 2-core host
 * (load average 3–9 during the run, other agents' benchmarks running). Earlier attempts: one on a
 * host at load 9–14 shrank its batches when waits for a pacing slot were counted as slow answers
 * (fixed: only the server's time counts); 30,000-event runs paced by the average request cost had
 * 1.6 % 429s under the scaled-down limits (fixed: pacing by each request's operations).
 * Re-recorded after the inbox limit, the batched contact look-up, one-statement lease heartbeats,
 * group commits of up to `engine.workers`, the audit trail's flow index in append order (migration
 * 0015) and WAL checkpoints every 10,000 pages (load 4.1–6.6): 1,569 events/s (was 829), peak RSS
 * 260.9 MiB (was 251.2; 253–269 MiB for the old code at 100,000 events in the same session: V8's
 * heap sizing, ~30 MiB live grown to ~110 MiB of old space between major GCs, not the flow's data).
 * Re-recorded after the measured runs stopped polling the contact flow's delta links every 200 ms
 * (the default 5 s now; the set-up's contact sync still polls at 200 ms), ssh2, fastify and pg
 * loaded only by the processes that use them, and the $batch codec without per-part arrays (load
 * 3.5–3.7): 5,004 events/s and 250.5 MiB, against 2,529 events/s and 265.4 MiB for the starting
 * commit run from a copy in the same session (load 3.7–3.0; 2,059 and 261.6 MiB in the first run
 * of the session, load 1.5–4.1); with `--max-old-space-size=128` 4,990 events/s and 170.6 MiB.
 * Under the scaled-down limits 258 requests instead of 526 (250 $batch, 4 delta reads), 98.9 % of
 * the execution-time limit, one 429. See docs/email-events.md, "Measured".
 *
 * Knobs for a look (nothing is recorded with `EMAIL_BENCH_ONLY`): `EMAIL_BENCH_ONLY=zero|limited`,
 * `EMAIL_BENCH_NODE_ARGS` (node flags of the measured process: `--cpu-prof`, `--trace-gc`, …),
 * `EMAIL_BENCH_WORKERS`, `EMAIL_BENCH_BATCH_MAX`, `EMAIL_BENCH_JOURNAL_LIMIT`.
 */
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateStore } from '../src/store/open-state-store.js';
import { activityTablesSeed, emailEventTypes } from '../test/support/email-event-fixtures.js';
import {
  bundleSyncChild,
  EmulatorHost,
  SyncChild,
  writeSyncConfig,
  type SyncChildScript,
} from '../test/support/sync-process.js';
import { writeBenchResult } from './support/write-result.js';

const events = Number(process.env.EMAIL_BENCH_EVENTS ?? 200_000);
/** Whole windows of the scaled-down run (a sliding window allows a limit per whole window). */
const limitedWindows = Number(process.env.EMAIL_BENCH_WINDOWS ?? 3);
const contacts = 1000;
const workers = Number(process.env.EMAIL_BENCH_WORKERS ?? 256);
/** The flow's defaults: adaptive `$batch` from 10 up to 200. */
const batch = { initial: 10, max: Number(process.env.EMAIL_BENCH_BATCH_MAX ?? 200) };
const limits = { requests: 600, executionTimeMs: 120_000, windowMs: 30_000 };
const writeExecutionMs = 20;
/**
 * Events per journal read: the flow's default (`flows.emailEvents.journal.limit`). With pages of
 * 2,000 (earlier runs) the sync process peaked at 257.1 MiB at 200,000 events (240–253 MiB at
 * 30,000). `--trace-gc` at 30,000: 28 MiB live after a major GC, the old generation grows to
 * ~111 MiB (mostly garbage) before the next one, 144 MiB of heap committed, the rest (~95 MiB)
 * native; a page is held several times while it is staged (text, parsed JSON, validated copy,
 * payloads). Pages of 500 at 30,000: 224.6 MiB, 129 MiB of heap (one run each, load 6–8).
 */
const journalLimit = Number(process.env.EMAIL_BENCH_JOURNAL_LIMIT ?? 500);
/** Node flags for the measured sync process (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). */
const childNodeArgs = (process.env.EMAIL_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
/**
 * The zero-latency run again as a deployment with a 256 MiB memory budget starts the process (as
 * bench custom-tables-parking judges it): V8 sizes its heap to the machine (a 24 GiB host lets the
 * old space grow to ~4× the ~30 MiB live heap before a full collection), a heap limit makes it
 * collect sooner. Reported next to the default run, which is the one judged.
 */
const heapBudgetArgs = ['--max-old-space-size=128'];
/** `zero` or `limited`: run one part only (nothing is recorded). */
const onlyPart = process.env.EMAIL_BENCH_ONLY;

interface DynamicsStats {
  total: number;
  byRouteAndStatus: Record<string, number>;
  throttled: number;
  executionMs: number;
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function activities(host: EmulatorHost): Promise<number> {
  let total = 0;
  for (const type of emailEventTypes)
    total += await host.call<number>('countRows', { table: `adobe_email${type}` });
  return total;
}

async function dynamicsStats(host: EmulatorHost): Promise<DynamicsStats> {
  return (await host.call<{ dynamics: DynamicsStats }>('stats')).dynamics;
}

async function setUp(script: SyncChildScript, dir: string, extra: Record<string, unknown> = {}) {
  const host = await EmulatorHost.start({
    dynamics: { contacts, seed: 11, seedData: activityTablesSeed() },
    campaign: { seed: 11, profiles: 0 },
  });
  const { campaign } = host.endpoints;
  const writeConfig = (engine: Record<string, unknown>): string =>
    writeSyncConfig(
      dir,
      host.endpoints,
      { url: `sqlite:${join(dir, 'state.db')}` },
      {
        engine: { workers, ...engine },
        flows: {
          emailEvents: {
            enabled: true,
            types: { send: true },
            journal: { url: campaign.journalUrl, imsOrgId: campaign.imsOrgId, limit: journalLimit },
            pollIntervalMs: 200,
            initialBatchSize: batch.initial,
            batchSize: batch.max,
          },
        },
        ...extra,
      },
    );
  // The contacts reach Campaign first: their profiles carry the externalId events are matched by.
  // Their delta links are polled every 200 ms for that sync only; the measured run polls them at
  // the default `engine.pollIntervalMs` (5 s), as a deployment does: at 200 ms the contact flow's
  // empty delta reads were 16 % of the requests at zero latency and 62 % under the scaled-down limits.
  const first = SyncChild.spawn(script, writeConfig({ pollIntervalMs: 200 }), { untilIdle: true });
  const exit = await first.exited;
  if (exit.code !== 0) throw new Error(`contact sync failed (${exit.code}): ${exit.stderr.slice(-2000)}`);
  const configPath = writeConfig({});
  const profiles = await host.call<string[]>('mailableProfiles');
  return { host, configPath, profiles };
}

async function throughput(
  script: SyncChildScript,
  nodeArgs: readonly string[] = childNodeArgs,
): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'dcsync-bench-f6-'));
  const { host, configPath, profiles } = await setUp(script, dir);
  try {
    await host.call('burstEvents', {
      count: events,
      profiles,
      mix: { send: 4, open: 4, click: 1, bounce: 1 },
      seed: 5,
    });
    await host.call('resetStats');
    const started = performance.now();
    const child = SyncChild.spawn(script, configPath, { untilIdle: true, nodeArgs });
    child.sampleRss();
    const exit = await child.exited;
    const wallSeconds = (performance.now() - started) / 1000;
    if (exit.code !== 0) throw new Error(`sync failed (${exit.code}): ${exit.stderr.slice(-2000)}`);
    // The summary is the last JSON line (node flags such as --trace-gc print lines of their own).
    const summary = JSON.parse(
      exit.stdout
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .at(-1)!,
    ) as Record<string, number>;
    const engineSeconds = summary.elapsedMs! / 1000;
    const landed = await activities(host);
    const stats = await dynamicsStats(host);
    return {
      events,
      activities: landed,
      created: summary.created,
      deadLettered: summary['dead-lettered'],
      engineSeconds: round(engineSeconds),
      wallSeconds: round(wallSeconds),
      eventsPerSecond: Math.round(summary.created! / engineSeconds),
      peakRssMiB: round(child.peakRssBytes / 2 ** 20),
      dynamicsRequests: stats.total,
      batchRequests: stats.byRouteAndStatus['POST batch 200'] ?? 0,
      eventsPerBatch: round(landed / Math.max(1, stats.byRouteAndStatus['POST batch 200'] ?? 0)),
      throttled: stats.throttled,
      requestsPerEvent: round(stats.total / Math.max(1, landed), 4),
      executionMsPerEvent: round(stats.executionMs / Math.max(1, landed), 3),
      // Dataverse's 6,000 requests per 5 minutes at this many requests per event, sustained.
      requestLimitCeilingEventsPerSecond: Math.round(
        6000 / 300 / Math.max(1e-9, stats.total / Math.max(1, landed)),
      ),
      requestsByRouteAndStatus: stats.byRouteAndStatus,
    };
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function limited(script: SyncChildScript): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'dcsync-bench-f6l-'));
  const { host, configPath, profiles } = await setUp(script, dir, {
    dynamics: { serviceProtection: limits },
  });
  try {
    // Enough events to outlast the run at the execution-time limit's pace.
    const backlog = Math.ceil((limits.executionTimeMs / writeExecutionMs) * (limitedWindows + 1));
    await host.call('burstEvents', {
      count: backlog,
      profiles,
      mix: { send: 4, open: 4, click: 1, bounce: 1 },
      seed: 6,
    });
    await host.call('dynamicsLimits', { ...limits, writeExecutionMs });
    await host.call('resetLimitWindows');
    await host.call('resetStats');
    const child = SyncChild.spawn(script, configPath, { nodeArgs: childNodeArgs });
    child.sampleRss();
    const samples: { at: number; stats: DynamicsStats; activities: number }[] = [];
    const started = performance.now();
    const endMs = limitedWindows * limits.windowMs;
    while (performance.now() - started < endMs) {
      samples.push({
        at: (performance.now() - started) / 1000,
        stats: await dynamicsStats(host),
        activities: await activities(host),
      });
      await sleep(1000);
    }
    samples.push({
      at: (performance.now() - started) / 1000,
      stats: await dynamicsStats(host),
      activities: await activities(host),
    });
    await child.kill('SIGTERM');
    // The last sample within the whole windows; shares against one limit per whole window (slightly
    // under what was used, never over).
    const last = samples.filter((s) => s.at <= endMs / 1000).at(-1)!;
    const from = samples[0]!;
    const seconds = last.at - from.at;
    const windows = limitedWindows;
    const batches = (s: DynamicsStats): number =>
      (s.byRouteAndStatus['POST batch 200'] ?? 0) + (s.byRouteAndStatus['POST batch 429'] ?? 0);
    const requestShare = (last.stats.total - from.stats.total) / (limits.requests * windows);
    const executionShare =
      (last.stats.executionMs - from.stats.executionMs) / (limits.executionTimeMs * windows);
    const written = last.activities;
    const config = { url: `sqlite:${join(dir, 'state.db')}` };
    const store = await openStateStore(config.url, { migrate: false });
    const deadLetters = await store.deadLetters.count();
    await store.close();
    return {
      limits: { ...limits, writeExecutionMsInEmulator: writeExecutionMs, sameLimitsInConfig: true },
      seconds: round(last.at),
      backlog,
      written,
      eventsPerSecond: round((last.activities - from.activities) / seconds),
      binding: executionShare >= requestShare ? 'executionTime' : 'requests',
      bindingLimitShareUsed: round(Math.max(executionShare, requestShare), 3),
      requestLimitShareUsed: round(requestShare, 3),
      executionLimitShareUsed: round(executionShare, 3),
      requests: last.stats.total,
      batchRequests: batches(last.stats),
      eventsPerBatch: round(written / Math.max(1, last.stats.byRouteAndStatus['POST batch 200'] ?? 0)),
      throttled: last.stats.throttled,
      throttledShareOfRequests: round(last.stats.throttled / Math.max(1, last.stats.total), 4),
      deadLetters,
      requestsPerEvent: round(last.stats.total / Math.max(1, written), 4),
      executionMsPerEvent: round(last.stats.executionMs / Math.max(1, written), 2),
      peakRssMiB: round(child.peakRssBytes / 2 ** 20),
      requestsByRouteAndStatus: last.stats.byRouteAndStatus,
    };
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function loadAverage(): number[] {
  return os.loadavg().map((n) => round(n, 2));
}

export async function run(): Promise<void> {
  const script = await bundleSyncChild();
  try {
    const loadBefore = loadAverage();
    if (onlyPart === 'zero' || onlyPart === 'limited') {
      const part = onlyPart === 'zero' ? await throughput(script) : await limited(script);
      console.log(JSON.stringify({ [onlyPart]: part, load: { before: loadBefore, after: loadAverage() } }));
      return;
    }
    const zeroLatency = await throughput(script);
    console.log(JSON.stringify({ zeroLatency }));
    const zeroLatencyHeapBudget: Record<string, unknown> = {
      nodeArgs: heapBudgetArgs,
      ...(await throughput(script, [...heapBudgetArgs, ...childNodeArgs])),
    };
    console.log(JSON.stringify({ zeroLatencyHeapBudget }));
    const underLimits = await limited(script);
    console.log(JSON.stringify({ underLimits }));
    const met = {
      eventsPerSecond: (zeroLatency.eventsPerSecond as number) >= 2000,
      peakRss: (zeroLatency.peakRssMiB as number) <= 256,
      bindingLimitShare: (underLimits.bindingLimitShareUsed as number) >= 0.9,
      throttledShare: (underLimits.throttledShareOfRequests as number) <= 0.01,
      deadLetters: underLimits.deadLetters === 0 && zeroLatency.deadLettered === 0,
    };
    let cpu = 'unknown';
    try {
      cpu = execSync('nproc', { encoding: 'utf8' }).trim();
    } catch {
      // not Linux
    }
    writeBenchResult('email-events', {
      setup:
        `flow F6: burst of e-mail events (send:open:click:bounce 4:4:1:1, all types enabled, bounces hard) over ${contacts} synced contacts; ` +
        `emulators in their own process; dcsync run in a separate process on SQLite; ${workers} workers, adaptive $batch from ${batch.initial} up to ${batch.max}, journal pages of ${journalLimit}. ` +
        `Scaled-down run: the same limits in the emulator and in dynamics.serviceProtection; shares over whole windows from the start.`,
      targets: {
        eventsPerSecond: '>= 2000',
        peakRssMiB: '<= 256',
        bindingLimitShareUsed: '>= 0.9',
        throttledShareOfRequests: '<= 0.01',
        deadLetters: 0,
      },
      met: Object.values(met).every(Boolean),
      metEach: met,
      // Reported, not judged: the zero-latency run as a deployment with a memory budget starts it.
      metWithHeapBudget: {
        eventsPerSecond: (zeroLatencyHeapBudget.eventsPerSecond as number) >= 2000,
        peakRss: (zeroLatencyHeapBudget.peakRssMiB as number) <= 256,
      },
      load: { before: loadBefore, after: loadAverage(), nproc: cpu },
      zeroLatency,
      zeroLatencyHeapBudget,
      underLimits,
    });
  } finally {
    script.dispose();
  }
}
