/**
 * The bulk lane (F7) through the production clients against the Campaign emulator, over HTTPS and
 * the real SFTP path: an initial load above the threshold goes to Campaign as CSV files imported by
 * the import workflow; foreign profiles stay untouched, a pre-keyed profile is updated, each row
 * Campaign rejects becomes a dead letter with Campaign's reason, the key map gets the PKeys from the
 * workflow's export, and a live change made during the import is applied through REST afterwards,
 * never overwritten by the older bulk row (I5).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { FieldMapping } from '../../../src/core/field-mapping.js';
import type { StateStore } from '../../../src/core/ports/state-store.js';
import { BulkHeapGrowth } from '../../../src/cli/runtime/bulk-heap.js';
import { CampaignBulkImport } from '../../../src/connectors/campaign/campaign-bulk-import.js';
import { CampaignRecordSink } from '../../../src/connectors/campaign/campaign-record-sink.js';
import { SftpWriter } from '../../../src/connectors/sftp/sftp-writer.js';
import { recordFlows } from '../../../src/engine/records/record-flows.js';
import type { BulkLaneSettings } from '../../../src/engine/records/bulk-loader.js';
import type { RecordFlowSettings } from '../../../src/engine/records/record-flow.js';
import { SyncEngine } from '../../../src/engine/sync-engine.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { defaultSftpUsers } from '../../../emulators/campaign/sftp/sftp-server.js';
import { bulkWorkflowId, profileImportWorkflow } from '../../support/bulk-test-bed.js';
import {
  campaignTestSeed,
  startCampaignTestBed,
  type CampaignTestBed,
} from '../../support/campaign-test-bed.js';

// 1,000 rows take 1.5 s: the import lasts long enough for a live change to arrive during it.
const profileImport = profileImportWorkflow({ msPer1000Rows: 1500 });

const contacts = 3000;
const keyOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const silent = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

let bed: CampaignTestBed;
let sftp: SftpWriter;
const keyDir = mkdtempSync(path.join(tmpdir(), 'dcsync-bulk-lane-test-'));

beforeAll(async () => {
  bed = await startCampaignTestBed({
    emulator: {
      seedFile: { ...campaignTestSeed, workflows: [profileImport] },
      sftpPort: 0,
      sftp: { hostKeyPath: path.join(keyDir, 'host-key'), workflow: { pollIntervalMs: 20 } },
    },
  });
  // Two files in this test: the emulator's 10-minute rule is shortened (the loader's wait is tested apart).
  bed.emulator.admin.configure({ signalMinIntervalMs: 0 });
  const info = bed.emulator.sftp!;
  sftp = new SftpWriter({
    host: info.host,
    port: info.port,
    username: info.username,
    password: defaultSftpUsers[0]!.password!,
    hostKeySha256: info.hostKeySha256,
    timeoutMs: 5000,
  });
});

afterAll(async () => {
  await sftp.close();
  await bed.close();
  rmSync(keyDir, { recursive: true, force: true });
});

function contactsFlow(): RecordFlowSettings {
  const rule = (source: string, target: string) => ({
    source,
    target,
    applyOnUpdate: true,
    replacements: [],
    picklist: 'label' as const,
    targetType: 'any' as const,
  });
  return {
    id: 'contacts',
    table: 'contact',
    feed: { table: 'contact' } as RecordFlowSettings['feed'],
    sink: new CampaignRecordSink(bed.client, {
      resource: 'profile',
      keyField: 'externalId',
      keyIsUnique: true,
    }),
    mapping: new FieldMapping([
      rule('firstname', 'firstName'),
      rule('lastname', 'lastName'),
      rule('emailaddress1', 'email'),
    ]),
    optionLabels: {},
    filter: { all: [{ field: 'statecode', op: 'eq', value: 0 }] },
    deletes: false,
    deleteWhenFilteredOut: false,
    links: [],
  };
}

/** An engine with the contact flow's bulk lane (threshold 100, 2,000-row files), not polling. */
function bulkEngine(
  store: StateStore,
  flow: RecordFlowSettings,
  work?: BulkLaneSettings['work'],
): SyncEngine {
  return new SyncEngine({
    store,
    flows: recordFlows([flow], { store, clock: systemClock }),
    clock: systemClock,
    logger: silent,
    alerts: { raise: () => Promise.resolve() },
    poll: false,
    dutyTiming: { ttlMs: 3000, attemptMs: 50 },
    bulkLanes: [
      {
        flow,
        port: new CampaignBulkImport({
          client: bed.client,
          sftp,
          workflowId: bulkWorkflowId,
          importDir: 'd365_loads/imports',
          rejectDir: 'd365_loads/rejects',
          exportDir: 'd365_loads/pkeys',
        }),
        thresholdRecords: 100,
        chunkRows: 2000,
        delimiter: ',',
        pollIntervalMs: 50,
        importTimeoutMs: 60_000,
        signalIntervalMs: 0,
        work,
      },
    ],
  });
}

