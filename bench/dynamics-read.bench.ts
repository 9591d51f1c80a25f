/**
 * `npm run bench -- dynamics-read`
 *
 * 1. Throughput and memory: the production change reader reads 1,000,000 contacts (initial sync,
 *    5,000-row pages, emulator latency 0) from an emulator in a separate process, so only the
 *    reading process's memory is measured. Targets: ≥ 20,000 records/s parsed and handed on, peak
 *    RSS ≤ 256 MiB.
 * 2. Pacing: with service-protection limits scaled down to 60 requests per 3 s, reading 100,000
 *    contacts in 500-row pages (200 requests) must use ≥ 90 % of the request budget with ≤ 1 % of
 *    requests answered 429.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { DynamicsChangeReader } from '../src/connectors/dynamics/dynamics-change-reader.js';
import { DynamicsWebApiClient } from '../src/connectors/dynamics/dynamics-web-api-client.js';
import { writeBenchResult } from './support/write-result.js';

const here = dirname(fileURLToPath(import.meta.url));
const emulatorScript = join(here, '..', 'test', 'support', 'dynamics-emulator-process.ts');

interface RunningEmulator {
  url: string;
  authorityHost: string;
  clientId: string;
  caCert: string;
  contacts: number;
  startupMs: number;
  child: ChildProcess;
}

async function startEmulatorProcess(options: Record<string, unknown>): Promise<RunningEmulator> {
  const child = spawn(
    process.execPath,
    ['--max-old-space-size=8192', '--import', 'tsx', emulatorScript, JSON.stringify(options)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout });
  const [line] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(() => {
      throw new Error('emulator process exited before it was ready');
    }),
  ])) as [string];
  lines.close();
  return { ...(JSON.parse(line) as Omit<RunningEmulator, 'child'>), child };
}

async function stopEmulatorProcess(emulator: RunningEmulator): Promise<void> {
  if (emulator.child.exitCode !== null) return;
  const exited = once(emulator.child, 'exit');
  emulator.child.kill('SIGTERM');
  await exited;
}

/** Peak RSS of this process while `work` runs, sampled every 10 ms. */
async function withPeakRss<T>(
  work: () => Promise<T>,
): Promise<{ result: T; peakRssMiB: number; baselineRssMiB: number }> {
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, peakRssMiB: peak / 2 ** 20, baselineRssMiB: baseline / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

function clientFor(emulator: RunningEmulator, overrides: Record<string, unknown> = {}): DynamicsWebApiClient {
  return new DynamicsWebApiClient({
    url: emulator.url,
    authorityHost: emulator.authorityHost,
    tenantId: 'bench-tenant',
    clientId: emulator.clientId,
    clientSecret: 'demo-secret',
    caCert: emulator.caCert,
    timeoutMs: 60_000,
    maxConcurrency: 2,
    ...overrides,
  });
}

async function emulatorStats(
  emulator: RunningEmulator,
): Promise<{ total: number; throttled: number; byRoute: Record<string, number> }> {
  const agent = new Agent({ connect: { ca: emulator.caCert } });
  try {
    const response = await request(`${emulator.url}/_emulator/stats`, { dispatcher: agent });
    return (await response.body.json()) as {
      total: number;
      throttled: number;
      byRoute: Record<string, number>;
    };
  } finally {
    await agent.close();
  }
}

const contactSelect = [
  'firstname',
  'lastname',
  'emailaddress1',
  'mobilephone',
  'birthdate',
  'donotemail',
  'donotbulkemail',
  'statecode',
];

async function measureThroughput(count: number): Promise<Record<string, unknown>> {
  const emulator = await startEmulatorProcess({ contacts: count, seed: 42 });
  const client = clientFor(emulator);
  try {
    const reader = new DynamicsChangeReader(client);
    // Warm up the token and the connection so the timing covers reading only.
    await client.request({ method: 'GET', path: 'WhoAmI' });
    const started = performance.now();
    const { result, peakRssMiB, baselineRssMiB } = await withPeakRss(async () => {
      let records = 0;
      let pages = 0;
      let optedOut = 0;
      let lastLink = '';
      for await (const page of reader.readChanges({
        entitySetName: 'contacts',
        primaryIdAttribute: 'contactid',
        select: contactSelect,
        pageSize: 5000,
      })) {
        pages++;
        records += page.upserts.length;
        // "Handed on": a consumer that touches every row, as the engine's inbox writer would.
        for (const row of page.upserts) if (row.columns.donotemail === true) optedOut++;
        lastLink = page.resumeLink;
      }
      return { records, pages, optedOut, finalLinkIsDelta: lastLink.includes('$deltatoken=') };
    });
    const seconds = (performance.now() - started) / 1000;
    return {
      contacts: count,
      emulatorStartupMs: emulator.startupMs,
      ...result,
      seconds: Number(seconds.toFixed(2)),
      recordsPerSecond: Math.round(result.records / seconds),
      baselineRssMiB: Number(baselineRssMiB.toFixed(1)),
      peakRssMiB: Number(peakRssMiB.toFixed(1)),
      targets: { recordsPerSecond: 20_000, peakRssMiB: 256 },
      pass: result.records === count && result.records / seconds >= 20_000 && peakRssMiB <= 256,
    };
  } finally {
    await client.close();
    await stopEmulatorProcess(emulator);
  }
}

async function measurePacing(count: number): Promise<Record<string, unknown>> {
  const limits = { requests: 60, windowMs: 3000 };
  const emulator = await startEmulatorProcess({ contacts: count, seed: 43, limits });
  const client = clientFor(emulator, { requestsPer5Min: limits.requests, requestWindowMs: limits.windowMs });
  try {
    const reader = new DynamicsChangeReader(client);
    const started = performance.now();
    let records = 0;
    for await (const page of reader.readChanges({
      entitySetName: 'contacts',
      primaryIdAttribute: 'contactid',
      select: contactSelect,
      pageSize: 500,
    })) {
      records += page.upserts.length;
    }
    const elapsedMs = performance.now() - started;
    const stats = await emulatorStats(emulator);
    const apiRequests = stats.byRoute['GET contacts'] ?? 0;
    const throttled = stats.throttled;
    // Budget over the elapsed time: `requests` per window, so elapsed/window windows' worth.
    const budget = (elapsedMs / limits.windowMs) * limits.requests;
    const budgetUse = apiRequests / budget;
    return {
      contacts: count,
      limits,
      pageSize: 500,
      records,
      seconds: Number((elapsedMs / 1000).toFixed(2)),
      requests: apiRequests,
      requestsPerSecond: Number((apiRequests / (elapsedMs / 1000)).toFixed(2)),
      allowedRequestsPerSecond: limits.requests / (limits.windowMs / 1000),
      budgetUsePercent: Number((budgetUse * 100).toFixed(1)),
      throttled,
      throttledPercent: Number(((throttled / Math.max(1, apiRequests)) * 100).toFixed(2)),
      clientStats: client.stats(),
      targets: { budgetUsePercent: 90, throttledPercentMax: 1 },
      pass: records === count && budgetUse >= 0.9 && throttled / Math.max(1, apiRequests) <= 0.01,
    };
  } finally {
    await client.close();
    await stopEmulatorProcess(emulator);
  }
}

export async function run(): Promise<void> {
  const contacts = Number(process.env.DYNAMICS_BENCH_CONTACTS ?? 1_000_000);
  const throughput = await measureThroughput(contacts);
  console.log('throughput', throughput);
  const pacing = await measurePacing(100_000);
  console.log('pacing', pacing);
  writeBenchResult('dynamics-read', { throughput, pacing });
}
