import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tableFlowId } from '../../../src/engine/records/record-flow.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { storeKinds, type SyncTestBed } from '../../support/sync-test-bed.js';
import {
  buildOrder,
  engineWithPaused,
  hiddenCounts,
  orderTable,
  startCustomTableBed,
} from '../../support/custom-table-fixtures.js';
import { readUntilCaughtUp } from '../../support/rebaseline-helpers.js';
import { RawCampaignCaller } from '../../support/campaign-test-bed.js';

/**
 * Model-based test of re-baselining (fast-check, issue #15): random interleavings of Dynamics
 * creates, updates and deletes of contacts and of a custom table linked to them (new_order →
 * profile, cardinality 1, so orders read before their contact are parked), with delta-link expiries
 * at any point and the sync's work held up at any point — Campaign throttling every call (creates
 * tried, waiting for their retry), or only the pollers running (creates staged, never tried), or a
 * flow paused (children parked). Once quiet, on SQLite and on PostgreSQL:
 * - Campaign equals the projection of Dynamics: one record per row with its mapped values and the
 *   link to its parent's record (I1, I6);
 * - no deleted record is left behind, nothing is duplicated (I4), nothing hidden;
 * - nothing is parked, queued or dead-lettered.
 */

const contacts = 'contacts';
const orders = tableFlowId('new_order');
const flows = [contacts, orders] as const;

type Held = 'throttled' | 'pollers-only';
type Change =
  | { kind: 'contact'; last: string }
  | { kind: 'updateContact'; pick: number; last: string }
  | { kind: 'deleteContact'; pick: number }
  | { kind: 'order'; parent: number; amount: number }
  | { kind: 'updateOrder'; pick: number; amount: number }
  | { kind: 'moveOrder'; pick: number; parent: number }
  | { kind: 'deleteOrder'; pick: number };
type Sync = { kind: 'run'; pausedContacts: boolean } | { kind: 'held'; how: Held; pausedContacts: boolean };
/** Some changes in Dynamics, maybe the delta links expiring, then the sync doing some of its work. */
interface Step {
  changes: Change[];
  expire: boolean;
  sync: Sync;
}

const name = fc.stringMatching(/^[A-Z][a-z]{2,8}$/);
/** `pick` of the newest row of a table (rows list in creation order). */
const newest = -1;
const amount = fc.integer({ min: 1, max: 999 });
// Deletes favour the newest rows: those whose creates are most likely still waiting.
const deletePick = fc.oneof(fc.nat(), fc.constant(newest));
const change: fc.Arbitrary<Change> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('contact' as const), last: name }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('updateContact' as const), pick: fc.nat(), last: name }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deleteContact' as const), pick: deletePick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('order' as const), parent: fc.nat(), amount }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('updateOrder' as const), pick: fc.nat(), amount }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('moveOrder' as const), pick: fc.nat(), parent: fc.nat() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deleteOrder' as const), pick: deletePick }) },
);
const sync: fc.Arbitrary<Sync> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('run' as const), pausedContacts: fc.boolean() }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('held' as const),
      how: fc.constantFrom<Held>('pollers-only', 'pollers-only', 'throttled'),
      pausedContacts: fc.boolean(),
    }),
  },
);
const step: fc.Arbitrary<Step> = fc.record({
  changes: fc.array(change, { maxLength: 4 }),
  expire: fc.boolean(),
  sync,
});