describe('bulk lane: initial load of contacts through the import workflow', () => {
  it('loads Campaign as the projection of Dynamics, rejects become dead letters, a live change during the import wins', async () => {
    const admin = bed.emulator.admin;
    const foreign = admin.insertRecord('profile', { email: 'foreign@example.com', lastName: 'Foreign' });
    const preKeyed = admin.insertRecord('profile', { externalId: keyOf(1), lastName: 'Old' });
    const store: StateStore = await openStateStore('sqlite::memory:', { clock: systemClock });
    const flow = contactsFlow();
    // Far from the start: the first items may go through REST before the lane takes the bulk lane.
    const rejected = new Set([1517, 2517]);
    const filteredOut = 33;
    await store.queue.enqueue(
      Array.from({ length: contacts }, (_, n) => {
        const i = n + 1;
        return {
          flow: 'contacts',
          recordKey: keyOf(i),
          lane: 'bulk' as const,
          sourceVersion: '100',
          payload: {
            op: 'upsert',
            origin: 'initial',
            modifiedOn: null,
            values: {
              contactid: keyOf(i),
              firstname: `First ${i}`,
              // lastName is varchar(50) in Campaign: these rows are rejected by the import.
              lastname: rejected.has(i) ? 'x'.repeat(60) : `Last, "${i}"`,
              emailaddress1: `c${i}@example.com`,
              statecode: i === filteredOut ? 1 : 0,
            },
          },
        };
      }),
    );
    // V8's heap growth is tightened while the lane works, and back to V8's default after it.
    const heapFlags: string[] = [];
    const heap = new BulkHeapGrowth({ setFlags: (f) => heapFlags.push(f), nodeFlags: [] });
    const engine = bulkEngine(store, flow, heap.hooks(50));
    await engine.start();
    try {
      // Once the first file is signalled, contact 1505 (a row of that file) changes in Dynamics: a live change, newer.
      await until(
        async () => (await store.checkpoints.get('bulk:contacts'))?.includes('"signalled"') === true,
      );
      expect(heapFlags).toEqual(['--heap-growing-percent=50']);
      await store.queue.enqueue([
        {
          flow: 'contacts',
          recordKey: keyOf(1505),
          lane: 'live',
          sourceVersion: '200',
          payload: {
            op: 'upsert',
            origin: 'delta',
            modifiedOn: null,
            values: {
              contactid: keyOf(1505),
              firstname: 'First 1505',
              lastname: 'Live',
              emailaddress1: 'c1505@example.com',
              statecode: 0,
            },
          },
        },
      ]);
      await until(() => engine.isIdle(), 50_000);
    } finally {
      await engine.stop();
    }

    // Campaign equals the projection of Dynamics (filtered-out and rejected rows aside).
    const keyed = admin.listRecords('profile').filter((r) => r.values.externalId);
    expect(keyed).toHaveLength(contacts - 1 - rejected.size);
    const byKey = new Map(keyed.map((r) => [r.values.externalId as string, r]));
    for (let i = 1; i <= contacts; i++) {
      const record = byKey.get(keyOf(i));
      if (i === filteredOut || rejected.has(i)) {
        expect(record).toBeUndefined();
        continue;
      }
      expect(record!.values).toMatchObject({
        firstName: `First ${i}`,
        lastName: i === 1505 ? 'Live' : `Last, "${i}"`,
        email: `c${i}@example.com`,
      });
    }
    // Foreign untouched; the pre-keyed profile updated in place (same PKey).
    expect(admin.getRecord('profile', foreign)!.values).toMatchObject({
      email: 'foreign@example.com',
      lastName: 'Foreign',
    });
    expect(byKey.get(keyOf(1))!.PKey).toBe(admin.getRecord('profile', preKeyed)!.PKey);
    // Two files, imported once each through ONE signal naming a manifest of both.
    const history = await bed.client.getWorkflowExecution(bulkWorkflowId);
    const runs = history.activities.find((a) => a.name === 'import1')!.raw.history as {
      fileName: string;
      state: string;
      files: { fileName: string; state: string }[];
    }[];
    expect(runs).toHaveLength(1);
    expect(runs[0]!.fileName).toMatch(/^contacts_r[0-9a-z]+_s00001\.manifest$/);
    expect(runs[0]!.files.map((f) => f.state)).toEqual(['done', 'done']);
    expect(new Set(runs[0]!.files.map((f) => f.fileName)).size).toBe(2);
    expect(heapFlags).toEqual(['--heap-growing-percent=50', '--heap-growing-percent=0']);
    // Nothing left in the lane's checkpoint.
    expect(await store.checkpoints.get('bulk:contacts')).toMatch(/"files":\[\]/);
    // Each reject is a dead letter with Campaign's reason.
    const dead = await store.deadLetters.list({ flow: 'contacts' }, { limit: 100 });
    expect(dead.items.map((d) => d.recordKey).sort()).toEqual([keyOf(1517), keyOf(2517)]);
    for (const d of dead.items) {
      expect(d.code).toBe('CAMPAIGN_BULK_ROW_REJECTED');
      expect(d.message).toMatch(/value too long/);
    }
    // The key map holds each imported record's PKey (the next write is one call).
    const entry = await store.keyMap.get('contacts', keyOf(42));
    expect(entry!.campaignPKey).toBe(byKey.get(keyOf(42))!.PKey);
    expect((await store.keyMap.get('contacts', keyOf(1505)))!.lastSourceVersion).toBe('200');
    expect(await store.queue.backlog()).toEqual([]);
    await store.close();
  }, 60_000);
});

