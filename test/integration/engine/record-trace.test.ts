/**
 * The trace of one record (docs/trace.md), over the emulators through the production clients and a
 * real SQLite store: what the engine records as each step happens, read back by the trace reader
 * that `dcsync trace` and `GET /api/trace` use.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TraceAnswer, TraceMatch, TraceStepKind } from '../../../src/core/record-trace.js';
import type { SyncRuntime } from '../../../src/cli/runtime/sync-runtime.js';
import { tableFlowId } from '../../../src/engine/records/record-flow.js';
import { RecordTraceReader } from '../../../src/engine/trace/record-trace-reader.js';
import { SyncTestBed } from '../../support/sync-test-bed.js';
import { buildContact } from '../../support/dynamics-builders.js';
import {
  buildOrder,
  customTableFlows,
  runWithPaused,
  startCustomTableBed,
} from '../../support/custom-table-fixtures.js';

const orders = tableFlowId('new_order');

function traceOf(runtime: SyncRuntime, flows: readonly string[] = ['contacts']) {
  return new RecordTraceReader({
    store: runtime.store,
    clock: runtime.clock,
    flows: () => flows,
    scrub: (text) => runtime.redactor.scrub(text),
  });
}

function only(answer: TraceAnswer): TraceMatch {
  expect(answer.matches).toHaveLength(1);
  return answer.matches[0]!;
}

/** The kinds of the steps, newest first. */
function kinds(match: TraceMatch): TraceStepKind[] {
  return match.steps.map((s) => s.kind);
}

describe('record trace', () => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('a contact created, then updated: read and applied steps newest first, field names without values, found by id and by PKey', async () => {
    bed = await SyncTestBed.start({ dynamics: { contacts: 3, seed: 41 } });
    const contact = bed.dynamics.admin.createContact(
      buildContact({ firstname: 'Ada', lastname: 'Lovelace-Trace', emailaddress1: 'ada.trace@example.org' }),
    );
    const id = String(contact.contactid);
    await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 60_000 });
    bed.dynamics.admin.updateContact(id, { lastname: 'Byron-Trace' });
    const { runtime, engine } = await bed.engine();
    await engine.runUntilIdle({ timeoutMs: 60_000 });

    const answer = await traceOf(runtime).trace(id.toUpperCase());
    expect(answer.query).toBe(id.toUpperCase());
    const match = only(answer);
    const pkey = bed.profilesByExternalId().get(id)!.PKey as string;
    expect(match).toMatchObject({
      flow: 'contacts',
      recordKey: id,
      campaignPKey: pkey,
      state: 'synced',
      parent: null,
      children: [],
      truncated: false,
    });
    expect(kinds(match)).toEqual(['applied', 'read', 'applied', 'read']);
    const [updated, readUpdate, created, readCreate] = match.steps;
    expect(updated!.summary).toMatch(/^updated/);
    expect(created!.summary).toMatch(/^created/);
    expect(created!.campaignPKey).toBe(pkey);
    expect(created!.fields).toEqual(expect.arrayContaining<string>(['lastName', 'email']));
    expect(updated!.fields).toContain('lastName');
    expect(Number(readUpdate!.sourceVersion)).toBeGreaterThan(Number(readCreate!.sourceVersion));
    expect(updated!.sourceVersion).toBe(readUpdate!.sourceVersion);
    for (let i = 1; i < match.steps.length; i++)
      expect(match.steps[i]!.at).toBeLessThanOrEqual(match.steps[i - 1]!.at);
    // Names, never values.
    const text = JSON.stringify(answer);
    for (const value of ['Ada', 'Lovelace-Trace', 'Byron-Trace', 'ada.trace@example.org'])
      expect(text).not.toContain(value);

    // The same record by its Campaign PKey.
    const byPKey = only(await traceOf(runtime).trace(pkey));
    expect(byPKey).toMatchObject({ flow: 'contacts', recordKey: id, campaignPKey: pkey });
    expect(byPKey.steps).toEqual(match.steps);
    // Nothing held: no match.
    expect((await traceOf(runtime).trace('00000000-0000-0000-0000-000000000000')).matches).toEqual([]);
  });

  it('a child staged before its parent: parked, released, applied, in that order, with the parent link', async () => {
    bed = await startCustomTableBed();
    const contactId = String(bed.dynamics.admin.createContact(buildContact()).contactid);
    const orderId = String(bed.dynamics.admin.createRow('new_order', buildOrder(contactId)).new_orderid);
    let runtime = await runWithPaused(bed, ['contacts']);
    const waiting = only(await traceOf(runtime, customTableFlows).trace(orderId));
    expect(waiting).toMatchObject({
      flow: orders,
      state: 'parked',
      parent: { flow: 'contacts', recordKey: contactId },
    });
    expect(kinds(waiting)).toEqual(['parked', 'read']);
    expect(waiting.steps[0]!.summary).toContain(`contacts/${contactId}`);
    const parentWhileWaiting = only(await traceOf(runtime, customTableFlows).trace(contactId));
    expect(parentWhileWaiting.children).toEqual([{ flow: orders, recordKey: orderId, state: 'parked' }]);

    runtime = await runWithPaused(bed, []);
    const child = only(await traceOf(runtime, customTableFlows).trace(orderId));
    expect(child).toMatchObject({ state: 'synced', parent: { flow: 'contacts', recordKey: contactId } });
    const life = kinds(child).filter((k) => k !== 'read');
    expect(life).toEqual(['applied', 'released', 'parked']);
    expect(child.steps.find((s) => s.kind === 'applied')!.summary).toMatch(/^created/);

    const parent = only(await traceOf(runtime, customTableFlows).trace(contactId));
    expect(parent.children).toEqual([{ flow: orders, recordKey: orderId, state: 'synced' }]);
    expect(kinds(parent)).toContain('released');
  });

  it('a failing record: failed attempts with their code, then its dead letter', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 0 },
      config: { engine: { retry: { initialDelayMs: 20, maxDelayMs: 50, maxAttempts: 3 } } },
    });
    const id = String(bed.dynamics.admin.createContact(buildContact()).contactid);
    const { runtime, engine } = await bed.engine();
    bed.campaign.admin.setFaults({ errorRate: 1, errorStatus: 503, pathPattern: '/profile' });
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(summary['dead-lettered']).toBe(1);

    const match = only(await traceOf(runtime).trace(id));
    expect(match.state).toBe('dead-lettered');
    expect(kinds(match)).toEqual(['dead-lettered', 'attempt-failed', 'attempt-failed', 'read']);
    for (const step of match.steps.slice(0, 3)) expect(step.code).toBe('CAMPAIGN_HTTP_503');
    expect(match.steps[1]!.summary).toMatch(/attempt 2.*next attempt \d{4}-/);
    expect(match.steps[0]!.summary).toContain('attempt 3');
  });
});
