/**
 * Store failures: PostgreSQL kills the sync's connections (as a failover, a restart or an
 * administrator's pg_terminate_backend does) again and again during the initial load and during
 * live changes; another process (a backup, an open `sqlite3` shell) holds the SQLite file's write
 * lock longer than the busy timeout. Every statement in flight fails; the engine must retry through
 * it and converge with nothing lost and nothing duplicated (I1, I3, I4).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { buildContact } from '../../support/dynamics-builders.js';
import { postgresTestUrl } from '../../support/postgres-test-schema.js';
import { SyncTestBed } from '../../support/sync-test-bed.js';

let bed: SyncTestBed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

/** Terminate every connection of `applicationName` now; returns how many were cut. */
async function cutConnections(applicationName: string): Promise<number> {
  const admin = new pg.Client({ connectionString: postgresTestUrl });
  await admin.connect();
  try {
    const result = await admin.query<{ cut: boolean }>(
      'SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    );
    return result.rows.filter((r) => r.cut).length;
  } finally {
    await admin.end();
  }
}

describe('store failures', () => {
  it('PostgreSQL connections cut again and again: the sync retries through and converges exactly', async () => {
    const applicationName = `dcsync-fault-${randomBytes(4).toString('hex')}`;
    bed = await SyncTestBed.start({
      store: 'postgres',
      dynamics: { contacts: 1500, seed: 21 },
      config: {
        store: { url: `${postgresTestUrl}?application_name=${applicationName}` },
        // Leases a failed completion left behind expire soon, so the calm run need not wait long.
        engine: { leaseMs: 2000, retry: { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 50 } },
        workers: { dutyTtlMs: 2000 },
      },
    });
    const { runtime, engine } = await bed.engine();
    let cuts = 0;
    let stop = false;
    const cutter = (async () => {
      while (!stop) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        cuts += await cutConnections(applicationName);
      }
    })();
    try {
      await engine.start();
      await expect.poll(() => cuts, { timeout: 30_000 }).toBeGreaterThanOrEqual(10);
      // Live changes while connections keep dying.
      const ids = bed.dynamics.admin.listIds('contact');
      for (const id of ids.slice(0, 20)) bed.dynamics.admin.updateContact(id, { lastname: 'AfterCut' });
      for (const id of ids.slice(20, 30)) bed.dynamics.admin.deleteContact(id);
      for (let i = 0; i < 10; i++)
        bed.dynamics.admin.createContact(buildContact({ lastname: 'NewDuringCuts' }));
      await expect.poll(() => cuts, { timeout: 30_000 }).toBeGreaterThanOrEqual(20);
    } finally {
      stop = true;
      await cutter;
    }
    await engine.stop();
    // Calm again: a fresh engine on the same store finishes whatever the cuts left behind.
    const summary = await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 120_000 });
    expect(summary['dead-lettered']).toBe(0);

    const contacts = bed.dynamics.admin.listIds('contact');
    const profiles = bed.campaign.admin.listRecords('profile').filter((p) => p.values.externalId);
    expect(profiles).toHaveLength(contacts.length);
    expect(new Set(profiles.map((p) => p.values.externalId)).size).toBe(contacts.length);
    const byKey = bed.profilesByExternalId();
    for (const id of contacts) {
      const contact = bed.dynamics.admin.getContact(id)!;
      expect(byKey.get(id)?.lastName ?? null).toBe(contact.lastname ?? null);
    }
    expect(await runtime.store.deadLetters.count()).toBe(0);
  }, 180_000);

  it('SQLite locked by another process beyond the busy timeout, again and again: retries through, converges exactly', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 1500, seed: 22 },
      config: {
        store: { busyTimeoutMs: 50 },
        // Leases a failed completion left behind expire soon, so the calm run need not wait long.
        engine: { leaseMs: 2000, retry: { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 50 } },
        workers: { dutyTtlMs: 2000 },
      },
    });
    const { runtime, engine } = await bed.engine();
    const intruder = new Database(join(bed.dir, 'state.db'));
    let locks = 0;
    try {
      await engine.start();
      for (; locks < 8; locks++) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        intruder.exec('BEGIN EXCLUSIVE');
        try {
          await new Promise((resolve) => setTimeout(resolve, 400));
        } finally {
          intruder.exec('COMMIT');
        }
        if (locks === 3) {
          const ids = bed.dynamics.admin.listIds('contact');
          for (const id of ids.slice(0, 20)) bed.dynamics.admin.updateContact(id, { lastname: 'AfterLock' });
          for (const id of ids.slice(20, 30)) bed.dynamics.admin.deleteContact(id);
        }
      }
    } finally {
      intruder.close();
    }
    // The locks did bite: writes failed and were retried.
    expect(engine.summary().retried).toBeGreaterThan(0);
    await engine.stop();
    const summary = await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 120_000 });
    expect(summary['dead-lettered']).toBe(0);
    const contacts = bed.dynamics.admin.listIds('contact');
    const profiles = bed.campaign.admin.listRecords('profile').filter((p) => p.values.externalId);
    expect(profiles).toHaveLength(contacts.length);
    expect(new Set(profiles.map((p) => p.values.externalId)).size).toBe(contacts.length);
    const byKey = bed.profilesByExternalId();
    for (const id of contacts)
      expect(byKey.get(id)?.lastName ?? null).toBe(bed.dynamics.admin.getContact(id)!.lastname ?? null);
    expect(await runtime.store.deadLetters.count()).toBe(0);
  }, 180_000);
});
