/**
 * One call budget for the whole deployment (issue 19, "Must show", the budget test) with the real
 * `dcsync run`: three workers on one PostgreSQL schema under `campaign.budget` 50 calls/s and
 * 3,000 calls/day, restarted (SIGTERM) and killed (SIGKILL) over and over while they load contacts
 * into the Campaign emulator. 2,400 of the day's calls were spent "earlier today" (a seeded day row
 * in the store, as a worker that ran this morning leaves it), so the last 600 are spent within
 * seconds. The emulator's own log (calls per sliding second, calls in all) never sees more than 50
 * calls in any second nor more than the 600 the day had left; then the work waits — items stay
 * queued, no dead letter, every worker's row in the registry says the day is spent — and the
 * emulator sees no more calls. (The turn of the UTC day on a controlled clock is in
 * test/integration/store/postgres-shared-budget-processes.test.ts.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { SeededRandom } from '../../../emulators/shared/seeded-random.js';
import { formatUtcDay, systemClock } from '../../../src/core/clock.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { bundleSyncChild, SyncChild, type SyncChildScript } from '../../support/sync-process.js';
import { SyncTestBed } from '../../support/sync-test-bed.js';

const callsPerSecond = 50;
const callsPerDay = 3000;
const spentEarlier = 2400;
const workers = 3;
const seed = 1919;

describe('the call budget shared by three dcsync run workers', () => {
  let bed: SyncTestBed | undefined;
  let script: SyncChildScript | undefined;
  let db: pg.Client | undefined;
  const children = new Set<SyncChild>();
  afterAll(async () => {
    await db?.end().catch(() => undefined);
    await Promise.all([...children].map((c) => c.kill('SIGKILL')));
    script?.dispose();
    await bed?.close();
  });

  it('holds 50 calls/s and the day across restarts and kill -9, then waits and says so', async () => {
    script = await bundleSyncChild();
    bed = await SyncTestBed.start({
      store: 'postgres',
      // Each contact costs a look-up and a create: far more than the 600 calls the day has left.
      dynamics: { contacts: 1500, seed },
      campaign: { profiles: 0, seed },
      config: {
        campaign: { budget: { callsPerSecond, callsPerDay, adaptive: false } },
        engine: { workers: 8, leaseMs: 2000, pollIntervalMs: 500 },
        workers: { heartbeatMs: 500, dutyTtlMs: 2000 },
        // The children say when they run at info.
        logging: { level: 'info' },
      },
    });
    const config = bed.loadConfig();
    const schema = config.store.schema ?? 'public';
    const day = formatUtcDay(systemClock.now());

    // The schema as the workers will find it, with the morning's calls already spent.
    const store = await openStateStore(config.store.url, { schema });
    await store.close();
    db = new pg.Client({ connectionString: config.store.url });
    await db.connect();
    await db.query(`SET search_path TO "${schema}"`);
    await db.query(
      'INSERT INTO budget_days (budget, day, calls_committed, calls_spent) VALUES ($1, $2, $3, $3)',
      ['campaign', day, spentEarlier],
    );

    const random = new SeededRandom(seed);
    const start = (): SyncChild => {
      const child = SyncChild.spawn(script!, bed!.configPath, { captureOutput: true });
      children.add(child);
      void child.exited.then(() => children.delete(child));
      return child;
    };
    const pool: SyncChild[] = [];
    for (let i = 0; i < workers; i++) pool.push(start());
    await Promise.all(pool.map((c) => c.running));

    // Kill or stop a worker every 0.6–1.5 s and start it again, until the day's calls are spent.
    const campaign = bed.campaign.admin;
    let kills = 0;
    let stops = 0;
    let quietSince = Date.now();
    let lastRequests = 0;
    while (kills < 12 || Date.now() - quietSince < 3000) {
      await sleep(random.int(600, 1500));
      const requests = campaign.stats().requests;
      if (requests !== lastRequests) quietSince = Date.now();
      lastRequests = requests;
      if (kills >= 12) continue;
      const index = random.int(0, workers - 1);
      const victim = pool[index]!;
      if (random.chance(0.25)) {
        await victim.kill('SIGTERM');
        stops++;
      } else {
        await victim.kill('SIGKILL');
        kills++;
      }
      pool[index] = start();
      await pool[index].running;
    }

    const stats = campaign.stats();
    const dayTurned = formatUtcDay(systemClock.now()) !== day;
    // The emulator's sliding second and its total: the deployment's limits, whatever the restarts.
    expect(stats.maxCallsInAnySecond).toBeLessThanOrEqual(callsPerSecond);
    expect(stats.requests).toBeLessThanOrEqual(callsPerDay - spentEarlier + (dayTurned ? callsPerDay : 0));
    // A crash costs at most the slice the dead worker held; most of the day was still spent.
    expect(stats.requests).toBeGreaterThan((callsPerDay - spentEarlier) / 2);
    expect(kills).toBeGreaterThanOrEqual(12);
    expect(stops).toBeGreaterThanOrEqual(0);

    // The work waits: items stay queued, nothing is dead-lettered, and every live worker's row in
    // the registry (what status, the API and the dashboard show) says the day is spent.
    if (!dayTurned) {
      const waiting = await db.query<{ n: string }>('SELECT COUNT(*) AS n FROM work_items');
      expect(Number(waiting.rows[0]!.n)).toBeGreaterThan(0);
      const dead = await db.query<{ n: string }>('SELECT COUNT(*) AS n FROM dead_letters');
      expect(Number(dead.rows[0]!.n)).toBe(0);
      const live = pool.map((c) => c.pid);
      await expect
        .poll(
          async () => {
            const rows = await db!.query<{ pid: number; budget: string | null }>(
              "SELECT pid, budget FROM workers WHERE state = 'running'",
            );
            return live.every((pid) => {
              const row = rows.rows.find((r) => r.pid === pid);
              const budget = row?.budget
                ? (JSON.parse(row.budget) as { campaignBudget?: { shared?: { dayExhausted?: boolean } } })
                : null;
              return budget?.campaignBudget?.shared?.dayExhausted === true;
            });
          },
          { timeout: 20_000, interval: 250 },
        )
        .toBe(true);
      const before = campaign.stats().requests;
      await sleep(2000);
      expect(campaign.stats().requests).toBe(before);
    }
  }, 240_000);
});
