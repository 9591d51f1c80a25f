/**
 * `npm run bench -- campaign-write`: the production Campaign client against the emulator (run by
 * `dcsync emulate campaign` in its own process, over HTTPS with its CA).
 *
 * 1. Throughput at latency 0: profile writes by externalId along the engine's path (the record
 *    sink; creates: one POST when the key map has no entry, GET-by-key 404 + POST when it must look
 *    first; updates: one PATCH by key), many in flight. Target ≥ 2,000 upserts/s.
 * 2. Pacing accuracy: a 100 calls/s budget with the emulator throttling at 100 calls/s. Target:
 *    ≥ 90 % of the budget used, never above it (no second with more than 100 calls, no 429).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { CallBudget } from '../src/connectors/campaign/call-budget.js';
import { CampaignClient } from '../src/connectors/campaign/campaign-client.js';
import { CampaignRecordSink } from '../src/connectors/campaign/campaign-record-sink.js';
import { writeBenchResult } from './support/write-result.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

interface RunningEmulator {
  url: string;
  adminUrl: string;
  imsUrl: string;
  caCert: string;
  child: ChildProcess;
  dir: string;
}

async function startEmulatorProcess(): Promise<RunningEmulator> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dcsync-bench-campaign-'));
  const caFile = path.join(dir, 'ca.pem');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'emulate', 'campaign', '--port', '0', '--ca-out', caFile],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`emulator exited early (${code})`)));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Press Ctrl+C')) resolve();
    });
  });
  const url = /campaign\.url\):\s+(\S+)/.exec(output)?.[1];
  if (!url) throw new Error(`cannot read the emulator URL from:\n${output}`);
  const origin = new URL(url).origin;
  return {
    url,
    adminUrl: `${origin}/_emulator`,
    imsUrl: origin,
    caCert: readFileSync(caFile, 'utf8'),
    child,
    dir,
  };
}

async function stopEmulatorProcess(emulator: RunningEmulator): Promise<void> {
  const exited = new Promise((resolve) => emulator.child.once('exit', resolve));
  emulator.child.kill('SIGINT');
  await exited;
  rmSync(emulator.dir, { recursive: true, force: true });
}

async function adminCall(
  emulator: RunningEmulator,
  agent: Agent,
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  route: string,
  body?: unknown,
): Promise<unknown> {
  const response = await request(`${emulator.adminUrl}${route}`, {
    method,
    dispatcher: agent,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.body.text();
  return text ? (JSON.parse(text) as unknown) : null;
}

function buildClient(emulator: RunningEmulator, budget: CallBudget, connections: number): CampaignClient {
  return new CampaignClient({
    url: emulator.url,
    imsUrl: emulator.imsUrl,
    clientId: 'demo-client',
    clientSecret: 'demo-secret',
    caCert: emulator.caCert,
    budget,
    connections,
    timeoutMs: 30_000,
  });
}

/** Run `work` over `items` with `concurrency` workers. */
async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function measureThroughput(emulator: RunningEmulator, agent: Agent) {
  const count = 6000;
  const concurrency = 48;
  const budget = new CallBudget({ callsPerSecond: 1_000_000, burst: 1_000_000 });
  const client = buildClient(emulator, budget, concurrency);
  try {
    await client.count('profile'); // token and connections warm
    const ids = Array.from({ length: count }, (_, i) => `bench-${String(i).padStart(6, '0')}`);
    const sink = new CampaignRecordSink(client, {
      resource: 'profile',
      keyField: 'externalId',
      keyIsUnique: true,
    });
    const live = { lane: 'live' } as const;
    type Write = (externalId: string, fields: Record<string, unknown>) => Promise<boolean>;
    /** The key map has no entry and the key is unique: create at once (one POST). */
    const create: Write = async (externalId, fields) =>
      'pkey' in (await sink.create({ ...fields, externalId }, live));
    /** The key map says the record exists: PATCH it by its key. */
    const update: Write = async (externalId, fields) => {
      await client.updateRecord('profile', externalId, fields, live);
      return false;
    };
    /** An earlier attempt may have created it: look it up by key first (GET 404), then POST. */
    const lookUpThenCreate: Write = async (externalId, fields) =>
      (await sink.findByKey(externalId, live)) === null && (await create(externalId, fields));
    const phase = async (
      label: string,
      prefix: string,
      fields: (i: number) => Record<string, unknown>,
      write: Write,
    ) => {
      let created = 0;
      const started = performance.now();
      await runPool(ids, concurrency, async (id) => {
        const i = Number(id.slice(6));
        if (await write(`${prefix}${id}`, fields(i))) created++;
      });
      const seconds = (performance.now() - started) / 1000;
      return {
        phase: label,
        upserts: count,
        created,
        seconds: round(seconds),
        upsertsPerSecond: Math.round(count / seconds),
      };
    };
    await phase('warm-up (not counted)', 'w-', (i) => ({ lastName: `W${i}` }), create);
    // What the sync does: creates when its key map has no entry (one POST), updates by key (one PATCH).
    const creates = await phase(
      'create, key map says new (POST)',
      'a-',
      (i) => ({ email: `bench${i}@example.com`, lastName: `Bench${i}` }),
      create,
    );
    const updates = await phase(
      'update by externalId (PATCH by key)',
      'a-',
      (i) => ({ lastName: `Bench${i}-b`, blackListEmail: i % 7 === 0 }),
      update,
    );
    // After a crash between intent and create, a create looks the key up first: two calls.
    const blind = await phase(
      'create, look-up first (GET by key 404 + POST)',
      'b-',
      (i) => ({ email: `blind${i}@example.com` }),
      lookUpThenCreate,
    );
    const stats = (await adminCall(emulator, agent, 'GET', '/stats')) as { engineCalls: unknown };
    const total = creates.upserts + updates.upserts;
    const seconds = creates.seconds + updates.seconds;
    return {
      concurrency,
      phases: [creates, updates, blind],
      overallUpsertsPerSecond: Math.round(total / seconds),
      blindCreatesPerSecond: blind.upsertsPerSecond,
      engineCalls: stats.engineCalls,
    };
  } finally {
    budget.close();
    await client.close();
  }
}

