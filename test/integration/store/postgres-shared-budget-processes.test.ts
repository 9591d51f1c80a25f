/**
 * The shared call budget across OS processes (issue 19, "Must show", the budget test): three
 * workers under 50 calls/s and 3,000 calls/day, restarted and killed with SIGKILL over and over.
 * The request log (this test's HTTP server, standing in for Campaign) never sees more than 50 calls
 * in any second nor more than 3,000 in the UTC day; when the day is spent the workers wait and say
 * so, and they resume at the next UTC day. The workers' clocks run an offset ahead of the real one
 * (test-only, in the fixture; the offset only ever grows, so time never runs back): first an hour
 * before midnight, then, restarted, 3 s before it. 2,400 of the day's calls were spent "earlier
 * today" (a seeded day row), so the rest is spent in about 12 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatUtcDay, sleepOn, systemClock } from '../../../src/core/clock.js';
import type { CallBudgetUsage } from '../../../src/core/ports/call-budget.js';
import type { StateStore } from '../../../src/core/ports/state-store.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { createPostgresTestSchema, type PostgresTestSchema } from '../../support/postgres-test-schema.js';
import { maxInAnyWindow } from '../../support/shared-budget-harness.js';
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const workerSource = join(here, 'fixtures', 'budget-worker.ts');
/** The fixture bundled once (packages external), so a restart costs little. */
let workerScript = '';

const callsPerSecond = 50;
const callsPerDay = 3000;
const spentEarlier = 2400;
const dayMs = 86_400_000;

let schema: PostgresTestSchema;
let store: StateStore;
let server: Server;
const arrivals: number[] = [];
const children = new Set<ChildProcess>();
/** The workers' clocks (and the request log's) run this far ahead of the real one (ms). */
let offset = 0;
const fakeNow = (): number => systemClock.now() + offset;

interface Worker {
  child: ChildProcess;
  lastUsage: CallBudgetUsage | null;
  ready: Promise<void>;
  exited: Promise<void>;
}

beforeAll(async () => {
  mkdirSync(join(repoRoot, '.tmp'), { recursive: true });
  workerScript = join(repoRoot, '.tmp', `budget-worker-${process.pid}.mjs`);
  await build({
    entryPoints: [workerSource],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: workerScript,
    logLevel: 'error',
  });
  schema = await createPostgresTestSchema('pg_budget_mp');
  store = await openStateStore(schema.url, { schema: schema.name });
  server = createServer((req, res) => {
    arrivals.push(fakeNow());
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await new Promise((resolve) => server.close(resolve));
  await store.close();
  await schema.drop();
  rmSync(workerScript, { force: true });
});

function startWorker(): Worker {
  const port = (server.address() as AddressInfo).port;
  const child = spawn(process.execPath, [workerScript], {
    cwd: repoRoot,
    env: {
      ...process.env,
      STORE_URL: schema.url,
      STORE_SCHEMA: schema.name,
      CALL_URL: `http://127.0.0.1:${port}/call`,
      CALLERS: '6',
      CALLS_PER_SECOND: String(callsPerSecond),
      CALLS_PER_DAY: String(callsPerDay),
      CLOCK_OFFSET_MS: String(offset),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const worker: Worker = {
    child,
    lastUsage: null,
    ready: Promise.resolve(),
    exited: new Promise((resolve) => child.on('exit', () => resolve())),
  };
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  let buffered = '';
  worker.ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const event = parseEvent(line);
        if (event.event === 'ready') resolve();
        if (event.event === 'usage' && event.usage) worker.lastUsage = event.usage;
      }
    });
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (code !== 0 && signal !== 'SIGKILL') reject(new Error(`budget-worker exited ${code}:\n${stderr}`));
    });
  });
  return worker;
}

function parseEvent(line: string): { event?: string; usage?: CallBudgetUsage } {
  const value: unknown = JSON.parse(line);
  return typeof value === 'object' && value !== null ? value : {};
}

describe('shared call budget across three OS processes on PostgreSQL', () => {
  it('holds 50 calls/s and 3,000 calls/day through restarts and a kill -9 loop; waits for, then resumes at, the next UTC day', async () => {
    // Phase 1: the workers' day ends in an hour.
    const realNow = systemClock.now();
    const midnight = (Math.floor(realNow / dayMs) + 1) * dayMs;
    offset = midnight - 3_600_000 - realNow;
    const today = formatUtcDay(fakeNow());
    await schema.query(
      'INSERT INTO budget_days (budget, day, calls_committed, calls_spent) VALUES ($1, $2, $3, $3)',
      ['campaign', today, spentEarlier],
    );

    let workers = [startWorker(), startWorker(), startWorker()];
    await Promise.all(workers.map((w) => w.ready));
    // Kill -9 and restart a worker every ~300 ms (a graceful restart every fourth time), 20 times.
    for (let round = 0; round < 20; round++) {
      await sleepOn(systemClock, 300);
      const index = round % workers.length;
      const victim = workers[index]!;
      victim.child.kill(round % 4 === 3 ? 'SIGTERM' : 'SIGKILL');
      await victim.exited;
      workers[index] = startWorker();
      await workers[index].ready;
    }
    // Until the day is spent: every worker then says so and waits.
    for (let i = 0; i < 60 && !workers.every((w) => w.lastUsage?.shared?.dayExhausted === true); i++)
      await sleepOn(systemClock, 500);
    const spentAt = arrivals.length;
    await sleepOn(systemClock, 1500);
    expect(arrivals.length).toBe(spentAt);
    const callsToday = arrivals.filter((t) => formatUtcDay(t) === today).length;
    expect(callsToday).toBeGreaterThan(0);
    expect(spentEarlier + callsToday).toBeLessThanOrEqual(callsPerDay);
    for (const w of workers) {
      expect(w.lastUsage?.shared?.dayExhausted).toBe(true);
      expect(w.lastUsage?.callsToday).toBe(callsPerDay);
    }

    // Phase 2: restart every worker with its clock 3 s before midnight (time only moves on): they
    // still wait, then resume at the next UTC day.
    for (const w of workers) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    offset = midnight - 3000 - systemClock.now();
    workers = [startWorker(), startWorker(), startWorker()];
    await Promise.all(workers.map((w) => w.ready));
    await sleepOn(systemClock, Math.max(0, midnight - fakeNow()) + 4000);
    expect(arrivals.filter((t) => formatUtcDay(t) === today)).toHaveLength(callsToday);
    const tomorrow = arrivals.filter((t) => t >= midnight).length;
    expect(tomorrow).toBeGreaterThan(callsPerSecond);
    expect(maxInAnyWindow(arrivals, 1000)).toBeLessThanOrEqual(callsPerSecond);

    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
  }, 90_000);
});
