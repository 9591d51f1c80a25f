/**
 * One contract for the OptOutStore part of the State port, run against every adapter.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../../../../src/core/clock.js';
import { StoreError } from '../../../../src/core/errors.js';
import type { OptOutDecision, OptOutFileInput } from '../../../../src/core/ports/opt-out-store.js';
import type { StateStore } from '../../../../src/core/ports/state-store.js';

export interface OptOutStoreHarness {
  /** A migrated store with empty tables. */
  openEmpty(clock: Clock): Promise<StateStore>;
}

const file = (overrides: Partial<OptOutFileInput> = {}): OptOutFileInput => ({
  name: 'optout_20260101_020000.csv',
  path: 'd365_loads/exports/optout_20260101_020000.csv',
  sizeBytes: 1200,
  checksum: 'a'.repeat(64),
  modifiedAt: Date.UTC(2026, 0, 1, 2),
  ...overrides,
});

const decision = (overrides: Partial<OptOutDecision> = {}): Omit<OptOutDecision, 'id'> => ({
  at: 1,
  recordKey: 'c1',
  dynamicsColumn: 'donotemail',
  campaignAttribute: 'blackListEmail',
  dynamicsValue: false,
  dynamicsChangedAt: 100,
  campaignValue: true,
  campaignChangedAt: 200,
  winner: true,
  winningSide: 'campaign',
  rule: 'campaign-newer',
  mode: 'bidirectional',
  source: 'file',
  sourceRef: 'optout_20260101_020000.csv:2',
  action: 'write-dynamics',
  ...overrides,
});

