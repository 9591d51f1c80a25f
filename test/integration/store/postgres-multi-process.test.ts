/**
 * Two OS processes lease from one PostgreSQL store (issue 2, "Must show"): 10,000 items, each
 * leased exactly once, per-key order kept and no two leases of a key overlapping; then a
 * `kill -9` of one worker mid-lease loses nothing — the other takes its items over after expiry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StateStore } from '../../../src/core/ports/state-store.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { createPostgresTestSchema, type PostgresTestSchema } from '../../support/postgres-test-schema.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const workerScript = join(here, 'fixtures', 'lease-worker.ts');

interface LogRow {
  worker: string;
  item_id: string;
  record_key: string;
  version: number;
  attempts: number;
  leased_at_ms: string;
  lease_expires_at: string;
  started_seq: string;
  finished_seq: string | null;
  outcome: string | null;
}

interface Worker {
  child: ChildProcess;
  events: Record<string, unknown>[];
  exited: Promise<number | null>;
  /** Resolves with the first event of this name. */
  waitFor(event: string): Promise<Record<string, unknown>>;
}

let schema: PostgresTestSchema;
let store: StateStore;
const children: ChildProcess[] = [];

beforeAll(async () => {
  schema = await createPostgresTestSchema('pg_multi_process');
  store = await openStateStore(schema.url, { schema: schema.name });
  await schema.query(
    'CREATE SEQUENCE lease_seq; CREATE TABLE lease_log (id BIGSERIAL PRIMARY KEY, worker TEXT NOT NULL, item_id BIGINT NOT NULL, ' +
      'record_key TEXT NOT NULL, version INT NOT NULL, attempts INT NOT NULL, leased_at_ms BIGINT NOT NULL, ' +
      "lease_expires_at BIGINT NOT NULL, started_seq BIGINT NOT NULL DEFAULT nextval('lease_seq'), finished_seq BIGINT, outcome TEXT)",
  );
});

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

afterAll(async () => {
  await store.close();
  await schema.drop();
});

function startWorker(env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', workerScript], {
    cwd: repoRoot,
    env: { ...process.env, STORE_URL: schema.url, STORE_SCHEMA: schema.name, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const events: Record<string, unknown>[] = [];
  const waiters: { event: string; resolve: (e: Record<string, unknown>) => void }[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const event = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
      buffered = buffered.slice(newline + 1);
      events.push(event);
      for (const waiter of waiters.filter((w) => w.event === event['event'])) waiter.resolve(event);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      if (code !== 0 && code !== null) console.error(`lease-worker ${child.pid} exited ${code}:\n${stderr}`);
      resolve(code);
    });
  });
  return {
    child,
    events,
    exited,
    waitFor: (event) =>
      new Promise((resolve, reject) => {
        const seen = events.find((e) => e['event'] === event);
        if (seen !== undefined) return resolve(seen);
        waiters.push({ event, resolve });
        void exited.then((code) => reject(new Error(`worker exited (${code}) before "${event}"`)));
      }),
  };
}

async function stageFirstVersions(flow: string, keys: number): Promise<void> {
  const items = Array.from({ length: keys }, (_, i) => ({
    flow,
    recordKey: `rec-${String(i).padStart(5, '0')}`,
    payload: { version: 1 },
    sourceVersion: '1',
  }));
  for (let start = 0; start < items.length; start += 500)
    await store.queue.enqueue(items.slice(start, start + 500));
}

