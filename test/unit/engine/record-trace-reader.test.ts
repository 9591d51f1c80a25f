/**
 * The trace reader over a real (in-memory SQLite) store: the states and steps the engine tests do
 * not reach — opt-out decisions, privacy hold and tombstone, an orphan, a retrying work item, the
 * step cap — and that free text is scrubbed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import type { AuditEntry, StateStore } from '../../../src/core/ports/state-store.js';
import { RecordTraceReader } from '../../../src/engine/trace/record-trace-reader.js';
import { failureAuditEntry, parkAuditEntry } from '../../../src/engine/trace/trace-audit.js';
import { privacyHold } from '../../../src/engine/parking.js';
import { NO_PARENT_KEY } from '../../../src/engine/records/link-resolver.js';
import { openStateStore } from '../../../src/store/open-state-store.js';

const contact = '6f1c2d3e-0000-4000-8000-000000000001';
const order = '6f1c2d3e-0000-4000-8000-000000000002';
const orders = 'table:new_order';

describe('RecordTraceReader', () => {
  let clock: ManualClock;
  let store: StateStore;
  let reader: RecordTraceReader;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 11, 1));
    store = await openStateStore('sqlite::memory:', { clock });
    reader = new RecordTraceReader({
      store,
      clock,
      flows: () => ['contacts', orders],
      scrub: (text) => text.replaceAll('s3cret', '[redacted]'),
    });
  });
  afterEach(async () => {
    await store.close();
  });

  async function leaseOne(recordKey: string, flow = 'contacts') {
    await store.queue.enqueue([{ flow, recordKey, payload: { op: 'upsert' }, sourceVersion: '12' }]);
    const [item] = await store.queue.lease({ owner: 'w', limit: 1, leaseMs: 60_000 });
    return item!;
  }

  it('a retrying item: its failed attempt, then the item staged again with code, scrubbed message and next attempt', async () => {
    const item = await leaseOne(contact);
    clock.advance(10);
    const error = { code: 'CAMPAIGN_HTTP_503', message: 'token s3cret refused', retryable: true };
    const retryAt = clock.now() + 5_000;
    await store.queue.fail({
      id: item.id,
      owner: 'w',
      error,
      retryAt,
      audit: [failureAuditEntry(item, { ...error, retryAt, attempts: 1 }, clock.now())],
    });
    const [match] = (await reader.trace(contact)).matches;
    expect(match).toMatchObject({ flow: 'contacts', state: 'retrying', campaignPKey: null });
    expect(match!.steps.map((s) => s.kind)).toEqual(['attempt-failed', 'staged', 'read']);
    const staged = match!.steps[1]!;
    expect(staged).toMatchObject({ code: 'CAMPAIGN_HTTP_503', sourceVersion: '12' });
    expect(staged.summary).toContain('last error CAMPAIGN_HTTP_503: token [redacted] refused');
    expect(staged.summary).toContain('next attempt 2026-12-01T00:00:05.010Z');
    expect(JSON.stringify(match)).not.toContain('s3cret');
  });

  it('an orphan: parked on an empty lookup, no parent to link', async () => {
    const item = await leaseOne(order, orders);
    const parent = { flow: 'contacts', recordKey: NO_PARENT_KEY };
    const reason = 'lookup new_contact is empty and Campaign link profile (cardinality 1) needs a parent';
    await store.queue.park(item.id, 'w', parent, reason, [parkAuditEntry(item, parent, reason, clock.now())]);
    const [match] = (await reader.trace(order)).matches;
    expect(match).toMatchObject({ flow: orders, state: 'orphan', parent: null });
    expect(match!.steps[0]).toMatchObject({ kind: 'orphaned' });
    expect(match!.steps[0]!.summary).toContain('no parent in Dynamics');
  });

  it("an orphan parked with the link resolver's reason says 'no parent in Dynamics' once", async () => {
    const item = await leaseOne(order, orders);
    const parent = { flow: 'contacts', recordKey: NO_PARENT_KEY };
    // The reason as the link resolver words it (it names the state itself).
    const reason =
      'no parent in Dynamics: lookup _new_contactid_value is empty and Campaign link profile (cardinality 1) needs a parent; set the lookup in Dynamics';
    await store.queue.park(item.id, 'w', parent, reason, [parkAuditEntry(item, parent, reason, clock.now())]);
    const [match] = (await reader.trace(order)).matches;
    expect(match!.steps[0]).toMatchObject({ kind: 'orphaned', summary: reason });
  });

  it('a privacy hold, then the tombstone; opt-out decisions by column and attribute, never values', async () => {
    await store.keyMap.put({
      flow: 'contacts',
      recordKey: contact,
      campaignPKey: '@p1',
      origin: 'created',
      lastSourceVersion: '3',
      lastPayloadHash: null,
    });
    await store.optOut.recordDecisions([
      {
        at: clock.now(),
        recordKey: contact,
        dynamicsColumn: 'donotbulkemail',
        campaignAttribute: 'blackListEmail',
        dynamicsValue: true,
        dynamicsChangedAt: clock.now() - 1000,
        campaignValue: false,
        campaignChangedAt: null,
        winner: true,
        winningSide: 'dynamics',
        rule: 'newer-wins',
        mode: 'bidirectional',
        source: 'contact-change',
        sourceRef: '12',
        action: 'write-campaign',
      },
    ]);
    clock.advance(100);
    const item = await leaseOne(contact);
    await store.privacy.hold([contact], 'req-1');
    await store.queue.park(item.id, 'w', privacyHold(contact), 'held: a privacy request is in progress', [
      parkAuditEntry(item, privacyHold(contact), 'held: a privacy request is in progress', clock.now()),
    ]);
    let [match] = (await reader.trace(contact)).matches;
    expect(match).toMatchObject({ state: 'held', campaignPKey: '@p1', parent: null });
    expect(match!.steps.map((s) => s.kind)).toEqual([
      'privacy-hold',
      'privacy-hold',
      'read',
      'opt-out-decision',
    ]);
    expect(match!.steps[0]!.summary).toContain('req-1');
    expect(match!.steps[1]!.summary).toMatch(/^change held while a privacy request runs/);
    const decision = match!.steps[3]!;
    expect(decision.fields).toEqual(['donotbulkemail', 'blackListEmail']);
    expect(decision.summary).toBe(
      'opt-out donotbulkemail/blackListEmail: dynamics wins by rule newer-wins (contact-change 12), action write-campaign',
    );

    clock.advance(100);
    await store.privacy.purge([{ flow: 'contacts', recordKey: contact }]);
    await store.privacy.tombstone([contact]);
    [match] = (await reader.trace(contact)).matches;
    expect(match).toMatchObject({ state: 'deleted', campaignPKey: null });
    expect(match!.steps[0]).toMatchObject({ kind: 'tombstone', at: clock.now() });
  });

  it('keeps the newest steps up to the cap and says so', async () => {
    const small = new RecordTraceReader({ store, clock, flows: () => ['contacts'], stepLimit: 5 });
    const entries: Omit<AuditEntry, 'id'>[] = Array.from({ length: 8 }, (_, i) => ({
      at: clock.now() + i,
      actor: i === 7 ? 'api:ops' : 'engine',
      action: i === 7 ? 'dlq.retry' : 'profile.update',
      flow: 'contacts',
      recordKey: contact,
      fields: ['lastName'],
      outcome: 'ok',
      detail: null,
    }));
    await store.audit.append(entries);
    const [match] = (await small.trace(contact)).matches;
    expect(match!.truncated).toBe(true);
    expect(match!.steps).toHaveLength(5);
    expect(match!.steps[0]).toMatchObject({ kind: 'operator', at: clock.now() + 7 });
    expect(match!.steps[0]!.summary).toBe('dlq.retry ok by api:ops');
    expect(match!.steps.slice(1).every((s) => s.kind === 'applied')).toBe(true);
  });

  it('answers no match for an empty query or a key nothing holds', async () => {
    expect(await reader.trace('  ')).toEqual({ query: '  ', matches: [] });
    expect(await reader.trace(contact)).toEqual({ query: contact, matches: [] });
  });
});
