import { afterEach, describe, expect, it } from 'vitest';
import type { SyncRuntime } from '../../../src/cli/runtime/sync-runtime.js';
import { tableFlowId } from '../../../src/engine/records/record-flow.js';
import { NO_PARENT_KEY } from '../../../src/engine/records/link-resolver.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { runDcsync } from '../../support/cli-runner.js';
import { storeKinds, testEnv, type SyncTestBed } from '../../support/sync-test-bed.js';
import { RawCampaignCaller } from '../../support/campaign-test-bed.js';
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

/** Campaign link of a record, as the REST API shows it (`{PKey, href}` or `{}`). */
async function linkOf(
  caller: RawCampaignCaller,
  root: string,
  resource: string,
  key: string,
  link: string,
): Promise<string | null> {
  const answer = await caller.send('GET', `/${root}/${resource}/${key}`);
  expect(answer.status).toBe(200);
  const value = (answer.json as Record<string, { PKey?: string } | undefined>)[link];
  return value?.PKey ?? null;
}

describe.each(storeKinds)('custom tables: parents first (I6), %s store', (store) => {
  let bed: SyncTestBed | undefined;
  let caller: RawCampaignCaller | undefined;
  afterEach(async () => {
    await caller?.close();
    await bed?.close();
    bed = undefined;
    caller = undefined;
  });

  /** Run an engine until idle with some flows paused (the sync reads those tables later). */
  const runWith = (paused: readonly string[] = []): Promise<SyncRuntime> => runWithPaused(bed!, paused);

  it('parks children read before their parents and releases them, three levels deep, the moment each parent lands', async () => {
    bed = await startCustomTableBed({ store });
    const contact = bed.dynamics.admin.createContact(buildContact());
    const contactId = String(contact.contactid);
    const order = bed.dynamics.admin.createRow('new_order', buildOrder(contactId, { new_amount: 42.5 }));
    const orderId = String(order.new_orderid);
    const line = bed.dynamics.admin.createRow('new_orderline', buildOrderLine(orderId, { new_sku: 'A-1' }));
    const lineId = String(line.new_orderlineid);
    const note = bed.dynamics.admin.createRow('new_note', buildNote(contactId));
    const lonely = bed.dynamics.admin.createRow('new_note', buildNote(null, { new_text: 'no contact' }));

    // Grandchildren and notes first: contacts and orders are read later.
    let runtime = await runWith(['contacts', orders]);
    expect(await runtime.store.parked.count(lines)).toBe(1);
    expect(await runtime.store.parked.count(notes)).toBe(1);
    expect((await runtime.store.parked.get(lines, lineId))?.parent).toEqual({
      flow: orders,
      recordKey: orderId,
    });
    // An empty lookup on a 0..1 link means "no parent": written at once.
    expect(recordsByKey(bed.campaign, 'cusNote').has(String(lonely.new_noteid))).toBe(true);
    expect(recordsByKey(bed.campaign, 'cusOrderLine').size).toBe(0);
    expect(hiddenCounts(bed.campaign)).toEqual({ profile: 0, cusOrder: 0, cusOrderLine: 0, cusNote: 0 });

    // Operators see what waits for what: status counts, `dcsync parked list` names the parent.
    const status = await runDcsync(['status', '--config', bed.configPath], testEnv);
    expect(status.stdout).toContain(`flow ${lines} (table new_orderline)`);
    expect(status.stdout).toMatch(/parked 1/);
    const listed = await runDcsync(
      ['parked', 'list', '--config', bed.configPath, '--flow', 'new_orderline'],
      testEnv,
    );
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('1 parked in flow table:new_orderline');
    expect(listed.stdout).toContain(`${lines}\t${lineId}\twaiting for ${orders}/${orderId}`);

    // Orders next: the order waits for its contact; the line still waits for the order.
    runtime = await runWith(['contacts']);
    expect((await runtime.store.parked.get(orders, orderId))?.parent).toEqual({
      flow: 'contacts',
      recordKey: contactId,
    });
    expect(await runtime.store.parked.count(lines)).toBe(1);
    expect(recordsByKey(bed.campaign, 'cusOrder').size).toBe(0);

    // The contact lands: profile, then order, then line, then note — all visible, all linked.
    runtime = await runWith([]);
    expect(await runtime.store.parked.count()).toBe(0);
    expect(hiddenCounts(bed.campaign)).toEqual({ profile: 0, cusOrder: 0, cusOrderLine: 0, cusNote: 0 });
    const profile = bed.profilesByExternalId().get(contactId)!;
    expect(recordsByKey(bed.campaign, 'cusOrder').get(orderId)!.values.amount).toBe(42.5);
    expect(recordsByKey(bed.campaign, 'cusOrderLine').get(lineId)!.values.sku).toBe('A-1');
    caller = new RawCampaignCaller(bed.campaign);
    const ext = 'profileAndServicesExt';
    expect(await linkOf(caller, ext, 'cusOrder', orderId, 'profile')).toBe(profile.PKey);
    const orderPKey = recordsByKey(bed.campaign, 'cusOrder').get(orderId)!.PKey;
    expect(await linkOf(caller, ext, 'cusOrderLine', lineId, 'order')).toBe(orderPKey);
    expect(await linkOf(caller, ext, 'cusNote', String(note.new_noteid), 'profile')).toBe(profile.PKey);
    expect(await linkOf(caller, ext, 'cusNote', String(lonely.new_noteid), 'profile')).toBeNull();
  });

  it('folds updates and deletes into parked children; a child created and deleted before its parent is never written', async () => {
    bed = await startCustomTableBed({ store });
    const contactId = String(bed.dynamics.admin.createContact(buildContact()).contactid);
    const kept = String(bed.dynamics.admin.createRow('new_order', buildOrder(contactId)).new_orderid);
    const gone = String(bed.dynamics.admin.createRow('new_order', buildOrder(contactId)).new_orderid);
    let runtime = await runWith(['contacts']);
    expect(await runtime.store.parked.count(orders)).toBe(2);

    bed.dynamics.admin.updateRow('new_order', kept, { new_amount: 99 });
    bed.dynamics.admin.deleteRow('new_order', gone);
    runtime = await runWith(['contacts']);
    // The delete of a child never written leaves nothing behind to wait for.
    expect(await runtime.store.parked.count(orders)).toBe(1);
    expect(await runtime.store.parked.get(orders, gone)).toBeNull();

    runtime = await runWith([]);
    expect(await runtime.store.parked.count()).toBe(0);
    const written = recordsByKey(bed.campaign, 'cusOrder');
    expect([...written.keys()]).toEqual([kept]);
    expect(written.get(kept)!.values.amount).toBe(99);
    // Never written: no create, no delete, no call for it in the audit trail.
    const audit = await runtime.store.audit.list({ flow: orders }, { limit: 100 });
    // The writes (the trace's own steps — parked, released — aside).
    const writes = audit.items.filter((e) => !e.action.startsWith('record.'));
    expect(writes.filter((e) => e.recordKey === gone)).toEqual([]);
    expect(writes.filter((e) => e.recordKey === kept).map((e) => e.action)).toEqual(['cusOrder.create']);
  });

  it('a parked child whose lookup moves to another parent waits for the new one; a cardinality-1 child with an empty lookup waits instead of hiding', async () => {
    bed = await startCustomTableBed({ store });
    const first = String(bed.dynamics.admin.createContact(buildContact({ lastname: 'First' })).contactid);
    const second = String(bed.dynamics.admin.createContact(buildContact({ lastname: 'Second' })).contactid);
    const moved = String(bed.dynamics.admin.createRow('new_order', buildOrder(first)).new_orderid);
    const orphan = String(bed.dynamics.admin.createRow('new_order', buildOrder(null)).new_orderid);
    let runtime = await runWith(['contacts']);
    expect((await runtime.store.parked.get(orders, moved))?.parent.recordKey).toBe(first);
    const waiting = await runtime.store.parked.get(orders, orphan);
    expect(waiting?.parent).toEqual({ flow: 'contacts', recordKey: NO_PARENT_KEY });
    expect(waiting?.reason).toContain('cardinality 1');

    bed.dynamics.admin.updateRow('new_order', moved, { new_contactid: second });
    runtime = await runWith(['contacts']);
    expect((await runtime.store.parked.get(orders, moved))?.parent.recordKey).toBe(second);

    // Contacts land; the orphan gets a contact later and follows it.
    runtime = await runWith([]);
    expect(await runtime.store.parked.count(orders)).toBe(1);
    bed.dynamics.admin.updateRow('new_order', orphan, { new_contactid: first });
    runtime = await runWith([]);
    expect(await runtime.store.parked.count()).toBe(0);
    const profiles = bed.profilesByExternalId();
    caller = new RawCampaignCaller(bed.campaign);
    const ext = 'profileAndServicesExt';
    expect(await linkOf(caller, ext, 'cusOrder', moved, 'profile')).toBe(profiles.get(second)!.PKey);
    expect(await linkOf(caller, ext, 'cusOrder', orphan, 'profile')).toBe(profiles.get(first)!.PKey);
    expect(hiddenCounts(bed.campaign)).toEqual({ profile: 0, cusOrder: 0, cusOrderLine: 0, cusNote: 0 });
  });
});
