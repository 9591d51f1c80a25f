import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildContact } from '../../support/dynamics-builders.js';
import { RawCampaignCaller } from '../../support/campaign-test-bed.js';
import type { SyncTestBed } from '../../support/sync-test-bed.js';
import {
  buildNote,
  buildOrder,
  buildOrderLine,
  customTableFlows,
  engineWithPaused,
  hiddenCounts,
  startCustomTableBed,
} from '../../support/custom-table-fixtures.js';

/**
 * Model-based test of custom tables (fast-check), three levels deep: contact → new_order →
 * new_orderline, plus new_note → contact (0..1). Random Dynamics writes (creates of single records
 * and of whole families at once, updates, parent moves, deletes that cascade), engine runs that
 * read the four tables in random orders (some flows paused, so children often arrive before their
 * parents), crashes mid-work and remote faults. Once quiet, whatever the order:
 * - Campaign holds exactly the projection of Dynamics: one record per row, mapped values, links
 *   to the right parent record (I1, I6);
 * - no record is hidden in Campaign, for any resource (I6);
 * - nothing is parked and nothing was dead-lettered (order never causes an error).
 */

type Command =
  | { kind: 'contact'; last: string }
  | { kind: 'order'; parent: number; amount: number }
  | { kind: 'line'; parent: number; sku: string }
  | { kind: 'note'; parent: number | null; text: string }
  | { kind: 'family'; last: string; amount: number; sku: string }
  | { kind: 'update'; table: 'new_order' | 'new_orderline' | 'new_note'; pick: number; value: number }
  | { kind: 'move'; table: 'new_order' | 'new_orderline' | 'new_note'; pick: number; parent: number | null }
  | { kind: 'delete'; table: 'contact' | 'new_order' | 'new_orderline' | 'new_note'; pick: number }
  | { kind: 'run'; paused: boolean[] }
  | { kind: 'crash'; afterMs: number; paused: boolean[] }
  | { kind: 'campaign5xx'; count: number };

const name = fc.stringMatching(/^[A-Z][a-z]{2,8}$/);
const sku = fc.stringMatching(/^[A-Z]{2}-\d{1,4}$/);
const paused = fc.array(fc.boolean(), { minLength: 4, maxLength: 4 });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('contact' as const), last: name }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('order' as const),
      parent: fc.nat(),
      amount: fc.integer({ min: 1, max: 999 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('line' as const), parent: fc.nat(), sku }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('note' as const), parent: fc.option(fc.nat()), text: name }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('family' as const),
      last: name,
      amount: fc.integer({ min: 1, max: 999 }),
      sku,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      table: fc.constantFrom('new_order' as const, 'new_orderline' as const, 'new_note' as const),
      pick: fc.nat(),
      value: fc.integer({ min: 1, max: 999 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('move' as const),
      table: fc.constantFrom('new_order' as const, 'new_orderline' as const, 'new_note' as const),
      pick: fc.nat(),
      parent: fc.option(fc.nat()),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      table: fc.constantFrom(
        'contact' as const,
        'new_order' as const,
        'new_orderline' as const,
        'new_note' as const,
      ),
      pick: fc.nat(),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('run' as const), paused }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('crash' as const),
      afterMs: fc.integer({ min: 0, max: 150 }),
      paused,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('campaign5xx' as const),
      count: fc.integer({ min: 1, max: 4 }),
    }),
  },
);

/** Parent table of each child table (its lookup column). */
const parentOf = {
  new_order: { table: 'contact', lookup: 'new_contactid' },
  new_orderline: { table: 'new_order', lookup: 'new_orderid' },
  new_note: { table: 'contact', lookup: 'new_contactid' },
} as const;

