/**
 * `npm run bench -- store`: enqueue → lease → complete throughput of both State adapters.
 *
 * - SQLite: one process, one store on a temp file (WAL, synchronous=FULL), as the embedded
 *   default runs: enqueue in batches of 500, then lease 100 at a time and complete them with one
 *   `completeMany` (the engine's group commit).
 * - PostgreSQL: 4 concurrent workers in this process, each with its own store and pool (as 4
 *   worker processes would have), leasing 100 at a time; a fifth store stages the items.
 *
 * Targets (issue 2, on the 2-core machine): SQLite ≥ 5,000 items/s, PostgreSQL ≥ 2,000 items/s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { StateStore, WorkItemInput } from '../src/core/ports/state-store.js';
import { openStateStore } from '../src/store/open-state-store.js';
import { writeBenchResult } from './support/write-result.js';

const postgresUrl = process.env['DCSYNC_BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const items = 20_000;
const enqueueBatch = 500;
const leaseBatch = 100;
const postgresWorkers = 4;

interface Measurement {
  items: number;
  enqueueMs: number;
  drainMs: number;
  enqueuePerSecond: number;
  leaseCompletePerSecond: number;
  /** items / (enqueue time + lease-and-complete time). */
  itemsPerSecond: number;
  target: number;
  meetsTarget: boolean;
}

function changes(count: number): WorkItemInput[] {
  return Array.from({ length: count }, (_, i) => ({
    flow: 'contacts',
    recordKey: `0000${i.toString(16)}-aaaa-bbbb-cccc-${String(i).padStart(12, '0')}`,
    payload: {
      op: 'upsert',
      values: { firstname: 'Ada', lastname: 'Lovelace', emailaddress1: `user${i}@example.test` },
    },
    sourceVersion: String(1_000_000 + i),
  }));
}

async function stage(store: StateStore, all: readonly WorkItemInput[]): Promise<number> {
  const started = performance.now();
  for (let start = 0; start < all.length; start += enqueueBatch) {
    await store.queue.enqueue(all.slice(start, start + enqueueBatch));
  }
  return performance.now() - started;
}

async function drain(store: StateStore, owner: string): Promise<number> {
  let done = 0;
  for (;;) {
    const leased = await store.queue.lease({ owner, limit: leaseBatch, leaseMs: 60_000 });
    if (leased.length === 0) return done;
    const outcomes = await store.queue.completeMany(leased.map((item) => ({ id: item.id, owner })));
    if (outcomes.some((o) => o !== 'ok')) throw new Error(`${owner}: a completion was lost`);
    done += leased.length;
  }
}

function summarise(count: number, enqueueMs: number, drainMs: number, target: number): Measurement {
  const perSecond = (n: number, ms: number): number => Math.round((n / ms) * 1000);
  const itemsPerSecond = perSecond(count, enqueueMs + drainMs);
  return {
    items: count,
    enqueueMs: Math.round(enqueueMs),
    drainMs: Math.round(drainMs),
    enqueuePerSecond: perSecond(count, enqueueMs),
    leaseCompletePerSecond: perSecond(count, drainMs),
    itemsPerSecond,
    target,
    meetsTarget: itemsPerSecond >= target,
  };
}

async function benchSqlite(): Promise<Measurement> {
  const dir = mkdtempSync(join(tmpdir(), 'dcsync-bench-store-'));
  const store = await openStateStore(`sqlite:${join(dir, 'state.db')}`);
  try {
    const enqueueMs = await stage(store, changes(items));
    const started = performance.now();
    const done = await drain(store, 'bench:sqlite:0');
    const drainMs = performance.now() - started;
    if (done !== items) throw new Error(`sqlite drained ${done} of ${items}`);
    return summarise(items, enqueueMs, drainMs, 5_000);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPostgres(): Promise<Measurement> {
  const schema = `bench_store_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  const stores: StateStore[] = [];
  try {
    const producer = await openStateStore(postgresUrl, { schema, poolSize: 2 });
    stores.push(producer);
    for (let i = 0; i < postgresWorkers; i++)
      stores.push(await openStateStore(postgresUrl, { schema, poolSize: 2 }));
    const enqueueMs = await stage(producer, changes(items));
    const started = performance.now();
    const done = await Promise.all(stores.slice(1).map((store, i) => drain(store, `bench:pg:${i}`)));
    const drainMs = performance.now() - started;
    const total = done.reduce((a, b) => a + b, 0);
    if (total !== items) throw new Error(`postgres drained ${total} of ${items}`);
    return { ...summarise(items, enqueueMs, drainMs, 2_000), ...{ perWorker: done } };
  } finally {
    await Promise.all(stores.map((store) => store.close()));
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}

export async function run(): Promise<void> {
  const sqlite = await benchSqlite();
  const postgres = await benchPostgres();
  writeBenchResult('store', {
    description: 'State store enqueue → lease → complete throughput (items/s over enqueue + drain)',
    sqlite: { ...sqlite, mode: 'one process, one connection; enqueue 500/tx, lease 100 + completeMany 100' },
    postgres: {
      ...postgres,
      workers: postgresWorkers,
      mode: '4 concurrent worker loops in one process, each with its own store and 2-connection pool; lease 100 + completeMany 100',
    },
  });
}
