/**
 * Crash recovery (issue 5, "Must show"): the sync runs as a child process — the `dcsync run`
 * command function over the production runtime — and is killed with SIGKILL at seeded random
 * moments of a 20,000-contact initial load while live creates, updates and deletes land in
 * Dynamics between and during runs. A final `--until-idle` run must leave exactly one profile per
 * contact with its mapped values, none for deleted contacts, no dead letters, an empty inbox, and
 * the initial read must never have restarted from its first page.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../emulators/shared/seeded-random.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import type { CursorState } from '../../../src/engine/feed-cursor.js';
import { cursorCheckpoint } from '../../../src/engine/feed-cursor.js';
import { readCheckpointIfAny } from '../../../src/engine/checkpoints.js';
import { SyncTestBed, type StoreKind } from '../../support/sync-test-bed.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { bundleSyncChild, SyncChild, type SyncChildScript } from '../../support/sync-process.js';
import { expectConverged, foreignProfiles, profilesByKey } from './fixtures/sync-convergence.js';

interface CrashScenario {
  store: StoreKind;
  contacts: number;
  kills: number;
  seed: number;
  /** Campaign profile identification key; null = none, so only our key-map intent prevents duplicates. */
  customKey: string | null;
  /** Campaign call budget of the sync (slow enough that kills land mid-load). */
  callsPerSecond: number;
  /** Dynamics page size: small, so the initial read itself spans several runs. */
  pageSize: number;
}

const scenarios: CrashScenario[] = [
  // SQLite: the full load with Campaign's unique key (a duplicate create is refused and adopted).
  {
    store: 'sqlite',
    contacts: 20_000,
    kills: 50,
    seed: 5,
    customKey: 'externalId',
    callsPerSecond: 3000,
    pageSize: 100,
  },
  // PostgreSQL, smaller: no unique key in Campaign, so only the engine's key-map intent stands
  // between a crash after a create and a second profile.
  {
    store: 'postgres',
    contacts: 1_500,
    kills: 6,
    seed: 9,
    customKey: null,
    callsPerSecond: 3000,
    pageSize: 25,
  },
];

/** Page number of an initial-read next link (the emulator's paging cookie), or null. */
function initialPageOf(link: string | null): number | null {
  if (!link) return null;
  const token = new URL(link).searchParams.get('$skiptoken');
  const match = token ? /pagenumber="(\d+)"/.exec(token) : null;
  return match ? Number(match[1]) : null;
}

let script: SyncChildScript;
beforeAll(async () => {
  script = await bundleSyncChild();
});
afterAll(() => script?.dispose());