async function measurePacing(emulator: RunningEmulator, agent: Agent) {
  const limit = 100;
  const durationMs = 15_000;
  await adminCall(emulator, agent, 'DELETE', '/stats');
  await adminCall(emulator, agent, 'PUT', '/limits', { callsPerSecond: limit });
  const grants: number[] = [];
  const budget = new CallBudget({ callsPerSecond: limit, onGrant: ({ at }) => grants.push(at) });
  const client = buildClient(emulator, budget, 16);
  let rateLimited = 0;
  let other = 0;
  try {
    await client.count('profile');
    await new Promise((resolve) => setTimeout(resolve, 1100)); // let the warm-up call leave the window
    grants.length = 0;
    const started = performance.now();
    const deadline = started + durationMs;
    let n = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (performance.now() < deadline) {
          const id = `a-bench-${String(n++ % 6000).padStart(6, '0')}`;
          try {
            await client.updateRecord('profile', id, { middleName: `p${n % 10}` }, { lane: 'bulk' });
          } catch (error) {
            if ((error as { code?: string }).code === 'CAMPAIGN_RATE_LIMITED') rateLimited++;
            else other++;
          }
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const stats = (await adminCall(emulator, agent, 'GET', '/stats')) as {
      maxCallsInAnySecond: number;
      throttled: number;
    };
    const calls = grants.length;
    return {
      budgetCallsPerSecond: limit,
      seconds: round(elapsed),
      calls,
      achievedCallsPerSecond: round(calls / elapsed),
      utilisation: round(calls / (limit * elapsed)),
      maxCallsInAnySecondAtEmulator: stats.maxCallsInAnySecond,
      maxCallsInAnySecondGranted: maxInWindow(grants),
      http429: stats.throttled,
      rateLimitedErrors: rateLimited,
      otherErrors: other,
    };
  } finally {
    budget.close();
    await client.close();
    await adminCall(emulator, agent, 'PUT', '/limits', { callsPerSecond: null });
  }
}

function maxInWindow(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let start = 0, end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= 1000) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export async function run(): Promise<void> {
  const emulator = await startEmulatorProcess();
  const agent = new Agent({ connect: { ca: emulator.caCert } });
  try {
    const throughput = await measureThroughput(emulator, agent);
    const pacing = await measurePacing(emulator, agent);
    writeBenchResult('campaign-write', {
      setup: 'emulator in its own process (dcsync emulate campaign), HTTPS on loopback, fault latency 0',
      throughput,
      pacing,
      targets: {
        upsertsPerSecond: 2000,
        pacingUtilisation: 0.9,
        pacingMaxCallsInAnySecond: 100,
      },
      met: {
        throughput: throughput.overallUpsertsPerSecond >= 2000,
        pacingUtilisation: pacing.utilisation >= 0.9,
        neverAboveBudget:
          pacing.maxCallsInAnySecondGranted <= 100 &&
          pacing.maxCallsInAnySecondAtEmulator <= 100 &&
          pacing.http429 === 0,
      },
    });
  } finally {
    await agent.close();
    await stopEmulatorProcess(emulator);
  }
}
