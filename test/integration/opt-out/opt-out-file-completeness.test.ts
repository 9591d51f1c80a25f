/**
 * Issue #15: a file can be archived mid-write. The Campaign workflow writes the export through an
 * open handle; the ingestor (here with `stableChecks: 1`, the setting the issue found) must never
 * take a partial file for a whole one: a cut last line holds the file (nothing applied, nothing
 * archived), a file archived while its writer was paused at a line end is read again when it grows
 * in the archive folder, and a trailer, when present or required, must match the lines read.
 * Through the Campaign emulator's SFTP server, on SQLite and PostgreSQL.
 */
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { storeKinds } from '../../support/sync-test-bed.js';
import { OptOutTestBed, type OptOutEngine } from './support/opt-out-test-bed.js';

let bed: OptOutTestBed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

async function pollTimes(parts: OptOutEngine, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await parts.optOut.ingestor!.pollOnce();
}

const newline = 0x0a;

/** Data lines (header excluded) wholly inside `bytes`. */
const dataLinesIn = (bytes: Buffer): number => bytes.filter((b) => b === newline).length - 1;

async function dynamicsWrites(parts: OptOutEngine): Promise<string[]> {
  return (await parts.runtime.store.optOut.listDecisions({}, { limit: 1000 })).items
    .filter((d) => d.action === 'write-dynamics')
    .map((d) => d.recordKey)
    .sort();
}

