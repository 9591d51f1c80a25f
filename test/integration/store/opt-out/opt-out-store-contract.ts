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
  /**
   * A new database migrated up to version 4, given to `seed` (statements with `?` parameters),
   * then opened (and so migrated to the latest version) like any store. Closed by the caller.
   */
  upgradeFrom4(
    clock: Clock,
    seed: (run: (sql: string, params?: (string | number | null)[]) => Promise<unknown>) => Promise<void>,
  ): Promise<StateStore>;
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

    it('a grown file supersedes its earlier version: the new entry carries on from its checkpoint and counters', async () => {
      const { file: held } = await store.optOut.beginFile(file({ sizeBytes: 100, checksum: '1'.repeat(64) }));
      await store.optOut.finishFile(held.id, { status: 'held', errorCode: 'OPTOUT_FILE_INCOMPLETE' });
      const { file: part } = await store.optOut.beginFile(
        file({ sizeBytes: 200, checksum: '2'.repeat(64) }),
        {
          supersedes: held.id,
        },
      );
      expect(part).toMatchObject({ status: 'processing', lineCheckpoint: 0 });
      await store.optOut.commitBatch({
        fileId: part.id,
        lineCheckpoint: 12,
        rowsApplied: 9,
        rowsQuarantined: 1,
        rowsSkipped: 1,
        quarantined: [{ fileName: part.name, line: 4, reason: 'unclosed-quote', column: null, at: 1 }],
        writes: [],
        decisions: [],
      });
      await store.optOut.finishFile(part.id, { status: 'processed' });
      clock.advance(1000);
      const grown = await store.optOut.beginFile(file({ sizeBytes: 300, checksum: '3'.repeat(64) }), {
        supersedes: part.id,
      });
      expect(grown).toMatchObject({
        created: true,
        file: {
          status: 'processing',
          lineCheckpoint: 12,
          rowsApplied: 9,
          rowsQuarantined: 1,
          rowsSkipped: 1,
          quarantineOpen: 1,
          startedAt: clock.now(),
        },
      });
      const byId = new Map((await store.optOut.filesNamed(part.name)).map((f) => [f.id, f]));
      expect(byId.get(held.id)).toMatchObject({ status: 'superseded' });
      expect(byId.get(part.id)).toMatchObject({ status: 'superseded', rowsApplied: 9 });
      // Only a current entry of the same name can be superseded, and nothing is created otherwise.
      const wrong = await store.optOut
        .beginFile(file({ sizeBytes: 400, checksum: '4'.repeat(64) }), { supersedes: part.id })
        .catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(StoreError);
      expect(
        await store.optOut.findFile({ name: part.name, sizeBytes: 400, checksum: '4'.repeat(64) }),
      ).toBeNull();
    });

    it('counts attempts, and lists failed, held and retried entries and open quarantined lines as problems until resolved', async () => {
      const failed = (await store.optOut.beginFile(file({ name: 'failed.csv' }))).file;
      await store.optOut.finishFile(failed.id, { status: 'failed', errorCode: 'OPTOUT_FILE_HEADER_INVALID' });
      expect(await store.optOut.recordAttempt(failed.id, 'OPTOUT_FILE_HEADER_INVALID')).toBe(1);
      const held = (await store.optOut.beginFile(file({ name: 'held.csv' }))).file;
      await store.optOut.finishFile(held.id, { status: 'held', errorCode: 'OPTOUT_FILE_INCOMPLETE' });
      const retried = (await store.optOut.beginFile(file({ name: 'retried.csv' }))).file;
      expect(await store.optOut.recordAttempt(retried.id, 'SFTP_TIMEOUT')).toBe(1);
      expect(await store.optOut.recordAttempt(retried.id, 'DYNAMICS_HTTP_503')).toBe(2);
      const done = (await store.optOut.beginFile(file({ name: 'done.csv' }))).file;
      await store.optOut.commitBatch({
        fileId: done.id,
        lineCheckpoint: 9,
        rowsApplied: 5,
        rowsQuarantined: 3,
        rowsSkipped: 0,
        quarantined: [7, 3, 5].map((line) => ({
          fileName: 'done.csv',
          line,
          reason: 'line-too-long',
          column: null,
          at: clock.now(),
        })),
        writes: [],
        decisions: [],
      });
      await store.optOut.finishFile(done.id, { status: 'processed' });

      const problems = await store.optOut.fileProblems(10);
      expect(problems.files.map((f) => [f.name, f.status, f.errorCode, f.attempts])).toEqual([
        ['failed.csv', 'failed', 'OPTOUT_FILE_HEADER_INVALID', 1],
        ['held.csv', 'held', 'OPTOUT_FILE_INCOMPLETE', 0],
        ['retried.csv', 'processing', 'DYNAMICS_HTTP_503', 2],
      ]);
      expect(problems.quarantined).toEqual([{ fileName: 'done.csv', lines: 3, firstLine: 3 }]);
      expect((await store.optOut.filesNamed('done.csv'))[0]).toMatchObject({ quarantineOpen: 3 });

      // Re-applying lines resolves them together with what the re-application wrote and decided.
      const resolved = await store.optOut.resolveQuarantine({
        fileName: 'done.csv',
        lines: [3, 5, 42],
        resolution: 'reapplied',
        writes: [
          {
            recordKey: 'c9',
            attribute: 'blackListEmail',
            system: 'dynamics',
            value: true,
            at: 1,
            resultVersion: '3',
          },
        ],
        decisions: [decision({ recordKey: 'c9', sourceRef: 'done.csv:3' })],
      });
      expect(resolved).toEqual([3, 5]);
      expect(await store.optOut.latestWrites('dynamics', ['c9'])).toHaveLength(1);
      expect((await store.optOut.listDecisions({ recordKey: 'c9' }, {})).items).toHaveLength(1);
      expect(
        await store.optOut.resolveQuarantine({ fileName: 'done.csv', lines: [3], resolution: 'dismissed' }),
      ).toEqual([]);
      expect(
        (await store.optOut.listQuarantine({ fileName: 'done.csv', open: true }, {})).items.map(
          (q) => q.line,
        ),
      ).toEqual([7]);
      const all = await store.optOut.listQuarantine({ fileName: 'done.csv' }, {});
      expect(all.items.map((q) => [q.line, q.resolution, q.resolvedAt])).toEqual([
        [7, null, null],
        [3, 'reapplied', clock.now()],
        [5, 'reapplied', clock.now()],
      ]);
      expect(
        await store.optOut.resolveQuarantine({ fileName: 'done.csv', lines: [7], resolution: 'dismissed' }),
      ).toEqual([7]);

      // Dismissed entries are no problem any more; a processed file cannot be dismissed.
      await store.optOut.dismissFile(failed.id);
      await store.optOut.dismissFile(held.id);
      await store.optOut.dismissFile(done.id);
      const after = await store.optOut.fileProblems(10);
      expect(after.files.map((f) => f.name)).toEqual(['retried.csv']);
      expect(after.quarantined).toEqual([]);
      expect((await store.optOut.filesNamed('failed.csv'))[0]!.dismissedAt).toBe(clock.now());
      expect((await store.optOut.filesNamed('done.csv'))[0]!.dismissedAt).toBeNull();

      // The same line quarantined again (the file ingested again by hand) is open again.
      const again = (await store.optOut.beginFile(file({ name: 'done.csv', sizeBytes: 7 }))).file;
      await store.optOut.commitBatch({
        fileId: again.id,
        lineCheckpoint: 7,
        rowsApplied: 0,
        rowsQuarantined: 1,
        rowsSkipped: 0,
        quarantined: [
          { fileName: 'done.csv', line: 7, reason: 'invalid-date', column: 'blackListLastModified', at: 2 },
        ],
        writes: [],
        decisions: [],
      });
      expect((await store.optOut.listQuarantine({ fileName: 'done.csv', open: true }, {})).items).toEqual([
        expect.objectContaining({ line: 7, reason: 'invalid-date', resolution: null, resolvedAt: null }),
      ]);
    });

    it('finds files archived lately, to look at them again', async () => {
      const a = (await store.optOut.beginFile(file({ name: 'a.csv' }))).file;
      await store.optOut.finishFile(a.id, { status: 'processed' });
      await store.optOut.markDisposed(a.id, 'archived', 'd365_loads/archive/a.csv');
      clock.advance(60_000);
      const b = (await store.optOut.beginFile(file({ name: 'b.csv' }))).file;
      await store.optOut.finishFile(b.id, { status: 'processed' });
      await store.optOut.markDisposed(b.id, 'archived', 'd365_loads/archive/b.csv');
      expect((await store.optOut.archivedSince(clock.now() - 120_000, 10)).map((f) => f.name)).toEqual([
        'a.csv',
        'b.csv',
      ]);
      expect((await store.optOut.archivedSince(clock.now(), 10)).map((f) => f.name)).toEqual(['b.csv']);
    });

    it('migration 5 keeps the file ledger and the quarantined lines of a store at version 4', async () => {
      const upgraded = await harness.upgradeFrom4(clock, async (run) => {
        await run(
          'INSERT INTO opt_out_files (name, path, size_bytes, checksum, modified_at, status, line_checkpoint, ' +
            'rows_applied, rows_quarantined, rows_skipped, started_at, finished_at, disposition, archived_path, ' +
            "disposed_at, error_code) VALUES ('old.csv', 'd365_loads/exports/old.csv', 10, ?, 1, 'processed', 5, 3, " +
            "1, 0, 2, 3, 'archived', 'd365_loads/archive/old.csv', 4, NULL)",
          ['e'.repeat(64)],
        );
        await run(
          "INSERT INTO opt_out_quarantine (file_name, line, reason, column_name, at) VALUES ('old.csv', 4, 'bad-quoting', NULL, 3)",
        );
      });
      try {
        const [old] = (await upgraded.optOut.listFiles({})).items;
        expect(old).toMatchObject({
          name: 'old.csv',
          status: 'processed',
          lineCheckpoint: 5,
          rowsApplied: 3,
          rowsQuarantined: 1,
          disposition: 'archived',
          disposedAt: 4,
          attempts: 0,
          quarantineOpen: 1,
          dismissedAt: null,
        });
        expect((await upgraded.optOut.listQuarantine({ open: true }, {})).items).toEqual([
          expect.objectContaining({ fileName: 'old.csv', line: 4, reason: 'bad-quoting', resolution: null }),
        ]);
        // The new states are accepted, and ids go on after the old ones.
        const { file: next } = await upgraded.optOut.beginFile(file({ name: 'new.csv' }));
        expect(Number(next.id)).toBeGreaterThan(Number(old!.id));
        await upgraded.optOut.finishFile(next.id, { status: 'held', errorCode: 'OPTOUT_FILE_INCOMPLETE' });
        expect((await upgraded.optOut.fileProblems(10)).files.map((f) => f.status)).toEqual(['held']);
      } finally {
        await upgraded.close();
      }
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

    it('gives the newest Campaign time decided from a file per contact and attribute', async () => {
      await store.optOut.recordDecisions([
        decision({ recordKey: 'c1', campaignChangedAt: 200 }),
        decision({ recordKey: 'c1', campaignChangedAt: 500 }),
        decision({ recordKey: 'c1', campaignAttribute: 'blackList', campaignChangedAt: 300 }),
        decision({ recordKey: 'c1', campaignChangedAt: 900, source: 'contact-change', sourceRef: null }),
        decision({ recordKey: 'c2', campaignChangedAt: null }),
        decision({ recordKey: 'c3', campaignChangedAt: 50 }),
      ]);
      expect(await store.optOut.latestFileCampaignTimes(['c1', 'c2'])).toEqual([
        { recordKey: 'c1', attribute: 'blackList', campaignChangedAt: 300 },
        { recordKey: 'c1', attribute: 'blackListEmail', campaignChangedAt: 500 },
      ]);
      expect(await store.optOut.latestFileCampaignTimes([])).toEqual([]);
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
