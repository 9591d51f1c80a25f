/**
 * The Duty helper and the worker registry over a real SQLite store, time from a manual clock:
 * one holder at a time, hand-over after the TTL or at once on release, a lost duty recorded, and
 * the start-up checks (schema behind, incompatible live worker, second process on SQLite).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { SyncError } from '../../../src/core/errors.js';
import type { StateStore } from '../../../src/core/ports/state-store.js';
import { DutyRoster } from '../../../src/engine/duty.js';
import { WorkerRegistry, describeWorkers, type WorkerIdentity } from '../../../src/engine/worker-registry.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { storeSchemaVersion } from '../../../src/store/sql/migrations/store-migrations.js';

const logger = { debug() {}, info() {}, warn() {}, error() {} } as never;
let clock: ManualClock;
let store: StateStore;

beforeEach(async () => {
  clock = new ManualClock();
  store = await openStateStore('sqlite::memory:', { clock });
});
afterEach(async () => {
  await store.close();
});

function roster(owner: string): DutyRoster {
  return new DutyRoster({ store, clock, logger, owner, timing: { ttlMs: 9000 } });
}

async function errorOf(promise: Promise<unknown>): Promise<SyncError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SyncError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('Duty', () => {
  it('has one holder at a time; a dead holder loses it after the TTL, a stopping one at once', async () => {
    const a = roster('w1').duty('poller:contacts');
    const b = roster('w2').duty('poller:contacts');
    expect(await a.tryNow()).toBe(true);
    expect(await b.tryNow()).toBe(false);
    expect(a.fence).toEqual({ name: 'poller:contacts', owner: 'w1', epoch: 1 });
    clock.advance(8999);
    expect(await b.tryNow()).toBe(false);
    clock.advance(1);
    expect(await b.tryNow()).toBe(true);
    expect(b.fence?.epoch).toBe(2);
    // The former holder learns it from the store (a renewal, or a fenced write refused).
    await a.lost('a page was refused');
    expect(a.held).toBe(false);
    await b.stop();
    expect(await a.tryNow()).toBe(true);
    const trail = await store.audit.list({ recordKey: 'poller:contacts' }, { limit: 10 });
    expect(trail.items.map((e) => `${e.action} ${e.actor}`)).toEqual([
      'duty.acquired w1',
      'duty.acquired w2',
      'duty.lost w1',
      'duty.released w2',
      'duty.acquired w1',
    ]);
  });

  it('a stalled holder stops acting as the holder at its deadline and records the loss, dated then', async () => {
    const t0 = clock.now();
    const a = roster('w1').duty('poller:contacts');
    const b = roster('w2').duty('poller:contacts');
    expect(await a.tryNow()).toBe(true);
    clock.advance(4000);
    expect(await a.tryNow()).toBe(true); // renewed: the deadline moves to 13000
    clock.advance(8999);
    expect(a.held).toBe(true);
    clock.advance(1);
    // The process did not run its renewal in time: from this moment it is not the holder, even
    // before another worker takes the duty, so two workers never act as holders at once.
    expect(a.held).toBe(false);
    expect(await b.tryNow()).toBe(true);
    clock.advance(500);
    expect(await a.tryNow()).toBe(false);
    const trail = (await store.audit.list({ recordKey: 'poller:contacts' }, { limit: 10 })).items;
    expect(trail.map((e) => `${e.action} ${e.actor} ${e.at - t0}`)).toEqual([
      'duty.acquired w1 0',
      'duty.acquired w2 13000',
      'duty.lost w1 13000',
    ]);
    expect(trail[2]?.detail).toMatch(/^epoch 1; not renewed within its TTL/);
  });

  it('a stalled holder that no one replaced records the loss and takes the duty back, same epoch', async () => {
    const t0 = clock.now();
    const a = roster('w1').duty('poller:contacts');
    expect(await a.tryNow()).toBe(true);
    clock.advance(9500);
    expect(a.held).toBe(false);
    expect(await a.tryNow()).toBe(true);
    expect(a.fence?.epoch).toBe(1);
    const trail = (await store.audit.list({ recordKey: 'poller:contacts' }, { limit: 10 })).items;
    expect(trail.map((e) => `${e.action} ${e.at - t0}`)).toEqual(['duty.acquired 0', 'duty.lost 9000']);
  });

  it('the roster says which duties a worker holds', async () => {
    const duties = roster('w1');
    await duties.duty('poller:contacts').tryNow();
    await duties.duty('alerts:monitor').tryNow();
    expect(duties.held()).toEqual(['alerts:monitor', 'poller:contacts']);
    await duties.stopAll();
    expect(duties.held()).toEqual([]);
  });
});

describe('WorkerRegistry start-up checks', () => {
  const identity = (id: string, version = '1.4.0', schemaVersion = storeSchemaVersion): WorkerIdentity => ({
    id,
    host: 'host-a',
    pid: Number(id.replace(/\D/g, '')) || 1,
    version,
    schemaVersion,
  });
  const registry = (who: WorkerIdentity, single?: { host: string; isProcessAlive(pid: number): boolean }) =>
    new WorkerRegistry({ store, clock, logger, identity: who, duties: roster(who.id), single });

  it('lets compatible workers share the store and lists them, a dead one marked', async () => {
    await registry(identity('w1')).register();
    await registry(identity('w2', '1.5.2')).register();
    clock.advance(20_000);
    const w3 = registry(identity('w3'));
    await w3.register();
    const view = describeWorkers(await store.workers.list(), [], clock.now(), 10_000);
    expect(view.workers.map((w) => [w.id, w.alive])).toEqual([
      ['w1', false],
      ['w2', false],
      ['w3', true],
    ]);
    await w3.stop();
    expect((await store.workers.list()).find((w) => w.id === 'w3')?.state).toBe('stopped');
  });

  it('refuses a worker next to a live worker of another major or schema version', async () => {
    await registry(identity('w1', '1.4.0')).register();
    const major = await errorOf(registry(identity('w2', '2.0.0')).register());
    expect(major.code).toBe('WORKER_INCOMPATIBLE');
    expect(major.message).toContain('live worker w1 runs dcsync 1.4.0');
    expect(major.message).toContain('Rolling upgrades');
    const schema = await errorOf(registry(identity('w3', '1.4.0', storeSchemaVersion - 1)).register());
    expect(schema.code).toBe('WORKER_INCOMPATIBLE');
    expect(schema.message).toContain('another store schema version');
  });

  it('refuses a worker whose code needs a newer schema than the store has', async () => {
    const behind = await errorOf(registry(identity('w1', '1.4.0', storeSchemaVersion + 1)).register());
    expect(behind.code).toBe('WORKER_SCHEMA_BEHIND');
  });

  it('on SQLite, refuses a second live process, but not the row a killed process left', async () => {
    await registry(identity('w1')).register();
    const alive = await errorOf(
      registry(identity('w2'), { host: 'host-a', isProcessAlive: () => true }).register(),
    );
    expect(alive.code).toBe('WORKER_SQLITE_SHARED');
    expect(alive.message).toContain('use PostgreSQL');
    await registry(identity('w3'), { host: 'host-a', isProcessAlive: () => false }).register();
  });
});
