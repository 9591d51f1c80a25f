/**
 * Scale-out (issue 19): several `dcsync run` processes on one PostgreSQL store share the duties —
 * exactly one holds the contact poller; `kill -9` of the holder hands it to another within the duty
 * TTL and a change made in Dynamics afterwards still reaches Campaign (the "Must show", on
 * real time with a generous bound); SIGTERM hands it over at once (release, not expiry). On SQLite a
 * second process is refused with an error that says to use PostgreSQL.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StateStore } from '../../../src/core/ports/state-store.js';
import { SyncTestBed } from '../../support/sync-test-bed.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { bundleSyncChild, SyncChild, type SyncChildScript } from '../../support/sync-process.js';

const duty = 'poller:contacts';
const workersConfig = { heartbeatMs: 500, dutyTtlMs: 3000 };

let script: SyncChildScript;
let bed: SyncTestBed | undefined;
const children: SyncChild[] = [];
beforeAll(async () => {
  script = await bundleSyncChild();
});
afterAll(() => script?.dispose());
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill('SIGKILL')));
  await bed?.close();
  bed = undefined;
});

/** Poll `read` until it answers non-null (real time, bounded). */
async function waitFor<T>(
  what: string,
  read: () => T | null | undefined | Promise<T | null | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The live holder of the duty, as the store says (its lock not expired, not released). */
async function holderOf(store: StateStore, name: string): Promise<string | null> {
  const lock = (await store.locks.list(name)).find((l) => l.name === name);
  return lock && lock.expiresAt > Date.now() ? lock.owner : null;
}

async function childOf(store: StateStore, owner: string): Promise<SyncChild> {
  const worker = (await store.workers.list()).find((w) => w.id === owner);
  const child = children.find((c) => c.pid === worker?.pid);
  if (!child) throw new Error(`no child process for worker ${owner}`);
  return child;
}

async function startWorkers(count: number): Promise<void> {
  for (let i = 0; i < count; i++)
    children.push(SyncChild.spawn(script, bed!.configPath, { env: { DCSYNC_TEST_WORKER: String(i) } }));
  await Promise.all(children.map((c) => c.running));
}

describe('several workers on PostgreSQL', () => {
  it('kill -9 of the contact poller holder: another takes the duty, and a later change reaches Campaign within 20 s', async () => {
    bed = await SyncTestBed.start({
      store: 'postgres',
      dynamics: { contacts: 20, seed: 3 },
      campaign: { seed: 3, profiles: 2 },
      config: {
        workers: workersConfig,
        engine: { pollIntervalMs: 500, leaseMs: 3000 },
        logging: { level: 'info' },
      },
    });
    const { store } = await bed.openRuntime();
    await startWorkers(3);
    const first = await waitFor('a poller holder', () => holderOf(store, duty));
    await waitFor('the initial load', () =>
      bed!.campaign.admin.listRecords('profile').length >= 22 ? true : null,
    );
    // The registry shows duties as of each worker's last heartbeat (every 500 ms here).
    const workers = await waitFor('the holder in the registry', async () => {
      const list = await store.workers.list();
      return list.some((w) => w.duties.includes(duty)) ? list : null;
    });
    expect(workers.filter((w) => w.state === 'running')).toHaveLength(3);
    expect(workers.filter((w) => w.duties.includes(duty)).map((w) => w.id)).toEqual([first]);

    await (await childOf(store, first)).kill('SIGKILL');
    const killedAt = Date.now();
    const contact = buildContact({ lastname: 'AfterFailover' });
    bed.dynamics.admin.createContact(contact);
    await waitFor(
      'the change in Campaign',
      () =>
        bed!.campaign.admin
          .listRecords('profile')
          .find((p) => p.values.externalId === contact.contactid && p.values.lastName === 'AfterFailover') ??
        null,
      20_000,
    );
    expect(Date.now() - killedAt).toBeLessThan(20_000);
    const second = await waitFor('a new holder', () => holderOf(store, duty));
    expect(second).not.toBe(first);

    // From the store: each hand-over of the duty has a higher epoch than the one before.
    const trail = await store.audit.list({ recordKey: duty, action: 'duty.acquired' }, { limit: 100 });
    const epochs = trail.items.map((e) => Number(/^epoch (\d+)/.exec(e.detail ?? '')?.[1]));
    expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
    expect(new Set(epochs).size).toBe(epochs.length);
    const last = trail.items.at(-1);
    expect(last?.actor).toBe(second);
    expect(last?.detail).toContain(`expired, held by ${first}`);
  }, 90_000);

  it('SIGTERM of the holder releases the duty at once: another worker takes it from the release', async () => {
    bed = await SyncTestBed.start({
      store: 'postgres',
      dynamics: { contacts: 5, seed: 4 },
      campaign: { seed: 4, profiles: 1 },
      // A TTL far longer than the test: only a release can hand the duty over in time.
      config: {
        workers: { heartbeatMs: 500, dutyTtlMs: 120_000 },
        engine: { pollIntervalMs: 500 },
        logging: { level: 'info' },
      },
    });
    const { store } = await bed.openRuntime();
    await startWorkers(2);
    const first = await waitFor('a poller holder', () => holderOf(store, duty));
    const holder = await childOf(store, first);
    const exit = await holder.kill('SIGTERM');
    expect(exit.code).toBe(0);
    const stopped = (await store.workers.list()).find((w) => w.id === first);
    expect(stopped).toMatchObject({ state: 'stopped', duties: [], itemsLeased: 0 });
    const second = await waitFor('the other worker holding the duty', () => holderOf(store, duty), 60_000);
    expect(second).not.toBe(first);
    const trail = await store.audit.list({ recordKey: duty }, { limit: 100 });
    const last = trail.items.slice(-2).map((e) => [e.action, e.actor, e.detail?.replace(/^epoch \d+; /, '')]);
    expect(last).toEqual([
      ['duty.released', first, expect.stringMatching(/^epoch \d+$/)],
      ['duty.acquired', second, `was released by ${first}`],
    ]);
  }, 90_000);
});

describe('SQLite', () => {
  it('refuses a second dcsync run on the same file, saying to use PostgreSQL for several workers', async () => {
    bed = await SyncTestBed.start({
      store: 'sqlite',
      dynamics: { contacts: 2, seed: 5 },
      campaign: { seed: 5, profiles: 1 },
      config: { workers: workersConfig, logging: { level: 'info' } },
    });
    await startWorkers(1);
    const second = SyncChild.spawn(script, bed.configPath);
    children.push(second);
    const exit = await second.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.stderr + exit.stdout).toContain('WORKER_SQLITE_SHARED');
    expect(exit.stderr + exit.stdout).toContain('use PostgreSQL');
  }, 60_000);
});