export function describeOptOutStoreContract(name: string, harness: OptOutStoreHarness): void {
  describe(`OptOutStore contract (${name})`, () => {
    let clock: ManualClock;
    let store: StateStore;
    beforeEach(async () => {
      clock = new ManualClock(Date.UTC(2026, 0, 2));
      store = await harness.openEmpty(clock);
    });
    afterEach(async () => {
      await store.close();
    });

    it('begins a file once per name, size and checksum; the same identity resumes', async () => {
      const first = await store.optOut.beginFile(file());
      expect(first.created).toBe(true);
      expect(first.file).toMatchObject({ status: 'processing', lineCheckpoint: 0, disposition: 'kept' });
      expect(first.file.startedAt).toBe(clock.now());
      const again = await store.optOut.beginFile(file());
      expect(again).toMatchObject({ created: false, file: { id: first.file.id } });
      const rewritten = await store.optOut.beginFile(file({ sizeBytes: 1300, checksum: 'b'.repeat(64) }));
      expect(rewritten.created).toBe(true);
      expect((await store.optOut.filesNamed(file().name)).map((f) => f.id)).toEqual([
        rewritten.file.id,
        first.file.id,
      ]);
      expect(await store.optOut.findFile({ name: 'other.csv', sizeBytes: 1, checksum: 'c' })).toBeNull();
    });

    it('commits a batch atomically: checkpoint, counters, quarantine, writes and decisions', async () => {
      const { file: f } = await store.optOut.beginFile(file());
      await store.optOut.commitBatch({
        fileId: f.id,
        lineCheckpoint: 101,
        rowsApplied: 97,
        rowsQuarantined: 2,
        rowsSkipped: 1,
        quarantined: [
          { fileName: f.name, line: 7, reason: 'invalid-boolean', column: 'blackList', at: clock.now() },
          { fileName: f.name, line: 9, reason: 'bad-quoting', column: null, at: clock.now() },
        ],
        writes: [
          {
            recordKey: 'c1',
            attribute: 'blackListEmail',
            system: 'dynamics',
            value: true,
            at: 5,
            resultVersion: '77',
          },
        ],
        decisions: [decision()],
      });
      const [after] = await store.optOut.filesNamed(f.name);
      expect(after).toMatchObject({
        lineCheckpoint: 101,
        rowsApplied: 97,
        rowsQuarantined: 2,
        rowsSkipped: 1,
      });
      const quarantine = await store.optOut.listQuarantine({ fileName: f.name }, {});
      expect(quarantine.items.map((q) => [q.line, q.reason, q.column])).toEqual([
        [7, 'invalid-boolean', 'blackList'],
        [9, 'bad-quoting', null],
      ]);
      expect(await store.optOut.latestWrites('dynamics', ['c1'])).toEqual([
        {
          recordKey: 'c1',
          attribute: 'blackListEmail',
          system: 'dynamics',
          value: true,
          at: 5,
          resultVersion: '77',
        },
      ]);
      expect((await store.optOut.listDecisions({ recordKey: 'c1' }, {})).items).toHaveLength(1);

      // A batch that would move the checkpoint backwards commits nothing at all.
      const error = await store.optOut
        .commitBatch({
          fileId: f.id,
          lineCheckpoint: 50,
          rowsApplied: 1,
          rowsQuarantined: 0,
          rowsSkipped: 0,
          quarantined: [],
          writes: [],
          decisions: [decision({ recordKey: 'c2' })],
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect((await store.optOut.listDecisions({ recordKey: 'c2' }, {})).items).toHaveLength(0);
      expect((await store.optOut.filesNamed(f.name))[0]!.rowsApplied).toBe(97);
    });

    it('finishes, restarts and disposes files; lists them newest first; finds archived ones for retention', async () => {
      const a = (await store.optOut.beginFile(file({ name: 'a.csv' }))).file;
      clock.advance(1000);
      const b = (await store.optOut.beginFile(file({ name: 'b.csv' }))).file;
      await store.optOut.finishFile(a.id, { status: 'processed' });
      await store.optOut.finishFile(b.id, { status: 'failed', errorCode: 'SFTP_TIMEOUT' });
      await store.optOut.markDisposed(a.id, 'archived', 'd365_loads/archive/a.csv');
      clock.advance(10_000);
      await store.optOut.markDisposed(b.id, 'deleted', null);
      const listed = await store.optOut.listFiles({ limit: 1 });
      expect(listed.items.map((f) => f.name)).toEqual(['b.csv']);
      const next = await store.optOut.listFiles({ limit: 1, cursor: listed.nextCursor! });
      expect(next.items[0]).toMatchObject({
        name: 'a.csv',
        status: 'processed',
        disposition: 'archived',
        archivedPath: 'd365_loads/archive/a.csv',
      });
      expect(next.nextCursor).toBeNull();
      expect((await store.optOut.archivedBefore(clock.now(), 10)).map((f) => f.name)).toEqual(['a.csv']);
      expect(await store.optOut.archivedBefore(clock.now() - 20_000, 10)).toEqual([]);
      expect(await store.optOut.lastFileStartedAt()).toBe(b.startedAt);
      await store.optOut.restartFile(b.id);
      expect((await store.optOut.filesNamed('b.csv'))[0]).toMatchObject({
        status: 'processing',
        lineCheckpoint: 0,
        errorCode: null,
      });
    });

    it('keeps the newest write per contact, attribute and system', async () => {
      await store.optOut.recordWrites([
        {
          recordKey: 'c1',
          attribute: 'blackListEmail',
          system: 'campaign',
          value: true,
          at: 1,
          resultVersion: null,
        },
        {
          recordKey: 'c1',
          attribute: 'blackListEmail',
          system: 'campaign',
          value: false,
          at: 2,
          resultVersion: null,
        },
        {
          recordKey: 'c1',
          attribute: 'blackList',
          system: 'campaign',
          value: true,
          at: 3,
          resultVersion: null,
        },
        {
          recordKey: 'c2',
          attribute: 'blackListEmail',
          system: 'dynamics',
          value: true,
          at: 4,
          resultVersion: '9',
        },
      ]);
      const writes = await store.optOut.latestWrites('campaign', ['c1', 'c2', 'c3']);
      expect(writes.map((w) => [w.recordKey, w.attribute, w.value, w.at])).toEqual([
        ['c1', 'blackList', true, 3],
        ['c1', 'blackListEmail', false, 2],
      ]);
      expect(await store.optOut.latestWrites('dynamics', [])).toEqual([]);
    });

    it('pages decisions of one contact newest first, with every field kept', async () => {
      await store.optOut.recordDecisions([
        decision({ at: 1 }),
        decision({ at: 2, recordKey: 'c2' }),
        decision({
          at: 3,
          dynamicsValue: null,
          campaignValue: null,
          dynamicsChangedAt: null,
          campaignChangedAt: null,
          winner: false,
          winningSide: 'dynamics',
          rule: 'echo',
          source: 'contact-change',
          sourceRef: null,
          action: 'echo',
        }),
      ]);
      const first = await store.optOut.listDecisions({ recordKey: 'c1' }, { limit: 1 });
      expect(first.items[0]).toMatchObject({
        at: 3,
        dynamicsValue: null,
        campaignValue: null,
        winner: false,
        rule: 'echo',
        source: 'contact-change',
        sourceRef: null,
      });
      const second = await store.optOut.listDecisions({ recordKey: 'c1' }, { cursor: first.nextCursor! });
      expect(second.items).toEqual([{ ...decision({ at: 1 }), id: second.items[0]!.id }]);
      expect(second.nextCursor).toBeNull();
      expect((await store.optOut.listDecisions({}, {})).items.map((d) => d.at)).toEqual([3, 2, 1]);
    });
  });
}