/** Per key: versions in order, each processed leases strictly after the previous one ended. */
function checkPerKeyOrder(rows: readonly LogRow[]): Map<string, LogRow[]> {
  const byKey = new Map<string, LogRow[]>();
  for (const row of rows) byKey.set(row.record_key, [...(byKey.get(row.record_key) ?? []), row]);
  for (const [key, list] of byKey) {
    for (let i = 1; i < list.length; i++) {
      const previous = list[i - 1]!;
      const current = list[i]!;
      expect(current.version, `${key} order`).toBeGreaterThanOrEqual(previous.version);
      if (previous.finished_seq !== null) {
        expect(Number(current.started_seq), `${key} overlap`).toBeGreaterThan(Number(previous.finished_seq));
      } else {
        // The previous holder never finished (killed): its lease had to expire first.
        expect(Number(current.leased_at_ms), `${key} taken over early`).toBeGreaterThanOrEqual(
          Number(previous.lease_expires_at),
        );
      }
    }
  }
  return byKey;
}

describe('postgres store with two OS processes', () => {
  it('leases 10,000 items each exactly once, keeping per-key order', async () => {
    const flow = 'mp';
    const keys = 1000;
    const finalVersion = 10;
    await stageFirstVersions(flow, keys);
    const config = { FLOW: flow, FINAL_VERSION: String(finalVersion), LEASE_MS: '20000', BATCH: '50' };
    const workers = [startWorker(config), startWorker(config)];
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);

    const rows = await schema.query<LogRow & Record<string, unknown>>(
      'SELECT * FROM lease_log ORDER BY started_seq',
    );
    expect(rows).toHaveLength(keys * finalVersion);
    expect(new Set(rows.map((r) => `${r.record_key}@${r.version}`)).size).toBe(keys * finalVersion);
    expect(rows.every((r) => r.outcome === 'ok' && r.attempts === 1)).toBe(true);
    const byKey = checkPerKeyOrder(rows);
    for (const list of byKey.values())
      expect(list.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Both processes did real work.
    const perWorker = new Map<string, number>();
    for (const row of rows) perWorker.set(row.worker, (perWorker.get(row.worker) ?? 0) + 1);
    expect(perWorker.size).toBe(2);
    for (const count of perWorker.values()) expect(count).toBeGreaterThan(1000);
    expect(await store.queue.backlog()).toEqual([]);
  }, 90_000);

  it('loses nothing when one worker is killed with SIGKILL while holding leases', async () => {
    await schema.query('DELETE FROM lease_log');
    const flow = 'kill';
    const keys = 200;
    const finalVersion = 5;
    await stageFirstVersions(flow, keys);
    const config = { FLOW: flow, FINAL_VERSION: String(finalVersion), LEASE_MS: '1500', BATCH: '20' };
    const victim = startWorker({ ...config, HOLD_AFTER_BATCHES: '5' });
    const survivor = startWorker(config);
    const holding = await victim.waitFor('holding');
    victim.child.kill('SIGKILL');
    expect(await victim.exited).toBeNull();
    expect(await survivor.exited).toBe(0);

    const rows = await schema.query<LogRow & Record<string, unknown>>(
      'SELECT * FROM lease_log ORDER BY started_seq',
    );
    const victimWorker = rows.find((r) => r.finished_seq === null)?.worker;
    const abandoned = rows.filter((r) => r.finished_seq === null);
    expect(abandoned).toHaveLength(Number(holding['items']));
    expect(new Set(abandoned.map((r) => r.worker))).toEqual(new Set([victimWorker]));
    // Every abandoned item was taken over by the survivor after the lease expired.
    for (const lost of abandoned) {
      const retaken = rows.find(
        (r) => r.record_key === lost.record_key && r.version === lost.version && r.finished_seq !== null,
      );
      expect(retaken, `${lost.record_key}@${lost.version}`).toMatchObject({ attempts: 2, outcome: 'ok' });
      expect(retaken!.worker).not.toBe(victimWorker);
    }
    const byKey = checkPerKeyOrder(rows);
    expect(byKey.size).toBe(keys);
    for (const list of byKey.values()) {
      const finished = list.filter((r) => r.finished_seq !== null).map((r) => r.version);
      expect(finished).toEqual([1, 2, 3, 4, 5]);
    }
    expect(await store.queue.backlog()).toEqual([]);
    expect(await store.deadLetters.count()).toBe(0);
  }, 90_000);
});
