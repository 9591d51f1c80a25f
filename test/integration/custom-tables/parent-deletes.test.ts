import { afterEach, describe, expect, it } from 'vitest';
import { tableFlowId } from '../../../src/engine/records/record-flow.js';
import type { SyncRuntime } from '../../../src/cli/runtime/sync-runtime.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { RawCampaignCaller } from '../../support/campaign-test-bed.js';
import type { SyncTestBed } from '../../support/sync-test-bed.js';
import {
  buildNote,
  buildOrder,
  buildOrderLine,
  hiddenCounts,
  recordsByKey,
  runWithPaused,
  startCustomTableBed,
} from '../../support/custom-table-fixtures.js';

const orders = tableFlowId('new_order');
const lines = tableFlowId('new_orderline');
const notes = tableFlowId('new_note');
const noneHidden = { profile: 0, cusOrder: 0, cusOrderLine: 0, cusNote: 0 };

describe('custom tables: deleting parents', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  const runWith = (paused: readonly string[] = []): Promise<SyncRuntime> => runWithPaused(bed!, paused);

  /** A contact with an order, two lines and a note, all synced. */
  async function syncedFamily() {
    const contactId = String(bed!.dynamics.admin.createContact(buildContact()).contactid);
    const orderId = String(bed!.dynamics.admin.createRow('new_order', buildOrder(contactId)).new_orderid);
    const lineIds = [1, 2].map((n) =>
      String(
        bed!.dynamics.admin.createRow('new_orderline', buildOrderLine(orderId, { new_sku: `L-${n}` }))
          .new_orderlineid,
      ),
    );
    const noteId = String(bed!.dynamics.admin.createRow('new_note', buildNote(contactId)).new_noteid);
    await runWith();
    expect(recordsByKey(bed!.campaign, 'cusOrderLine').size).toBe(2);
    return { contactId, orderId, lineIds, noteId };
  }

  it('children follow Campaign’s cascade; their Dynamics deletes arriving later find nothing and raise nothing', async () => {
    bed = await startCustomTableBed();
    const family = await syncedFamily();
    // The contact's delete is read first; Campaign cascades it to the order and its lines.
    bed.dynamics.admin.deleteContact(family.contactId);
    let runtime = await runWith([orders, lines]);
    expect(recordsByKey(bed.campaign, 'cusOrder').size).toBe(0);
    expect(recordsByKey(bed.campaign, 'cusOrderLine').size).toBe(0);
    // The note's link does not cascade (0..1): it stays, visible, and its link is cleared when
    // Dynamics removes the lookup.
    expect(recordsByKey(bed.campaign, 'cusNote').has(family.noteId)).toBe(true);
    expect(hiddenCounts(bed.campaign)).toEqual(noneHidden);

    // Then the children's own deletes: absent in Campaign, the key map follows.
    runtime = await runWith();
    expect(await runtime.store.keyMap.count(orders)).toBe(0);
    expect(await runtime.store.keyMap.count(lines)).toBe(0);
    expect(await runtime.store.keyMap.count('contacts')).toBe(0);
    expect(await runtime.store.keyMap.count(notes)).toBe(1);
    expect(await runtime.store.parked.count()).toBe(0);
    const note = bed.campaign.admin.getRecord('cusNote', family.noteId)!;
    expect(note.visible).toBe(true);
    expect(note.links.profile ?? null).toBeNull();
  });

  it('a child written after its parent vanished in a cascade parks on the parent instead of failing', async () => {
    bed = await startCustomTableBed();
    const family = await syncedFamily();
    // Someone deletes the profile in Campaign: the order and its lines go with it (cascade), while
    // Dynamics still holds all of them. The key map still names the old records.
    const caller = new RawCampaignCaller(bed.campaign);
    try {
      const profile = bed.profilesByExternalId().get(family.contactId)!;
      expect(
        (await caller.send('DELETE', `/profileAndServicesExt/profile/${profile.PKey as string}`)).status,
      ).toBe(200);
    } finally {
      await caller.close();
    }
    expect(recordsByKey(bed.campaign, 'cusOrderLine').size).toBe(0);

    // A line changes: its own record is gone, its parent too. It waits instead of dead-lettering.
    bed.dynamics.admin.updateRow('new_orderline', family.lineIds[0]!, { new_sku: 'L-1b' });
    let runtime = await runWith();
    expect((await runtime.store.parked.get(lines, family.lineIds[0]!))?.parent).toEqual({
      flow: orders,
      recordKey: family.orderId,
    });
    expect(hiddenCounts(bed.campaign)).toEqual(noneHidden);

    // The order changes: it waits for its contact, whose profile is gone too.
    bed.dynamics.admin.updateRow('new_order', family.orderId, { new_amount: 11 });
    runtime = await runWith();
    expect((await runtime.store.parked.get(orders, family.orderId))?.parent.recordKey).toBe(family.contactId);

    // The contact changes: it is written again, and everything waiting on it follows, parents first.
    bed.dynamics.admin.updateContact(family.contactId, { lastname: 'Back' });
    runtime = await runWith();
    expect(await runtime.store.parked.count()).toBe(0);
    expect(bed.profilesByExternalId().get(family.contactId)!.lastName).toBe('Back');
    expect(recordsByKey(bed.campaign, 'cusOrder').get(family.orderId)!.values.amount).toBe(11);
    expect(recordsByKey(bed.campaign, 'cusOrderLine').get(family.lineIds[0]!)!.values.sku).toBe('L-1b');
    expect(hiddenCounts(bed.campaign)).toEqual(noneHidden);
  });
});

