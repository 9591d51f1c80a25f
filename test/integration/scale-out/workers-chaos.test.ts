/**
 * Scale-out under fire (issue 19, "Must show"): three `dcsync run` processes on one PostgreSQL
 * schema share a 20,000-contact initial load, live changes and three linked custom tables while
 * the test kills one of them with SIGKILL at least 30 times — often the one holding the contact
 * poller — and starts it again. At the end Campaign is the projection of Dynamics: every contact
 * and custom row exactly once with its values (I1, I4), nothing for deleted rows, no hidden child
 * (I6), foreign profiles untouched (I2), no dead letter, an empty inbox; and no duty ever had two
 * holders at once (from the store's duty audit).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { SeededRandom } from '../../../emulators/shared/seeded-random.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { buildContact } from '../../support/dynamics-builders.js';
import {
  buildNote,
  buildOrder,
  buildOrderLine,
  hiddenCounts,
  recordsByKey,
  startCustomTableBed,
} from '../../support/custom-table-fixtures.js';
import { bundleSyncChild, SyncChild, type SyncChildScript } from '../../support/sync-process.js';
import type { SyncTestBed } from '../../support/sync-test-bed.js';
import { expectConverged, foreignProfiles, profilesByKey } from '../engine/fixtures/sync-convergence.js';

const contacts = 20_000;
const workers = 3;
const kills = 30;
const seed = 19;

describe('three workers on one PostgreSQL under a kill -9 loop', () => {
  let bed: SyncTestBed | undefined;
  let script: SyncChildScript | undefined;
  const children = new Set<SyncChild>();
  let db: pg.Client | undefined;
  afterAll(async () => {
    await db?.end().catch(() => undefined);
    await Promise.all([...children].map((c) => c.kill('SIGKILL')));
    script?.dispose();
    await bed?.close();
  });

  it('loses nothing, duplicates nothing, hides no child and never has two holders of a duty', async () => {
    script = await bundleSyncChild();
    const began = Date.now();
    bed = await startCustomTableBed({
      store: 'postgres',
      dynamics: { contacts, seed },
      campaign: { seed, profiles: 25 },
      config: {
        dynamics: { pageSize: 500 },
        campaign: { budget: { callsPerSecond: 3000, adaptive: false } },
        // Short leases and duty locks: a killed worker's items and duties pass to another quickly.
        engine: { workers: 16, leaseMs: 2000, pollIntervalMs: 500 },
        workers: { heartbeatMs: 500, dutyTtlMs: 2000 },
        logging: { level: 'info' },
      },
    });
    const dynamics = bed.dynamics.admin;
    const campaign = bed.campaign.admin;
    const config = bed.loadConfig();
    const schema = config.store.schema ?? 'public';
    const random = new SeededRandom(seed);
    const foreignBefore = foreignProfiles(bed);
    expect(foreignBefore.length).toBeGreaterThan(0);

    // Custom rows on some of the seeded contacts: orders, their lines, notes.
    const contactIds = dynamics.listIds('contact');
    const orderIds: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const order = dynamics.createRow('new_order', buildOrder(random.pick(contactIds), { new_amount: i }));
      orderIds.push(String(order.new_orderid));
    }
    for (let i = 0; i < 1500; i++)
      dynamics.createRow('new_orderline', buildOrderLine(random.pick(orderIds), { new_sku: `S${i}` }));
    for (let i = 0; i < 500; i++)
      dynamics.createRow('new_note', buildNote(random.chance(0.9) ? random.pick(contactIds) : null));

    if (process.env.CHAOS_DEBUG) console.error(`seeded in ${Date.now() - began} ms`);
    const deleted = new Set<string>();
    let serial = 0;
    const liveChanges = (): void => {
      const ids = dynamics.listIds('contact');
      for (let i = random.int(1, 5); i > 0; i--) {
        const contact = dynamics.createContact(
          buildContact({ lastname: `Live${++serial}`, contactid: random.guid() }),
        );
        // A new contact with a new order and line: children that may be read before their parent.
        if (random.chance(0.5)) {
          const order = dynamics.createRow('new_order', buildOrder(String(contact.contactid)));
          dynamics.createRow('new_orderline', buildOrderLine(String(order.new_orderid)));
        }
      }
      for (let i = random.int(3, 10); i > 0; i--) {
        const id = random.pick(ids);
        if (deleted.has(id)) continue;
        const n = ++serial;
        dynamics.updateContact(id, { lastname: `Upd${n}`, emailaddress1: `u${n}@example.org` });
      }
      for (let i = random.int(0, 2); i > 0; i--) {
        const id = random.pick(ids);
        if (deleted.has(id)) continue;
        dynamics.deleteContact(id); // cascades to its orders and their lines in Dynamics
        deleted.add(id);
      }
      const orders = dynamics.listIds('new_order');
      if (orders.length > 0 && random.chance(0.5))
        dynamics.updateRow('new_order', random.pick(orders), { new_amount: ++serial });
    };

    const client = new pg.Client({ connectionString: config.store.url });
    db = client;
    await client.connect();
    await client.query(`SET search_path TO "${schema}"`);
    const holderOf = async (duty: string): Promise<string | null> => {
      try {
        const rows = await client.query<{ owner: string }>(
          'SELECT owner FROM named_locks WHERE name = $1 AND expires_at > 0',
          [duty],
        );
        return rows.rows[0]?.owner ?? null;
      } catch {
        return null; // not migrated yet
      }
    };

    const start = (): SyncChild => {
      const child = SyncChild.spawn(script!, bed!.configPath, { captureOutput: true });
      children.add(child);
      void child.exited.then(() => children.delete(child));
      return child;
    };
    const pool: SyncChild[] = [];
    for (let i = 0; i < workers; i++) pool.push(start());
    await Promise.all(pool.map((c) => c.running));

    const t0 = Date.now();
    const debug = (what: string): void => {
      if (process.env.CHAOS_DEBUG)
        console.error(
          `${Date.now() - t0} ms ${what}: profiles=${campaign.countRecords('profile').total} calls=${campaign.stats().requests}`,
        );
    };
    debug('workers running');
    const work = (): number => campaign.stats().requests;
    /** When each worker process was killed (SIGKILL in the loop, SIGTERM at the end), by pid. */
    const killedAt = new Map<number, number>();
    let killedHolders = 0;
    for (let kill = 0; kill < kills; kill++) {
      // The moment is drawn in work done (Campaign calls), capped in time.
      const target = work() + random.int(100, 1000);
      for (let waited = 0; work() < target && waited < 3000; waited += 20) await sleep(20);
      liveChanges();
      let victim = random.int(0, workers - 1);
      if (random.chance(0.5)) {
        const holder = await holderOf('poller:contacts');
        const index = pool.findIndex((c) => holder !== null && holder.includes(`:${c.pid}:`));
        if (index >= 0) {
          victim = index;
          killedHolders++;
        }
      }
      killedAt.set(pool[victim]!.pid, Date.now());
      const exit = await pool[victim]!.kill('SIGKILL');
      expect(exit.signal, `worker ended by itself: ${exit.stderr.slice(-2000)}`).toBe('SIGKILL');
      if (random.chance(0.5)) liveChanges();
      pool[victim] = start();
      // Sometimes wait for it to be up; otherwise the others work on while it starts (and it may be
      // killed again while it starts).
      if (random.chance(0.3)) await pool[victim]!.running;
      debug(`kill ${kill}`);
    }
    expect(killedHolders).toBeGreaterThan(5);

    // The survivors drain; one last run finishes what is left and reports idle.
    for (const child of pool) killedAt.set(child.pid, Date.now());
    await Promise.all(pool.map((c) => c.kill('SIGTERM')));
    const finalRun = SyncChild.spawn(script, bed.configPath, { untilIdle: true });
    children.add(finalRun);
    const timeout = setTimeout(() => void finalRun.kill('SIGKILL'), 300_000);
    const final = await finalRun.exited;
    clearTimeout(timeout);
    debug('final run');
    expect(final.code, final.stderr.slice(-3000)).toBe(0);

    // I1, I4: one profile per contact with its values; none for deleted ones. I2: foreign untouched.
    expectConverged(bed);
    const byKey = profilesByKey(bed);
    expect([...deleted].filter((id) => byKey.has(id))).toEqual([]);
    expect(foreignProfiles(bed)).toEqual(foreignBefore);

    // Custom tables: every row once, with its value; none for rows deleted by cascade. I6: none hidden.
    const expectRows = (table: string, resource: string, field: string, column: string): void => {
      const rows = dynamics.listRows(table);
      const records = recordsByKey(bed!.campaign, resource);
      const idColumn = `${table}id`;
      const missing = rows.filter((r) => !records.has(String(r[idColumn])));
      expect(missing.length, `${table} rows missing in Campaign`).toBe(0);
      const wrong = rows.filter((r) => records.get(String(r[idColumn]))!.values[field] !== r[column]);
      expect(wrong.length, `${table} rows with other values in Campaign`).toBe(0);
      const ids = new Set(rows.map((r) => String(r[idColumn])));
      expect(
        [...records.keys()].filter((k) => !ids.has(k)),
        `${resource} records of deleted rows`,
      ).toEqual([]);
      expect(campaign.listRecords(resource, { includeHidden: true }).length).toBe(rows.length);
    };
    expectRows('new_order', 'cusOrder', 'amount', 'new_amount');
    expectRows('new_orderline', 'cusOrderLine', 'sku', 'new_sku');
    expectRows('new_note', 'cusNote', 'text', 'new_text');
    expect(hiddenCounts(bed.campaign)).toEqual({ profile: 0, cusOrder: 0, cusOrderLine: 0, cusNote: 0 });

    const store = await openStateStore(config.store.url, { migrate: false, schema });
    try {
      expect((await store.deadLetters.list({}, {})).items).toEqual([]);
      expect(await store.parked.count()).toBe(0);
      const backlog = await store.queue.backlog();
      expect(backlog.reduce((n, b) => n + b.queued + b.leased, 0)).toBe(0);

      // No duty ever had two holders at once, from the audit trail of each hand-over: epochs rise
      // one by one; a duty is taken over only from a holder that released it, that noticed it had
      // lost it, or whose process the test had killed by then — never from a live, unaware holder.
      const duties = (await client.query<{ name: string }>('SELECT name FROM named_locks')).rows.map(
        (r) => r.name,
      );
      expect(duties).toContain('poller:contacts');
      let takeovers = 0;
      for (const duty of duties) {
        const trail = (await store.audit.list({ recordKey: duty }, { limit: 10_000 })).items
          .filter((e) => e.action.startsWith('duty.'))
          .sort((a, b) => a.at - b.at);
        const acquired = trail.filter((e) => e.action === 'duty.acquired');
        const epochs = acquired.map((e) => Number(/^epoch (\d+)/.exec(e.detail ?? '')?.[1]));
        expect(epochs, `epochs of ${duty}`).toEqual(epochs.map((_, i) => i + 1));
        for (const entry of acquired) {
          const previous = /expired, held by (\S+)$/.exec(entry.detail ?? '')?.[1];
          if (previous === undefined) continue;
          takeovers++;
          const pid = Number(previous.split(':')[1]);
          const killed = killedAt.get(pid);
          const noticed = trail.some(
            (e) => e.action === 'duty.lost' && e.actor === previous && e.at <= entry.at,
          );
          expect(
            noticed || (killed !== undefined && killed <= entry.at),
            `${duty} taken by ${entry.actor} at ${entry.at} from ${previous}, which was neither killed nor aware by then`,
          ).toBe(true);
        }
      }
      expect(takeovers).toBeGreaterThan(5);
    } finally {
      await store.close();
    }
  }, 900_000);
});