describe.each(storeKinds)('re-baseline model (fast-check, %s)', (store) => {
  let bed: SyncTestBed;
  let caller: RawCampaignCaller;
  beforeAll(async () => {
    bed = await startCustomTableBed({
      store,
      tables: [orderTable],
      config: { engine: { pollIntervalMs: 100, retry: { initialDelayMs: 20, maxDelayMs: 100 } } },
    });
    caller = new RawCampaignCaller(bed.campaign);
  });
  afterAll(async () => {
    await caller.close();
    await bed.close();
  });

  function pick(table: string, n: number): string | null {
    const ids = bed.dynamics.admin.listIds(table);
    if (ids.length === 0) return null;
    return n === newest ? ids[ids.length - 1]! : ids[n % ids.length]!;
  }

  function applyToDynamics(c: Change): void {
    const admin = bed.dynamics.admin;
    switch (c.kind) {
      case 'contact':
        admin.createContact(buildContact({ lastname: c.last }));
        return;
      case 'updateContact': {
        const id = pick('contact', c.pick);
        if (id) admin.updateContact(id, { lastname: c.last });
        return;
      }
      case 'deleteContact': {
        // Dynamics cascades the delete to the contact's orders.
        const id = pick('contact', c.pick);
        if (id) admin.deleteContact(id);
        return;
      }
      case 'order': {
        const contact = pick('contact', c.parent);
        if (contact) admin.createRow('new_order', buildOrder(contact, { new_amount: c.amount }));
        return;
      }
      case 'updateOrder': {
        const id = pick('new_order', c.pick);
        if (id) admin.updateRow('new_order', id, { new_amount: c.amount });
        return;
      }
      case 'moveOrder': {
        const id = pick('new_order', c.pick);
        const contact = pick('contact', c.parent);
        if (id && contact) admin.updateRow('new_order', id, { new_contactid: contact });
        return;
      }
      case 'deleteOrder': {
        const id = pick('new_order', c.pick);
        if (id) admin.deleteRow('new_order', id);
        return;
      }
    }
  }

  /** Read both tables with the work held up: throttled by Campaign, or no worker at all. */
  async function readHeld(how: Held, pausedContacts: boolean): Promise<void> {
    const paused = pausedContacts ? [contacts] : [];
    const { runtime } = await readUntilCaughtUp(bed, {
      flowIds: flows.filter((f) => !paused.includes(f)),
      allFlows: flows,
      paused,
      work: how === 'throttled',
      ...(how === 'throttled'
        ? { beforeStart: () => bed.campaign.admin.setLimits({ callsPerSecond: 0 }) }
        : {}),
    });
    bed.campaign.admin.setLimits({ callsPerSecond: null });
    // Gone like a stopped worker before the next one starts.
    await runtime.close();
  }

  /** Keys of a resource's records, hidden ones included: none may appear twice (I4). */
  function expectNoDuplicates(resource: string, keyField: string): void {
    const keys = bed.campaign.admin
      .listRecords(resource, { includeHidden: true })
      .map((r) => r.values[keyField])
      .filter((key) => typeof key === 'string' && key !== '');
    expect(keys.length, `${resource} keys written twice`).toBe(new Set(keys).size);
  }

  /** Records of a resource as the REST API shows them, by key. */
  async function campaignRecords(
    resource: string,
    keyField: string,
  ): Promise<Map<string, Record<string, unknown>>> {
    const answer = await caller.send('GET', `/profileAndServicesExt/${resource}?_lineCount=1000`);
    expect(answer.status).toBe(200);
    const out = new Map<string, Record<string, unknown>>();
    for (const item of (answer.json as { content: Record<string, unknown>[] }).content) {
      const key = item[keyField];
      if (typeof key === 'string' && key !== '') out.set(key, item);
    }
    return out;
  }

  async function expectProjection(): Promise<void> {
    expectNoDuplicates('profile', 'externalId');
    expectNoDuplicates('cusOrder', 'crmId');
    expect(hiddenCounts(bed.campaign)).toMatchObject({ profile: 0, cusOrder: 0 });
    const admin = bed.dynamics.admin;
    const profiles = await campaignRecords('profile', 'externalId');
    const contactRows = admin.listRows('contact');
    expect([...profiles.keys()].sort(), 'profiles = contacts').toEqual(
      contactRows.map((r) => String(r.contactid)).sort(),
    );
    for (const row of contactRows) expect(profiles.get(String(row.contactid))!.lastName).toBe(row.lastname);

    const orderRecords = await campaignRecords('cusOrder', 'crmId');
    const orderRows = admin.listRows('new_order');
    expect([...orderRecords.keys()].sort(), 'cusOrder records = orders').toEqual(
      orderRows.map((r) => String(r.new_orderid)).sort(),
    );
    for (const row of orderRows) {
      const record = orderRecords.get(String(row.new_orderid))!;
      expect(record.amount).toBe(row.new_amount);
      expect((record.profile as { PKey?: string } | undefined)?.PKey).toBe(
        profiles.get(String(row.new_contactid))!.PKey,
      );
    }
  }

  it('ends with Campaign equal to the projection of Dynamics, nothing left behind or duplicated', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 3, maxLength: 7 }), async (steps) => {
        await bed.resetStore();
        bed.dynamics.admin.reset({ contacts: 0 });
        bed.campaign.admin.reset();
        for (const { changes, expire, sync: s } of steps) {
          for (const c of changes) applyToDynamics(c);
          if (expire) bed.dynamics.admin.expireDeltaTokens();
          if (s.kind === 'held') await readHeld(s.how, s.pausedContacts);
          else {
            const { runtime, engine } = await engineWithPaused(bed, s.pausedContacts ? [contacts] : []);
            await engine.runUntilIdle({ timeoutMs: 60_000 });
            await runtime.close();
          }
        }
        const { runtime, engine } = await engineWithPaused(bed, []);
        await engine.runUntilIdle({ timeoutMs: 60_000 });

        expect((await runtime.store.deadLetters.list({}, {})).items).toEqual([]);
        expect(await runtime.store.parked.count()).toBe(0);
        expect(await runtime.store.queue.backlog()).toEqual([]);
        await expectProjection();
      }),
      { numRuns: 10, seed: 20261215, endOnFailure: true },
    );
  }, 120_000);
});
