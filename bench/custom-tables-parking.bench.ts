/**
 * `npm run bench -- custom-tables-parking`: 100,000 children whose parents arrive last (I6).
 *
 * Dynamics holds 1,000 contacts and 100,000 orders (100 per contact); Campaign links each order
 * to its profile with a cardinality-1 link. The sync runs as its own process (`dcsync run`, bundled
 * like the installed binary, measured alone: the emulators live in this process) with the contact
 * flow paused, so every order is read and parked before any parent exists. Then the contact flow
 * is resumed: each profile that lands releases its orders. Targets: parking memory bounded — peak
 * RSS of the sync process ≤ 256 MiB while 100,000 children are parked (they live in the store, not
 * in memory) — and every child written, visible, none dead-lettered; release throughput recorded.
 *
 * V8 sizes its heap to the machine, not to the work: with default flags it lets garbage pile up
 * (the committed heap grows to several times the live heap). So the scenario runs twice: with
 * default flags (reported), and as a deployment with a 256 MiB memory budget runs it, with
 * `--max-old-space-size=128` (judged). Both report the live heap after each full GC (`--trace-gc`),
 * which stays flat however many children are parked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { startDynamicsEmulator } from '../emulators/dynamics/dynamics-emulator.js';
import { startCampaignEmulator } from '../emulators/campaign/campaign-emulator.js';
import { openStateStore } from '../src/store/open-state-store.js';
import { FlowControl } from '../src/engine/flow-control.js';
import { tableFlowId } from '../src/engine/records/record-flow.js';
import { systemClock } from '../src/core/clock.js';
import { campaignTestSeed } from '../test/support/campaign-test-bed.js';
import { buildOrder, customTableDynamicsSeed, orderTable } from '../test/support/custom-table-fixtures.js';
import { bundleScript } from '../test/support/sync-process.js';
import { writeBenchResult } from './support/write-result.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Fewer parents for a quick look (100 children each). @default 1000 */
const parents = Number(process.env.BENCH_PARKING_PARENTS ?? 1_000);
const childrenPerParent = 100;
const children = parents * childrenPerParent;
const rssLimitMiB = 256;
const engineWorkers = 32;
const orders = tableFlowId('new_order');

/** Resident set size of another process, from /proc (Linux). */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? 0);
  return kib / 1024;
}

function seconds(ms: number): number {
  return Math.round(ms / 10) / 100;
}

