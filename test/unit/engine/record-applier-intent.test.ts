/**
 * The create intent a lease writes (WorkItem.intentWritten) when the apply fails: it stays once the
 * create was sent (Campaign may hold the record; the retry looks it up first, I4), and goes when the
 * apply failed before any create was sent (a retry then needs no look-up). A real SQLite store; the
 * Campaign sink is a small fake of the port whose create's answer is lost.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { ConnectorError, StoreError } from '../../../src/core/errors.js';
import { FieldMapping } from '../../../src/core/field-mapping.js';
import type { JsonObject } from '../../../src/core/json.js';
import type { RecordGuard } from '../../../src/core/ports/record-guard.js';
import type { RecordSink, SinkRecord } from '../../../src/core/ports/record-sink.js';
import type { StateStore, WorkItem } from '../../../src/core/ports/state-store.js';
import type { UpsertChange } from '../../../src/core/record-change.js';
import { RecordApplier } from '../../../src/engine/records/record-applier.js';
import type { RecordFlowSettings } from '../../../src/engine/records/record-flow.js';
import { openStateStore } from '../../../src/store/open-state-store.js';

const key = '00000000-0000-4000-8000-000000000001';
const change: UpsertChange = {
  op: 'upsert',
  origin: 'delta',
  values: { contactid: key, lastname: 'Lost' },
  modifiedOn: null,
};

/** A profile sink whose create reaches Campaign, whose answer is then lost (a timeout). */
class LostAnswerSink implements RecordSink {
  readonly resource = 'profile';
  readonly keyField = 'externalId';
  readonly keyIsUnique = true;
  readonly records = new Map<string, JsonObject>();
  creates = 0;

  findByKey(recordKey: string): Promise<SinkRecord | null> {
    const fields = this.records.get(recordKey);
    return Promise.resolve(fields ? { pkey: `@${recordKey}`, fields } : null);
  }

  create(fields: JsonObject): Promise<{ pkey: string }> {
    this.creates++;
    this.records.set(fields.externalId as string, fields);
    return Promise.reject(new ConnectorError('campaign', 'CAMPAIGN_TIMEOUT', 'no answer (timed out)'));
  }

  update(): Promise<'ok'> {
    return Promise.resolve('ok');
  }

  delete(): Promise<'ok'> {
    return Promise.resolve('ok');
  }
}

function flowOf(sink: RecordSink): RecordFlowSettings {
  return {
    id: 'contacts',
    table: 'contact',
    feed: { table: 'contact' } as RecordFlowSettings['feed'],
    sink,
    mapping: new FieldMapping([
      {
        source: 'lastname',
        target: 'lastName',
        applyOnUpdate: true,
        replacements: [],
        picklist: 'label',
        targetType: 'any',
      },
    ]),
    optionLabels: {},
    filter: null,
    deletes: true,
    deleteWhenFilteredOut: false,
    links: [],
  };
}

let store: StateStore;
const clock = new ManualClock();

beforeEach(async () => {
  store = await openStateStore('sqlite::memory:', { clock });
  await store.queue.enqueue([
    { flow: 'contacts', recordKey: key, lane: 'live', sourceVersion: '1', payload: { ...change } },
  ]);
});

afterEach(async () => {
  await store.close();
});

/** Lease the item as the runner does: with its key-map entry and a create intent written. */
async function leaseWithIntent(): Promise<WorkItem> {
  const [item] = await store.queue.lease({
    owner: 'w1',
    limit: 1,
    leaseMs: 60_000,
    withKeyMap: true,
    createIntents: ['contacts'],
  });
  expect(item!.intentWritten).toBe(true);
  expect(await store.keyMap.get('contacts', key)).toMatchObject({ campaignPKey: null, origin: 'created' });
  return item!;
}

function applierFor(sink: RecordSink, guard?: RecordGuard): RecordApplier {
  const flow = flowOf(sink);
  return new RecordApplier(store, flow, new Map([[flow.id, flow]]), clock, guard);
}

describe('a create intent written by the lease, when the apply fails', () => {
  it('stays once the create was sent: the retry looks the record up and adopts it, never creating twice', async () => {
    const sink = new LostAnswerSink();
    const item = await leaseWithIntent();
    await expect(applierFor(sink).apply(item, change)).rejects.toThrow(/timed out/);
    expect(sink.creates).toBe(1);
    expect(await store.keyMap.get('contacts', key)).toMatchObject({ campaignPKey: null, origin: 'created' });

    // The retry (the lease lapsed): the entry found is the intent, so the record is looked up first.
    clock.advance(60_001);
    const [again] = await store.queue.lease({
      owner: 'w2',
      limit: 1,
      leaseMs: 60_000,
      withKeyMap: true,
      createIntents: ['contacts'],
    });
    expect(again!.intentWritten).not.toBe(true);
    const result = await applierFor(sink).apply(again!, change);
    expect(sink.creates).toBe(1);
    expect(result.kind).toBe('done');
    expect(result.kind === 'done' && result.effects.keyMap).toMatchObject({
      op: 'put',
      entry: { campaignPKey: `@${key}` },
    });
  });

  it('goes when the apply failed before the create was sent', async () => {
    const sink = new LostAnswerSink();
    // The privacy guard's read fails: nothing was sent to Campaign.
    const guard: RecordGuard = {
      check: () =>
        Promise.reject(new StoreError('STORE_UNAVAILABLE', 'the privacy guards could not be read')),
    };
    const item = await leaseWithIntent();
    await expect(applierFor(sink, guard).apply(item, change)).rejects.toThrow(/could not be read/);
    expect(sink.creates).toBe(0);
    expect(await store.keyMap.get('contacts', key)).toBeNull();
  });
});