describe('custom tables: replay and re-baseline per table', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('a replay of one table rewrites its records (recreating what vanished) and leaves other tables alone', async () => {
    bed = await startCustomTableBed();
    const contactId = String(bed.dynamics.admin.createContact(buildContact()).contactid);
    const orderId = String(bed.dynamics.admin.createRow('new_order', buildOrder(contactId)).new_orderid);
    const lineIds = [1, 2, 3].map((n) =>
      String(
        bed!.dynamics.admin.createRow('new_orderline', buildOrderLine(orderId, { new_sku: `R-${n}` }))
          .new_orderlineid,
      ),
    );
    await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 60_000 });
    // A line vanishes from Campaign behind the sync's back.
    const caller = new RawCampaignCaller(bed.campaign);
    try {
      expect((await caller.send('DELETE', `/profileAndServicesExt/cusOrderLine/${lineIds[1]!}`)).status).toBe(
        200,
      );
    } finally {
      await caller.close();
    }
    bed.campaign.admin.resetStats();

    const { runtime, engine } = await bed.engine();
    await engine.start();
    await engine.requestReplay(lines);
    await engine.runUntilIdle({ timeoutMs: 60_000 });
    expect([...recordsByKey(bed.campaign, 'cusOrderLine').keys()].sort()).toEqual([...lineIds].sort());
    const audit = await runtime.store.audit.list({ flow: lines }, { limit: 100 });
    expect(audit.items.filter((e) => e.action === 'cusOrderLine.create')).toHaveLength(4);
    // Only the replayed table was written.
    const orderAudit = await runtime.store.audit.list({ flow: orders }, { limit: 100 });
    expect(orderAudit.items.filter((e) => !e.action.startsWith('record.')).map((e) => e.action)).toEqual([
      'cusOrder.create',
    ]);
    expect(hiddenCounts(bed.campaign)).toEqual(noneHidden);
  });

  it('an expired delta link re-baselines the table: creates, updates and deletes made meanwhile all arrive', async () => {
    bed = await startCustomTableBed();
    const contactId = String(bed.dynamics.admin.createContact(buildContact()).contactid);
    const orderIds = [1, 2, 3].map((n) =>
      String(
        bed!.dynamics.admin.createRow('new_order', buildOrder(contactId, { new_amount: n })).new_orderid,
      ),
    );
    await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(recordsByKey(bed.campaign, 'cusOrder').size).toBe(3);

    bed.dynamics.admin.expireDeltaTokens();
    bed.dynamics.admin.deleteRow('new_order', orderIds[0]!);
    bed.dynamics.admin.updateRow('new_order', orderIds[1]!, { new_amount: 20 });
    const added = String(
      bed.dynamics.admin.createRow('new_order', buildOrder(contactId, { new_amount: 4 })).new_orderid,
    );
    const { runtime, engine } = await bed.engine();
    await engine.runUntilIdle({ timeoutMs: 60_000 });

    const written = recordsByKey(bed.campaign, 'cusOrder');
    expect([...written.keys()].sort()).toEqual([orderIds[1]!, orderIds[2]!, added].sort());
    expect(written.get(orderIds[1]!)!.values.amount).toBe(20);
    const deleted = await runtime.store.audit.list(
      { flow: orders, action: 'cusOrder.delete' },
      { limit: 10 },
    );
    expect(deleted.items.map((e) => [e.recordKey, e.detail])).toEqual([
      [orderIds[0]!, 'regular delete: record missing from Dynamics after re-baseline (not a privacy delete)'],
    ]);
    expect(await runtime.store.deadLetters.count()).toBe(0);
  });
});