async function waitFor(
  label: string,
  check: () => Promise<boolean> | boolean,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (child.exitCode !== null) throw new Error(`sync process exited (${child.exitCode}) while ${label}`);
    if (Date.now() > deadline) throw new Error(`timed out ${label}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface ScenarioResult {
  nodeArgs: string[];
  parking: Record<string, number>;
  release: Record<string, number>;
  peakRssMiB: number;
  /** Largest heap still in use right after a full (mark-compact) GC, per phase. */
  peakLiveHeapAfterGcMiB: { parking: number; release: number };
  ok: boolean;
}

/** Live heap after a full GC, from a `--trace-gc` line: `Mark-Compact 110.3 (137.0) -> 34.9 (103.3) MB`. */
const markCompact = /Mark-Compact [\d.]+ \([\d.]+\) -> ([\d.]+) \(/;

async function runScenario(cli: string, nodeArgs: readonly string[]): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'dcsync-bench-parking-'));
  const dynamics = await startDynamicsEmulator({
    contacts: parents,
    seed: 7,
    seedData: customTableDynamicsSeed,
  });
  for (const contactId of dynamics.admin.listIds('contact'))
    for (let i = 0; i < childrenPerParent; i++)
      dynamics.admin.createRow('new_order', buildOrder(contactId, { new_amount: i }));
  const campaign = await startCampaignEmulator({ profiles: 0, seedFile: campaignTestSeed });
  writeFileSync(join(dir, 'dynamics-ca.pem'), dynamics.caCert ?? '');
  writeFileSync(join(dir, 'campaign-ca.pem'), campaign.caCert ?? '');
  const storeUrl = `sqlite:${join(dir, 'state.db')}`;
  const configPath = join(dir, 'sync.yaml');
  writeFileSync(
    configPath,
    stringify({
      dynamics: {
        url: dynamics.url,
        authorityHost: dynamics.authorityHost,
        tenantId: 'bench.onmicrosoft.com',
        clientId: dynamics.clientId,
        clientSecret: 'env:DYNAMICS_CLIENT_SECRET',
        caFile: join(dir, 'dynamics-ca.pem'),
        pageSize: 5000,
      },
      campaign: {
        url: campaign.url,
        imsUrl: campaign.imsUrl,
        clientId: campaign.clientId,
        clientSecret: 'env:CAMPAIGN_CLIENT_SECRET',
        caFile: join(dir, 'campaign-ca.pem'),
        budget: { callsPerSecond: 20_000, callsPerDay: 100_000_000 },
      },
      store: { url: storeUrl },
      engine: { workers: engineWorkers, pollIntervalMs: 500 },
      flows: {
        contacts: { mapping: { lastname: 'lastName' } },
        customTables: [{ ...orderTable, personalData: false, mapping: { new_amount: 'amount' } }],
      },
      server: { port: 0, adminToken: 'env:DCSYNC_ADMIN_TOKEN' },
      logging: { level: 'error' },
    }),
  );

  // The parents arrive last: their flow is paused before the sync starts.
  const store = await openStateStore(storeUrl, { clock: systemClock });
  const control = new FlowControl(store, systemClock);
  await control.refresh(['contacts']);
  await control.pause('contacts', 'bench: parents arrive last');

  const child = spawn(process.execPath, ['--trace-gc', ...nodeArgs, cli, 'run', '--config', configPath], {
    cwd: root,
    env: {
      ...process.env,
      DYNAMICS_CLIENT_SECRET: 'demo-secret',
      CAMPAIGN_CLIENT_SECRET: 'demo-secret',
      DCSYNC_ADMIN_TOKEN: 'bench-admin-token-0123456789',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-20_000);
  });
  let phase: 'parking' | 'release' = 'parking';
  const liveHeap = { parking: 0, release: 0 };
  createInterface({ input: child.stdout }).on('line', (line) => {
    const live = markCompact.exec(line)?.[1];
    if (live !== undefined) liveHeap[phase] = Math.max(liveHeap[phase], Number(live));
  });
  const pid = child.pid!;
  const peak = { parking: 0, release: 0 };
  const sampler = setInterval(() => {
    try {
      peak[phase] = Math.max(peak[phase], rssOf(pid));
    } catch {
      // the process is gone
    }
  }, 100);

  try {
    const started = Date.now();
    await waitFor('starting', async () => (await store.queue.backlog()).length > 0, child, 120_000);
    const startRss = rssOf(pid);
    await waitFor('parking', async () => (await store.parked.count(orders)) >= children, child, 30 * 60_000);
    const parkedAt = Date.now();
    const parkedCount = await store.parked.count(orders);
    const writtenWhileParked = campaign.admin.countRecords('cusOrder').total;
    const rssWhileParked = rssOf(pid);

    phase = 'release';
    await control.resume('contacts');
    const resumedAt = Date.now();
    await waitFor(
      'waiting for the first parent',
      () => campaign.admin.countRecords('profile').visible > 0,
      child,
      60_000,
    );
    const firstParentAt = Date.now();
    await waitFor(
      'releasing',
      () => campaign.admin.countRecords('cusOrder').visible >= children,
      child,
      30 * 60_000,
    );
    const doneAt = Date.now();
    const orderCounts = campaign.admin.countRecords('cusOrder');
    const parkedAfter = await store.parked.count();
    const deadLetters = await store.deadLetters.count();
    const releaseSeconds = seconds(doneAt - firstParentAt);
    const peakRssMiB = Math.round(Math.max(peak.parking, peak.release));
    return {
      nodeArgs: [...nodeArgs],
      parking: {
        rssAfterStartMiB: Math.round(startRss),
        parked: parkedCount,
        seconds: seconds(parkedAt - started),
        parkedPerSecond: Math.round(parkedCount / ((parkedAt - started) / 1000)),
        campaignRecordsWrittenWhileParked: writtenWhileParked,
        rssWhileParkedMiB: Math.round(rssWhileParked),
        peakRssMiB: Math.round(peak.parking),
      },
      release: {
        secondsToFirstParent: seconds(firstParentAt - resumedAt),
        seconds: releaseSeconds,
        childrenWrittenPerSecond: Math.round(children / releaseSeconds),
        visible: orderCounts.visible,
        hidden: orderCounts.hidden,
        parkedAfter,
        deadLetters,
        peakRssMiB: Math.round(peak.release),
      },
      peakRssMiB,
      peakLiveHeapAfterGcMiB: {
        parking: Math.round(liveHeap.parking),
        release: Math.round(liveHeap.release),
      },
      ok:
        parkedCount === children &&
        writtenWhileParked === 0 &&
        orderCounts.visible === children &&
        orderCounts.hidden === 0 &&
        deadLetters === 0 &&
        parkedAfter === 0,
    };
  } catch (error) {
    process.stderr.write(`sync process stderr (tail):\n${stderr}\n`);
    throw error;
  } finally {
    clearInterval(sampler);
    if (child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    await store.close();
    await Promise.allSettled([dynamics.close(), campaign.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  // The CLI bundled into one file (npm packages external), as the built binary runs it.
  const bundle = await bundleScript(join(root, 'src', 'cli', 'main.ts'), 'dcsync-bench');
  const cli = bundle.path;
  try {
    const defaultHeap = await runScenario(cli, []);
    const budgeted = await runScenario(cli, ['--max-old-space-size=128']);
    const pass = defaultHeap.ok && budgeted.ok && budgeted.peakRssMiB <= rssLimitMiB;
    writeBenchResult('custom-tables-parking', {
      setup: { parents, children, engineWorkers, dynamicsPageSize: 5000, store: 'sqlite' },
      defaultHeap,
      memoryBudget256MiB: budgeted,
      targets: { peakRssMiB: rssLimitMiB, hidden: 0, deadLetters: 0, judgedOn: 'memoryBudget256MiB' },
      pass,
    });
    if (!pass) process.exitCode = 1;
  } finally {
    bundle.dispose();
  }
}