describe("bulk lane: a backlog above the threshold is the lane's from the start", () => {
  it('no runner writes it through REST while the lane takes its duty (held here by another worker)', async () => {
    const store: StateStore = await openStateStore('sqlite::memory:', { clock: systemClock });
    // Another worker runs the flow's lane: this worker's lane never takes it in this test.
    expect(await store.locks.acquire('bulk:contacts', 'other-worker', 600_000)).not.toBeNull();
    const base = 20_000;
    const upsert = (i: number, lane: 'bulk' | 'live') => ({
      flow: 'contacts',
      recordKey: keyOf(base + i),
      lane,
      sourceVersion: '100',
      payload: {
        op: 'upsert' as const,
        origin: lane === 'bulk' ? ('initial' as const) : ('delta' as const),
        modifiedOn: null,
        values: { contactid: keyOf(base + i), lastname: `Held ${i}`, statecode: 0 },
      },
    });
    await store.queue.enqueue(Array.from({ length: 150 }, (_, n) => upsert(n + 1, 'bulk')));
    await store.queue.enqueue([upsert(0, 'live')]);
    const engine = bulkEngine(store, contactsFlow());
    await engine.start();
    try {
      // The live change goes through REST; the runner leases in the same passes it would take bulk items in.
      await until(async () => (await store.keyMap.get('contacts', keyOf(base))) !== null);
    } finally {
      await engine.stop();
    }
    const written = bed.emulator.admin
      .listRecords('profile')
      .filter((r) => String(r.values.lastName ?? '').startsWith('Held '));
    expect(written.map((r) => r.values.lastName)).toEqual(['Held 0']);
    expect(await store.queue.countPending({ flow: 'contacts', lane: 'bulk', atMost: 1000 })).toBe(150);
    await store.close();
  }, 60_000);
});

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = systemClock.now() + timeoutMs;
  while (!(await check())) {
    if (systemClock.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
