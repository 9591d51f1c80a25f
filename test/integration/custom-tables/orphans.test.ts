/**
 * Orphans are not parked children: a custom-table row whose lookup on a cardinality-1 link is empty
 * has no parent in Dynamics, so nothing will ever release it. It is its own state — counted, listed,
 * a health problem, not a create in `dcsync plan` — and it is written at the first change that
 * fills its lookup. Both emulators, the production clients, SQLite and PostgreSQL.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runParkedList } from '../../../src/cli/commands/parked-command.js';
import { runPlan } from '../../../src/cli/commands/plan-command.js';
import { runStatus } from '../../../src/cli/commands/status-command.js';
import type { SyncRuntime } from '../../../src/cli/runtime/sync-runtime.js';
import type { FlowStatus } from '../../../src/engine/flow-status.js';
import { collectFlowStatuses } from '../../../src/engine/flow-status.js';
import { assessHealth } from '../../../src/engine/health/health-assessment.js';
import { tableFlowId } from '../../../src/engine/records/record-flow.js';
import type { SyncPlan } from '../../../src/engine/sync-planner.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { storeKinds, type SyncTestBed } from '../../support/sync-test-bed.js';
import {
  buildOrder,
  hiddenCounts,
  recordsByKey,
  runWithPaused,
  startCustomTableBed,
} from '../../support/custom-table-fixtures.js';
import { captureContext } from '../privacy-requests/support/privacy-test-bed.js';

const orders = tableFlowId('new_order');

async function flowStatus(runtime: SyncRuntime, flow: string): Promise<FlowStatus> {
  const table = flow.slice('table:'.length);
  const [status] = await collectFlowStatuses(runtime.store, runtime.clock, [{ id: flow, table }]);
  return status!;
}

describe.each(storeKinds)('custom tables: orphans (no parent in Dynamics), %s store', (store) => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('keeps a child with an empty required lookup as an orphan — counted, listed, a problem, no create — and writes it once the lookup is filled', async () => {
    bed = await startCustomTableBed({ store });
    const contactId = String(bed.dynamics.admin.createContact(buildContact()).contactid);
    const linked = String(bed.dynamics.admin.createRow('new_order', buildOrder(contactId)).new_orderid);
    const orphan = String(bed.dynamics.admin.createRow('new_order', buildOrder(null)).new_orderid);

    let runtime = await runWithPaused(bed);
    expect([...recordsByKey(bed.campaign, 'cusOrder').keys()]).toEqual([linked]);

    // Its own state: an orphan, not a child waiting for a parent.
    const parked = await runtime.store.parked.get(orders, orphan);
    expect(parked?.state).toBe('orphan');
    expect(parked?.reason).toContain('no parent in Dynamics');
    expect(await runtime.store.parked.count(orders, 'orphan')).toBe(1);
    expect(await runtime.store.parked.count(orders, 'waiting')).toBe(0);
    const listed = await runtime.store.parked.list({ state: 'orphan' }, { limit: 10 });
    expect(listed.items.map((i) => i.recordKey)).toEqual([orphan]);

    // Status counts it apart from parked children, with since when; health says what to do.
    const status = await flowStatus(runtime, orders);
    expect(status).toMatchObject({ parked: 0, orphans: 1 });
    expect(status.orphansSince).toBe(parked?.parkedAt);
    const problems = assessHealth({
      now: runtime.clock.now(),
      flows: [status],
      campaign: null,
      backlogTrends: [],
      optOut: null,
    });
    const problem = problems.find((p) => p.kind === 'orphans');
    expect(problem).toMatchObject({ subject: orders, severity: 'warning' });
    expect(problem?.summary).toContain('1 record with no parent in Dynamics');
    expect(problem?.detail).toContain('Set the lookup in Dynamics');

    // `dcsync status`, `dcsync parked list --orphans`, `dcsync plan`: in process, on the same store.
    const statusOut = captureContext();
    expect(await runStatus({ config: bed.configPath }, statusOut)).toBe(0);
    expect(statusOut.stdout()).toContain('parked 0; orphans (no parent in Dynamics) 1');
    expect(statusOut.stdout()).toContain(`warning: flow ${orders}: 1 record with no parent in Dynamics`);
    const orphansOut = captureContext();
    expect(await runParkedList({ config: bed.configPath, orphans: true }, orphansOut)).toBe(0);
    expect(orphansOut.stdout()).toContain('1 orphans (no parent in Dynamics)');
    expect(orphansOut.stdout()).toContain(`${orders}\t${orphan}\torphan: no parent in Dynamics`);
    const waitingOut = captureContext();
    expect(await runParkedList({ config: bed.configPath, waiting: true }, waitingOut)).toBe(0);
    expect(waitingOut.stdout()).toContain('0 waiting');
    const planOut = captureContext();
    expect(await runPlan({ config: bed.configPath, json: true, samples: 5 }, planOut)).toBe(0);
    const plan = (JSON.parse(planOut.stdout()) as SyncPlan[]).find((p) => p.flow === orders)!;
    expect(plan.counts).toMatchObject({ create: 0, unchanged: 1, orphans: 1 });
    expect(plan.samples.orphans).toEqual([orphan]);
    const planText = captureContext();
    expect(await runPlan({ config: bed.configPath, samples: 5 }, planText)).toBe(0);
    expect(planText.stdout()).toContain('orphans (no parent in Dynamics): 1');

    // The lookup is filled in Dynamics: the next poll writes it, linked, and the orphan is gone.
    bed.dynamics.admin.updateRow('new_order', orphan, { new_contactid: contactId });
    runtime = await runWithPaused(bed);
    expect(await runtime.store.parked.count()).toBe(0);
    expect(recordsByKey(bed.campaign, 'cusOrder').has(orphan)).toBe(true);
    expect(hiddenCounts(bed.campaign)).toEqual({ profile: 0, cusOrder: 0, cusOrderLine: 0, cusNote: 0 });
    expect(await runtime.store.keyMap.get(orders, orphan)).toMatchObject({ origin: 'created' });
    const after = await flowStatus(runtime, orders);
    expect(after).toMatchObject({ parked: 0, orphans: 0, orphansSince: null });
    expect(
      assessHealth({
        now: runtime.clock.now(),
        flows: [after],
        campaign: null,
        backlogTrends: [],
        optOut: null,
      }).map((p) => p.kind),
    ).not.toContain('orphans');
    // Its lookup emptied again: an orphan again; the plan neither updates nor deletes the record
    // Campaign holds.
    bed.dynamics.admin.updateRow('new_order', orphan, { new_contactid: null });
    runtime = await runWithPaused(bed);
    expect((await runtime.store.parked.get(orders, orphan))?.state).toBe('orphan');
    const again = captureContext();
    expect(await runPlan({ config: bed.configPath, json: true, samples: 5 }, again)).toBe(0);
    const replanned = (JSON.parse(again.stdout()) as SyncPlan[]).find((p) => p.flow === orders)!;
    expect(replanned.counts).toMatchObject({ create: 0, update: 0, delete: 0, unchanged: 1, orphans: 1 });
  });

  it('children waiting for a parent that turns out to be outside its flow filter become orphans, and follow it if it enters the filter', async () => {
    bed = await startCustomTableBed({
      store,
      config: {
        flows: { contacts: { filter: { all: [{ field: 'lastname', op: 'ne', value: 'Excluded' }] } } },
      },
    });
    const contactId = String(
      bed.dynamics.admin.createContact(buildContact({ lastname: 'Excluded' })).contactid,
    );
    const order = String(bed.dynamics.admin.createRow('new_order', buildOrder(contactId)).new_orderid);
    let runtime = await runWithPaused(bed, ['contacts']);
    expect((await runtime.store.parked.get(orders, order))?.state).toBe('waiting');

    // The contact is read and is out of scope: nothing will write it, so the order is an orphan.
    runtime = await runWithPaused(bed);
    const parked = await runtime.store.parked.get(orders, order);
    expect(parked).toMatchObject({ state: 'orphan', parent: { flow: 'contacts', recordKey: contactId } });
    expect(parked?.reason).toContain('outside flow contacts');
    expect(await flowStatus(runtime, orders)).toMatchObject({ parked: 0, orphans: 1 });
    const listed = captureContext();
    expect(await runParkedList({ config: bed.configPath, orphans: true }, listed)).toBe(0);
    expect(listed.stdout()).toContain(`orphan: parent contacts/${contactId} is out of scope`);

    // The contact enters the filter and lands: the order follows it.
    bed.dynamics.admin.updateContact(contactId, { lastname: 'Included' });
    runtime = await runWithPaused(bed);
    expect(await runtime.store.parked.count()).toBe(0);
    expect(recordsByKey(bed.campaign, 'cusOrder').has(order)).toBe(true);
  });

  it('an orphan whose lookup is filled with a parent not in Campaign yet waits for that parent instead', async () => {
    bed = await startCustomTableBed({ store });
    const orphan = String(bed.dynamics.admin.createRow('new_order', buildOrder(null)).new_orderid);
    let runtime = await runWithPaused(bed, ['contacts']);
    expect((await runtime.store.parked.get(orders, orphan))?.state).toBe('orphan');

    const contactId = String(bed.dynamics.admin.createContact(buildContact()).contactid);
    bed.dynamics.admin.updateRow('new_order', orphan, { new_contactid: contactId });
    runtime = await runWithPaused(bed, ['contacts']);
    expect(await runtime.store.parked.get(orders, orphan)).toMatchObject({
      state: 'waiting',
      parent: { flow: 'contacts', recordKey: contactId },
    });
    expect(await flowStatus(runtime, orders)).toMatchObject({ parked: 1, orphans: 0 });

    runtime = await runWithPaused(bed);
    expect(await runtime.store.parked.count()).toBe(0);
    expect(recordsByKey(bed.campaign, 'cusOrder').has(orphan)).toBe(true);
  });
});