describe.each(storeKinds)('opt-out export completeness (%s)', (store) => {
  it('holds a file whose last line is cut, and applies a file archived mid-write once the rest arrives', async () => {
    bed = await OptOutTestBed.start({ store, mode: 'campaign-to-dynamics', file: { stableChecks: 1 } });
    const ids = await bed.optedOutInCampaign(20);
    const { path, fileName } = await bed.exportNow();
    const full = readFileSync(bed.onDisk(path));
    // Campaign's workflow is still writing: two thirds are there, the last line is cut.
    let cut = Math.floor((full.length * 2) / 3);
    while (full[cut - 1] === newline) cut += 1;
    const fd = openSync(bed.onDisk(path), 'w');
    try {
      writeSync(fd, full, 0, cut, 0);
      const parts = await bed.engine(new ManualClock(Date.now()));
      await pollTimes(parts, 2);
      expect(bed.donotemail(ids)).toEqual(ids.map(() => false));
      expect(existsSync(bed.onDisk(path))).toBe(true);
      expect((await parts.runtime.store.optOut.listFiles({})).items).toEqual([
        expect.objectContaining({
          name: fileName,
          status: 'held',
          errorCode: 'OPTOUT_FILE_INCOMPLETE',
          rowsApplied: 0,
        }),
      ]);

      // The writer reaches the end of that line and pauses: the file looks whole (size and time
      // stable, last line complete), so it is applied and archived...
      const lineEnd = full.indexOf(newline, cut) + 1;
      writeSync(fd, full, cut, lineEnd - cut, cut);
      await pollTimes(parts, 1);
      const firstPart = dataLinesIn(full.subarray(0, lineEnd));
      expect(bed.donotemail(ids).filter((v) => v === true)).toHaveLength(firstPart);
      expect(existsSync(bed.onDisk(path))).toBe(false);

      // ...and the writer, holding the file open, writes the rest into the archived file.
      writeSync(fd, full, lineEnd, full.length - lineEnd, lineEnd);
      closeSync(fd);
      await pollTimes(parts, 1);
      expect(bed.donotemail(ids)).toEqual(ids.map(() => true));
      // Every line applied exactly once.
      expect(await dynamicsWrites(parts)).toEqual([...ids].sort());
      const files = (await parts.runtime.store.optOut.listFiles({})).items;
      expect(files.filter((f) => f.status === 'processed')).toEqual([
        expect.objectContaining({
          name: fileName,
          sizeBytes: full.length,
          rowsApplied: 20,
          disposition: 'archived',
        }),
      ]);
      expect(await parts.optOut.provider.fileProblems()).toEqual([]);
    } finally {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  });
});

describe('opt-out export completeness', () => {
  it('makes a file held for too long a problem and an alert', async () => {
    bed = await OptOutTestBed.start({
      mode: 'campaign-to-dynamics',
      file: { stableChecks: 1, incompleteAfterMinutes: 60 },
    });
    const ids = await bed.optedOutInCampaign(3);
    const { path, fileName } = await bed.exportNow();
    const full = readFileSync(bed.onDisk(path));
    writeFileSync(bed.onDisk(path), full.subarray(0, full.length - 5));
    const clock = new ManualClock(Date.now());
    const parts = await bed.engine(clock);
    await pollTimes(parts, 1);
    expect(parts.alerts.kinds().filter((k) => k.startsWith('opt-out-file-problem'))).toEqual([]);
    expect(await parts.optOut.provider.fileProblems()).toEqual([]);
    clock.advance(61 * 60_000);
    await pollTimes(parts, 1);
    expect(parts.alerts.kinds()).toContain(`opt-out-file-problem:incomplete:${fileName}`);
    expect(await parts.optOut.provider.fileProblems()).toEqual([
      expect.objectContaining({ file: fileName, problem: 'incomplete', code: 'OPTOUT_FILE_INCOMPLETE' }),
    ]);
    // The rest arrives: applied, the problem is gone.
    writeFileSync(bed.onDisk(path), full);
    await pollTimes(parts, 1);
    expect(bed.donotemail(ids)).toEqual(ids.map(() => true));
    expect(await parts.optOut.provider.fileProblems()).toEqual([]);
  });

  it('with a required trailer, holds a file cut at a line end and fails one whose line count disagrees', async () => {
    bed = await OptOutTestBed.start({
      mode: 'campaign-to-dynamics',
      file: { stableChecks: 1, requireTrailer: true },
    });
    bed.sftp.configure({ trailer: true });
    const ids = await bed.optedOutInCampaign(6);
    const { path, fileName } = await bed.exportNow();
    const full = readFileSync(bed.onDisk(path), 'utf8');
    const lines = full.split('\n');
    expect(lines.at(-2)).toBe('#EOF;6');
    // Cut after the fourth data line: every line is complete, but the trailer is missing.
    writeFileSync(bed.onDisk(path), lines.slice(0, 5).join('\n') + '\n');
    const parts = await bed.engine(new ManualClock(Date.now()));
    await pollTimes(parts, 1);
    expect(bed.donotemail(ids)).toEqual(ids.map(() => false));
    expect((await parts.runtime.store.optOut.listFiles({})).items[0]).toMatchObject({
      name: fileName,
      status: 'held',
      errorCode: 'OPTOUT_FILE_NO_TRAILER',
    });
    writeFileSync(bed.onDisk(path), full);
    await pollTimes(parts, 1);
    expect(bed.donotemail(ids)).toEqual(ids.map(() => true));
    expect((await parts.runtime.store.optOut.listFiles({})).items[0]).toMatchObject({
      name: fileName,
      status: 'processed',
      rowsApplied: 6,
      rowsQuarantined: 0,
    });

    // A file whose trailer counts a line that is not there: nothing applied, failed, an alert.
    const more = await bed.optedOutInCampaign(3);
    const second = await bed.exportNow();
    const secondLines = readFileSync(bed.onDisk(second.path), 'utf8').split('\n');
    secondLines.splice(2, 1);
    writeFileSync(bed.onDisk(second.path), secondLines.join('\n'));
    await pollTimes(parts, 1);
    expect(bed.donotemail(more)).toEqual(more.map(() => false));
    const failed = (await parts.runtime.store.optOut.listFiles({})).items.find(
      (f) => f.name === second.fileName,
    );
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'OPTOUT_FILE_LINE_COUNT_MISMATCH' });
    expect(parts.alerts.kinds()).toContain(`opt-out-file-problem:failed:${second.fileName}`);
  });
});
