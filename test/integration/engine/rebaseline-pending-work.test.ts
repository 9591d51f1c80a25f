/**
 * Re-baselining with work still pending (issue #15). Records created in Dynamics whose creates are
 * still waiting for Campaign — queued behind throttling or busy workers, parked for a parent, or
 * dead-lettered — and then deleted while the delta link expires: the re-baseline's full read no
 * longer sees them, and it must cancel that work (or follow it with a delete) so that Campaign ends
 * equal to Dynamics.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { tableFlowId } from '../../../src/engine/records/record-flow.js';
import { SyncTestBed, storeKinds } from '../../support/sync-test-bed.js';
import { buildContact } from '../../support/dynamics-builders.js';
import {
  buildOrder,
  buildOrderLine,
  customTableFlows,
  hiddenCounts,
  recordsByKey,
  runWithPaused,
  startCustomTableBed,
} from '../../support/custom-table-fixtures.js';
import { readUntilCaughtUp } from '../../support/rebaseline-helpers.js';
import { expectConverged, profilesByKey } from './fixtures/sync-convergence.js';

const orders = tableFlowId('new_order');
const lines = tableFlowId('new_orderline');

describe.each(storeKinds)('re-baseline with pending work (%s)', (store) => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('cancels queued creates of contacts deleted while the delta link was dead', async () => {
    bed = await SyncTestBed.start({
      store,
      dynamics: { contacts: 20, seed: 151 },
      campaign: { profiles: 3, seed: 151 },
    });
    const first = await bed.engine();
    expect((await first.engine.runUntilIdle({ timeoutMs: 60_000 })).created).toBe(20);
    const createContacts = (prefix: string): string[] =>
      Array.from({ length: 5 }, (_, n) =>
        String(bed!.dynamics.admin.createContact(buildContact({ lastname: `${prefix}-${n}` })).contactid),
      );

    // Five creates are tried while Campaign throttles every call: they wait for their retry.
    const throttled = createContacts('Throttled');
    const tried = await readUntilCaughtUp(bed, {
      flowIds: ['contacts'],
      work: true,
      beforeStart: () => bed!.campaign.admin.setLimits({ callsPerSecond: 0 }),
      until: async (runtime) =>
        (await runtime.store.queue.retrying()).reduce((n, r) => n + r.count, 0) === throttled.length,
    });
    const retrying = await tried.runtime.store.queue.retrying();
    expect(retrying.map((r) => [r.flow, r.code])).toEqual([['contacts', 'CAMPAIGN_RATE_LIMITED']]);
    bed.campaign.admin.setLimits({ callsPerSecond: null });
    // Five more are staged behind them. From here until the end of the re-baseline only the
    // pollers run: the workers (another process) are held up, so no create reaches Campaign.
    const queued = createContacts('Queued');
    const staged = await readUntilCaughtUp(bed, { flowIds: ['contacts'], work: false });
    expect(
      (await staged.runtime.store.queue.backlog()).reduce((n, b) => n + b.queued, 0),
      'creates waiting for Campaign',
    ).toBe(10);

    // All ten are deleted in Dynamics while the delta link expires: the deletes are never read as
    // changes. The re-baseline runs while the workers are still held up.
    const doomed = [...throttled, ...queued];
    for (const id of doomed) bed.dynamics.admin.deleteContact(id);
    bed.dynamics.admin.expireDeltaTokens();
    await readUntilCaughtUp(bed, { flowIds: ['contacts'], work: false });

    // The workers catch up.
    const { runtime, engine } = await bed.engine();
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });

    const byKey = profilesByKey(bed);
    expect(
      doomed.filter((id) => byKey.has(id)),
      'profiles of deleted contacts',
    ).toEqual([]);
    expect(expectConverged(bed)).toBe(20);
    expect(summary['dead-lettered']).toBe(0);
    expect(await runtime.store.deadLetters.count()).toBe(0);
    expect(await runtime.store.keyMap.count('contacts')).toBe(20);
    expect(await runtime.store.queue.backlog()).toEqual([]);
  });

  it('a dead-lettered create of a contact deleted meanwhile is superseded: a later retry cannot bring it back', async () => {
    bed = await SyncTestBed.start({
      store,
      dynamics: { contacts: 5, seed: 152 },
      campaign: { profiles: 0, seed: 152 },
    });
    await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 60_000 });

    // Campaign fails every profile call while this contact is created: attempts run out.
    const lost = String(bed.dynamics.admin.createContact(buildContact({ lastname: 'Lost' })).contactid);
    const failing = await bed.engine();
    bed.campaign.admin.setFaults({ errorRate: 1, errorStatus: 503, pathPattern: 'profile' });
    await failing.engine.runUntilIdle({ timeoutMs: 60_000 });
    bed.campaign.admin.clearFaults();
    const [letter] = (await failing.runtime.store.deadLetters.list({}, {})).items;
    expect(letter).toMatchObject({ recordKey: lost, code: 'CAMPAIGN_HTTP_503' });

    bed.dynamics.admin.deleteContact(lost);
    bed.dynamics.admin.expireDeltaTokens();
    const { runtime, engine } = await bed.engine();
    await engine.runUntilIdle({ timeoutMs: 60_000 });

    // The operator retries whatever dead letters there are: nothing may create the deleted contact.
    const ids = (await runtime.store.deadLetters.list({}, {})).items.map((d) => d.id);
    await runtime.store.deadLetters.retry(ids);
    await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 60_000 });

    expect(profilesByKey(bed).has(lost), 'profile of the deleted contact').toBe(false);
    expect(expectConverged(bed)).toBe(5);
    expect(await runtime.store.deadLetters.count()).toBe(0);
    // Recorded: the record's trail says why its dead letter went away.
    const trail = await runtime.store.audit.list({ recordKey: lost }, {});
    const actions = trail.items.map((e) => [e.action, e.outcome]);
    expect(actions).toContainEqual(['dlq.superseded', 'ok']);
    expect(actions).toContainEqual(['profile.delete', 'absent']);
  });

  it('custom tables: drops a parked child and cancels a queued create deleted while the delta link was dead', async () => {
    bed = await startCustomTableBed({ store });
    const contact = String(bed.dynamics.admin.createContact(buildContact()).contactid);
    await runWithPaused(bed);

    // An order whose line arrives first (the order flow is paused): the line is parked on it.
    const order = String(bed.dynamics.admin.createRow('new_order', buildOrder(contact)).new_orderid);
    const line = String(bed.dynamics.admin.createRow('new_orderline', buildOrderLine(order)).new_orderlineid);
    await runWithPaused(bed, [orders]);
    const parked = await bed.openRuntime();
    expect((await parked.store.parked.get(lines, line))?.parent).toEqual({ flow: orders, recordKey: order });

    // A second order is staged, but no worker gets to it yet.
    const doomedOrder = String(
      bed.dynamics.admin.createRow('new_order', buildOrder(contact, { new_amount: 99 })).new_orderid,
    );
    await readUntilCaughtUp(bed, { flowIds: customTableFlows, allFlows: customTableFlows, work: false });

    // The line and the second order are deleted while the delta links expire.
    bed.dynamics.admin.deleteRow('new_orderline', line);
    bed.dynamics.admin.deleteRow('new_order', doomedOrder);
    bed.dynamics.admin.expireDeltaTokens();

    // The re-baselines run while the workers are held up, then everything runs.
    await readUntilCaughtUp(bed, { flowIds: customTableFlows, allFlows: customTableFlows, work: false });
    const runtime = await runWithPaused(bed);

    expect([...recordsByKey(bed.campaign, 'cusOrder').keys()]).toEqual([order]);
    expect([...recordsByKey(bed.campaign, 'cusOrderLine').keys()], 'deleted line written').toEqual([]);
    expect(hiddenCounts(bed.campaign)).toEqual({ profile: 0, cusOrder: 0, cusOrderLine: 0, cusNote: 0 });
    expect(await runtime.store.parked.count()).toBe(0);
    expect(await runtime.store.queue.backlog()).toEqual([]);
  });
});