describe('custom table sync model (fast-check): three levels, any arrival order', () => {
  let bed: SyncTestBed;
  let caller: RawCampaignCaller;
  beforeAll(async () => {
    bed = await startCustomTableBed({
      config: {
        engine: { leaseMs: 1000, retry: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 50 } },
        // A crashed engine's duties pass on as quickly as its leases.
        workers: { dutyTtlMs: 1000 },
      },
    });
    caller = new RawCampaignCaller(bed.campaign);
  });
  afterAll(async () => {
    await caller.close();
    await bed.close();
  });

  async function freshState(): Promise<void> {
    for (const runtime of bed.runtimes) await runtime.close().catch(() => undefined);
    bed.runtimes = [];
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(bed.dir, `state.db${suffix}`), { force: true });
    bed.dynamics.admin.reset({ contacts: 0 });
    bed.campaign.admin.reset();
  }

  /** Start an engine with these flows paused (true = the sync reads that table later). */
  function startEngine(pausedFlows: readonly boolean[]) {
    return engineWithPaused(
      bed,
      customTableFlows.filter((_, i) => pausedFlows[i]),
    );
  }

  function pick(table: string, n: number): string | null {
    const ids = bed.dynamics.admin.listIds(table);
    return ids.length === 0 ? null : ids[n % ids.length]!;
  }

  function apply(c: Exclude<Command, { kind: 'run' | 'crash' | 'campaign5xx' }>): void {
    const admin = bed.dynamics.admin;
    switch (c.kind) {
      case 'contact':
        admin.createContact(buildContact({ lastname: c.last }));
        return;
      case 'order': {
        const contact = pick('contact', c.parent);
        if (contact) admin.createRow('new_order', buildOrder(contact, { new_amount: c.amount }));
        return;
      }
      case 'line': {
        const order = pick('new_order', c.parent);
        if (order) admin.createRow('new_orderline', buildOrderLine(order, { new_sku: c.sku }));
        return;
      }
      case 'note':
        admin.createRow(
          'new_note',
          buildNote(c.parent === null ? null : pick('contact', c.parent), { new_text: c.text }),
        );
        return;
      case 'family': {
        // Parent, child and grandchild created at (nearly) the same moment.
        const contact = String(admin.createContact(buildContact({ lastname: c.last })).contactid);
        const order = String(
          admin.createRow('new_order', buildOrder(contact, { new_amount: c.amount })).new_orderid,
        );
        admin.createRow('new_orderline', buildOrderLine(order, { new_sku: c.sku }));
        return;
      }
      case 'update': {
        const id = pick(c.table, c.pick);
        if (!id) return;
        const values =
          c.table === 'new_order'
            ? { new_amount: c.value }
            : c.table === 'new_orderline'
              ? { new_sku: `UP-${c.value}` }
              : { new_text: `text ${c.value}` };
        admin.updateRow(c.table, id, values);
        return;
      }
      case 'move': {
        const id = pick(c.table, c.pick);
        const parent = parentOf[c.table];
        // Only notes may lose their parent (0..1); orders and lines always have one (cardinality 1).
        const target = c.parent === null ? null : pick(parent.table, c.parent);
        if (!id || (target === null && c.table !== 'new_note')) return;
        admin.updateRow(c.table, id, { [parent.lookup]: target });
        return;
      }
      case 'delete': {
        const id = pick(c.table, c.pick);
        if (id) admin.deleteRow(c.table, id);
        return;
      }
    }
  }

  /** Records of a resource as the REST API shows them, by key, with the PKey of each link. */
  async function campaignRecords(resource: string): Promise<Map<string, Record<string, unknown>>> {
    const answer = await caller.send('GET', `/profileAndServicesExt/${resource}?_lineCount=1000`);
    expect(answer.status).toBe(200);
    const out = new Map<string, Record<string, unknown>>();
    for (const item of (answer.json as { content: Record<string, unknown>[] }).content) {
      const key = resource === 'profile' ? item.externalId : item.crmId;
      if (typeof key === 'string' && key !== '') {
        expect(out.has(key)).toBe(false);
        out.set(key, item);
      }
    }
    return out;
  }

  function linkPKey(record: Record<string, unknown> | undefined, link: string): string | null {
    const value = record?.[link] as { PKey?: string } | undefined;
    return value?.PKey ?? null;
  }

  /** Campaign equals the projection of Dynamics, links included. */
  async function expectProjection(): Promise<void> {
    const admin = bed.dynamics.admin;
    const profiles = await campaignRecords('profile');
    const orders = await campaignRecords('cusOrder');
    const lines = await campaignRecords('cusOrderLine');
    const notes = await campaignRecords('cusNote');
    const contactRows = admin.listRows('contact');
    expect(new Set(profiles.keys())).toEqual(new Set(contactRows.map((r) => String(r.contactid))));
    for (const row of contactRows) expect(profiles.get(String(row.contactid))!.lastName).toBe(row.lastname);

    const orderRows = admin.listRows('new_order');
    expect(new Set(orders.keys())).toEqual(new Set(orderRows.map((r) => String(r.new_orderid))));
    for (const row of orderRows) {
      const order = orders.get(String(row.new_orderid))!;
      expect(order.amount).toBe(row.new_amount);
      expect(linkPKey(order, 'profile')).toBe(profiles.get(String(row.new_contactid))!.PKey);
    }
    const lineRows = admin.listRows('new_orderline');
    expect(new Set(lines.keys())).toEqual(new Set(lineRows.map((r) => String(r.new_orderlineid))));
    for (const row of lineRows) {
      const line = lines.get(String(row.new_orderlineid))!;
      expect(line.sku).toBe(row.new_sku);
      expect(linkPKey(line, 'order')).toBe(orders.get(String(row.new_orderid))!.PKey);
    }
    const noteRows = admin.listRows('new_note');
    expect(new Set(notes.keys())).toEqual(new Set(noteRows.map((r) => String(r.new_noteid))));
    for (const row of noteRows) {
      const note = notes.get(String(row.new_noteid))!;
      expect(note.text).toBe(row.new_text);
      const contact = row.new_contactid === null ? null : String(row.new_contactid);
      expect(linkPKey(note, 'profile')).toBe(contact === null ? null : profiles.get(contact)!.PKey);
    }
  }

  it('converges to the projection of Dynamics with nothing hidden, parked or dead-lettered', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 6, maxLength: 16 }), async (commands) => {
        await freshState();
        for (const c of commands) {
          switch (c.kind) {
            case 'run': {
              const { engine } = await startEngine(c.paused);
              await engine.runUntilIdle({ timeoutMs: 60_000 });
              break;
            }
            case 'crash': {
              const { runtime, engine } = await startEngine(c.paused);
              await engine.start();
              await new Promise((r) => setTimeout(r, c.afterMs));
              await runtime.store.close();
              await engine.stop().catch(() => undefined);
              await runtime.close().catch(() => undefined);
              break;
            }
            case 'campaign5xx':
              bed.campaign.admin.setFaults({ errorNext: c.count, errorStatus: 503 });
              break;
            default:
              apply(c);
          }
          // Invariant at every step: nothing is ever hidden in Campaign.
          expect(hiddenCounts(bed.campaign)).toEqual({
            profile: 0,
            cusOrder: 0,
            cusOrderLine: 0,
            cusNote: 0,
          });
        }
        bed.campaign.admin.clearFaults();
        const { runtime, engine } = await startEngine([false, false, false, false]);
        await engine.runUntilIdle({ timeoutMs: 60_000 });

        expect((await runtime.store.deadLetters.list({}, {})).items).toEqual([]);
        expect(await runtime.store.parked.count()).toBe(0);
        expect(hiddenCounts(bed.campaign)).toEqual({ profile: 0, cusOrder: 0, cusOrderLine: 0, cusNote: 0 });
        await expectProjection();
      }),
      { numRuns: 6, seed: 20261128, endOnFailure: true },
    );
  }, 120_000);
});