describe.each(scenarios)('kill -9 during the initial load ($store store, $kills kills)', (scenario) => {
  let bed: SyncTestBed | undefined;
  afterAll(async () => {
    await bed?.close();
  });

  it('loses nothing, duplicates nothing and resumes where it stopped', async () => {
    bed = await SyncTestBed.start({
      store: scenario.store,
      dynamics: { contacts: scenario.contacts, seed: scenario.seed },
      campaign: {
        seed: scenario.seed,
        profiles: 20,
        seedFile: { profile: { customKey: scenario.customKey } },
      },
      config: {
        dynamics: { pageSize: scenario.pageSize },
        campaign: { budget: { callsPerSecond: scenario.callsPerSecond, adaptive: false } },
        // Short leases: a killed process's items and poller lock are taken over quickly. A long
        // poll interval keeps delta reads to about one per run, so Dynamics' request count
        // shows how often the initial read's pages were fetched.
        engine: { workers: 32, leaseMs: 1500, pollIntervalMs: 60_000 },
        workers: { dutyTtlMs: 1500 },
        logging: { level: 'info' },
      },
    });
    const dynamics = bed.dynamics.admin;
    const campaign = bed.campaign.admin;
    // Slow the Dynamics reads a little so the initial read itself spans several runs.
    dynamics.configureFaults({ latencyMs: 25, pathPattern: '/contacts$' });
    const config = bed.loadConfig();
    const random = new SeededRandom(scenario.seed);
    const deleted = new Set<string>();
    const foreignBefore = foreignProfiles(bed);
    let serial = 0;

    const liveChanges = (): void => {
      const ids = dynamics.listIds('contact');
      for (let i = random.int(1, 6); i > 0; i--) {
        dynamics.createContact(buildContact({ lastname: `Live${++serial}`, contactid: random.guid() }));
      }
      for (let i = random.int(3, 12); i > 0; i--) {
        const id = random.pick(ids);
        if (deleted.has(id)) continue;
        const n = ++serial;
        dynamics.updateContact(id, {
          lastname: `Upd${n}`,
          emailaddress1: `u${n}@example.org`,
          firstname: random.chance(0.2) ? null : `F${n}`,
        });
      }
      for (let i = random.int(0, 4); i > 0; i--) {
        const id = random.pick(ids);
        if (deleted.has(id)) continue;
        dynamics.deleteContact(id);
        deleted.add(id);
      }
    };

    const readCursor = async (): Promise<CursorState | null> => {
      try {
        const store = await openStateStore(config.store.url, {
          migrate: false,
          ...(config.store.schema ? { schema: config.store.schema } : {}),
        });
        try {
          return await readCheckpointIfAny(store.checkpoints, cursorCheckpoint, 'contacts');
        } finally {
          await store.close();
        }
      } catch {
        return null; // killed before the store was migrated
      }
    };

    const t0 = Date.now();
    const cursors: CursorState[] = [];
    let killedMidLoad = 0;
    let killedBeforeRunning = 0;
    for (let run = 0; run < scenario.kills; run++) {
      const child = SyncChild.spawn(script, bed.configPath);
      const early = random.chance(0.15);
      if (early) {
        await sleep(random.int(50, 900));
        killedBeforeRunning++;
      } else {
        const outcome = await Promise.race([
          child.running.then(() => 'running' as const),
          child.exited.then(() => 'exited' as const),
          sleep(20_000).then(() => 'slow' as const),
        ]);
        if (outcome !== 'running') {
          const exit = await child.kill();
          throw new Error(`sync child did not start (${outcome}): ${exit.stderr.slice(-2000)}`);
        }
        // The moment is drawn in work done, not in time, so every run lands mid-work whatever
        // the machine's speed: after a random number of Dynamics pages and Campaign calls
        // (capped in time), plus a random few milliseconds.
        const work = (): number =>
          (dynamics.stats().byRoute['GET contacts'] ?? 0) + campaign.stats().requests;
        const target = work() + random.int(1, 300);
        const changeAt = random.int(0, 500);
        let changed = false;
        for (let waited = 0; work() < target && waited < 5000; waited += 10) {
          if (!changed && waited >= changeAt) {
            liveChanges();
            changed = true;
          }
          await sleep(10);
        }
        if (!changed) liveChanges();
        await sleep(random.int(0, 30));
      }
      const exit = await child.kill('SIGKILL');
      expect(
        exit.signal,
        `run ${run} ended by itself: ${exit.stderr.slice(-1000)} ${exit.stdout.slice(-3000)}`,
      ).toBe('SIGKILL');
      if (random.chance(0.5)) liveChanges();

      const cursor = await readCursor();
      if (cursor) {
        const previous = cursors.at(-1);
        if (previous && previous.phase === 'initial') {
          if (cursor.phase === 'initial') {
            // Same read, never an earlier page: the read resumed, it did not restart.
            expect(cursor.runId).toBe(previous.runId);
            expect(cursor.startedAt).toBe(previous.startedAt);
            expect(initialPageOf(cursor.link) ?? 0).toBeGreaterThanOrEqual(initialPageOf(previous.link) ?? 0);
          }
        }
        if (previous && previous.phase !== 'initial') expect(cursor.phase).not.toBe('initial');
        if (cursor.phase === 'initial') killedMidLoad++;
        cursors.push(cursor);
      }
      if (process.env.CRASH_DEBUG)
        console.error(
          `run ${run} t=${Date.now() - t0} early=${early} phase=${cursor?.phase} page=${initialPageOf(cursor?.link ?? null)} profiles=${campaign.countRecords('profile').total} campaignReq=${campaign.stats().requests}`,
        );
    }

    const finalRun = SyncChild.spawn(script, bed.configPath, { untilIdle: true });
    const timeout = setTimeout(() => void finalRun.kill('SIGKILL'), 300_000);
    const final = await finalRun.exited;
    clearTimeout(timeout);
    expect(final.code, final.stderr.slice(-3000)).toBe(0);
    const summary = JSON.parse(final.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    expect(summary['dead-lettered']).toBe(0);

    // The initial read resumed after every kill: it advanced page by page, and Dynamics served
    // each page about once — a run re-reads at most the page it was killed in and reads its
    // delta link about once — never a second full read (that alone would add `pages`).
    const pages = Math.ceil(scenario.contacts / scenario.pageSize);
    expect(killedMidLoad).toBeGreaterThanOrEqual(Math.min(10, scenario.kills / 2));
    const changeReads = dynamics.stats().byRoute['GET contacts'] ?? 0;
    expect(changeReads).toBeGreaterThanOrEqual(pages);
    expect(changeReads).toBeLessThan(pages + 2 * (scenario.kills + 1) + 10);
    const initialPages = cursors.map((c) => initialPageOf(c.link)).filter((p) => p !== null);
    expect(initialPages.length).toBeGreaterThan(1);

    // Exactly one profile per contact, with its mapped values; none for deleted contacts.
    const contacts = expectConverged(bed);
    const byKey = profilesByKey(bed);
    expect([...deleted].filter((id) => byKey.has(id))).toEqual([]);
    expect(foreignProfiles(bed)).toEqual(foreignBefore);

    const store = await openStateStore(config.store.url, {
      migrate: false,
      ...(config.store.schema ? { schema: config.store.schema } : {}),
    });
    try {
      expect(await store.deadLetters.count()).toBe(0);
      expect(await store.parked.count('contacts')).toBe(0);
      const backlog = await store.queue.backlog();
      expect(backlog.reduce((n, b) => n + b.queued + b.leased, 0)).toBe(0);
      expect(await store.keyMap.count('contacts')).toBe(contacts);
      // The initial load stayed one run across every kill (each new process continued it) and
      // ended once its last record was written.
      const loads = (await store.runs.list({ flow: 'contacts', kind: 'initial' }, {})).items;
      expect(loads.filter((r) => r.outcome !== 'interrupted')).toHaveLength(1);
      expect(loads.find((r) => r.outcome !== 'interrupted')).toMatchObject({
        outcome: 'succeeded',
        phase: 'ended',
      });
    } finally {
      await store.close();
    }
    expect(deleted.size).toBeGreaterThan(0);
    expect(killedBeforeRunning + killedMidLoad).toBeGreaterThan(0);
  }, 600_000);
});

describe('the poller lock of a killed process', () => {
  let bed: SyncTestBed | undefined;
  afterAll(async () => {
    await bed?.close();
  });

  it('is free for a restarted process once the duty TTL has passed', async () => {
    const dutyTtlMs = 1500;
    bed = await SyncTestBed.start({
      dynamics: { contacts: 2000, seed: 3 },
      config: {
        dynamics: { pageSize: 50 },
        engine: { pollIntervalMs: 200 },
        workers: { dutyTtlMs },
        logging: { level: 'info' },
      },
    });
    bed.dynamics.admin.configureFaults({ latencyMs: 50, pathPattern: '/contacts$' });
    const child = SyncChild.spawn(script, bed.configPath);
    await child.running;
    while ((bed.dynamics.admin.stats().byRoute['GET contacts'] ?? 0) < 3) await sleep(20);
    expect((await child.kill('SIGKILL')).signal).toBe('SIGKILL');

    // The restarted process's clock: moved on by the test instead of waiting for the TTL to pass.
    let laterMs = 0;
    const runtime = await bed.openRuntime({ clock: { now: () => Date.now() + laterMs } });
    // The dead process still holds it right after the kill...
    expect(await runtime.store.locks.tryAcquire('poller:contacts', 'restarted', 1000)).toBe(false);
    // ...but only for about the duty TTL (workers.dutyTtlMs), not for the fixed 30 s it used to.
    laterMs = dutyTtlMs + 500;
    expect(await runtime.store.locks.tryAcquire('poller:contacts', 'restarted', 1000)).toBe(true);
  });
});

describe('a run started after the initial read was cut short', () => {
  let bed: SyncTestBed | undefined;
  afterAll(async () => {
    await bed?.close();
  });

  it('finishes the read and reports idle without waiting for the next poll', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 300, seed: 4 },
      config: { dynamics: { pageSize: 100 }, engine: { pollIntervalMs: 600_000 } },
    });
    const { engine } = await bed.engine();
    // The delta link must be read right after the full read's last page, not 10 minutes later.
    const summary = await engine.runUntilIdle({ timeoutMs: 30_000 });
    expect(summary.created).toBe(300);
    expect(bed.profilesByExternalId().size).toBe(300);
  });

  it('after a restart that finds new changes, reports idle once they are applied, not a poll later', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 50, seed: 6 },
      config: { engine: { pollIntervalMs: 600_000 } },
    });
    expect((await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 30_000 })).created).toBe(50);
    const id = bed.dynamics.admin.listIds('contact')[0]!;
    bed.dynamics.admin.updateContact(id, { lastname: 'Changed-While-Down' });
    // The first delta read stages the change; the poller then sleeps 10 minutes.
    const summary = await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 30_000 });
    expect(summary.updated).toBe(1);
    expect(bed.profilesByExternalId().get(id)!.lastName).toBe('Changed-While-Down');
  });
});
