/**
 * Issue #15, defect 1: one malformed line of the daily export must never swallow the lines after
 * it (I7). The export is read line by line from the Campaign emulator's SFTP server; a bad line is
 * quarantined alone with its line number and reason, shown as a problem (alert, status, `dcsync
 * optout files`) and applied with `dcsync optout ingest --lines` once the operator has fixed it.
 * On SQLite and PostgreSQL.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { exitCodes } from '../../../src/cli/exit-codes.js';
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

describe.each(storeKinds)('opt-out export lines (%s)', (store) => {
  it('quarantines a line whose quote never closes alone, applies every other line, and re-applies it once fixed', async () => {
    bed = await OptOutTestBed.start({ store, mode: 'campaign-to-dynamics', file: { stableChecks: 1 } });
    const ids = await bed.optedOutInCampaign(8);
    const { path, fileName } = await bed.exportNow();
    const original = readFileSync(bed.onDisk(path), 'utf8');
    const lines = original.split('\n');
    expect(lines).toHaveLength(10); // header, 8 rows, '' after the last newline
    // Line 3 (the second data row) opens a quote in its first cell that never closes: `"@…;…`.
    const brokenLine = 3;
    const brokenId = lines[brokenLine - 1]!.split(';')[1]!;
    lines[brokenLine - 1] = `"${lines[brokenLine - 1]}`;
    writeFileSync(bed.onDisk(path), lines.join('\n'));

    const parts = await bed.engine(new ManualClock(Date.now()));
    await pollTimes(parts, 1);
    const others = ids.filter((id) => id !== brokenId);
    expect(others).toHaveLength(7);
    // Every other line is applied, the 6 after the broken one included.
    expect(bed.donotemail(others)).toEqual(others.map(() => true));
    expect(bed.donotemail([brokenId])).toEqual([false]);
    const quarantine = await parts.runtime.store.optOut.listQuarantine({ fileName }, {});
    expect(quarantine.items.map((q) => ({ line: q.line, reason: q.reason, column: q.column }))).toEqual([
      { line: brokenLine, reason: 'unclosed-quote', column: null },
    ]);
    const [file] = (await parts.runtime.store.optOut.listFiles({})).items;
    expect(file).toMatchObject({
      name: fileName,
      status: 'processed',
      rowsApplied: 7,
      rowsQuarantined: 1,
      quarantineOpen: 1,
    });

    // A file with a quarantined line is a problem: alert, provider (status, dashboard), CLI.
    expect(parts.alerts.kinds()).toContain(`opt-out-file-problem:quarantined-lines:${fileName}`);
    const alert = parts.alerts.alerts.find((a) => a.kind === 'opt-out-file-problem')!;
    expect(alert.message).toContain(`line ${brokenLine}`);
    expect(alert.message).not.toContain(brokenId); // ids of contacts never leave in alerts of a line
    expect(await parts.optOut.provider.fileProblems()).toEqual([
      expect.objectContaining({ file: fileName, problem: 'quarantined-lines', lines: 1 }),
    ]);
    const files = await bed.dcsync('optout', 'files', '--json');
    expect(files.code).toBe(exitCodes.attention);
    const listed = JSON.parse(files.stdout) as {
      files: { name: string; quarantineOpen: number }[];
      problems: { file: string; problem: string }[];
    };
    expect(listed.files.find((f) => f.name === fileName)).toMatchObject({ quarantineOpen: 1 });
    expect(listed.problems).toEqual([
      expect.objectContaining({ file: fileName, problem: 'quarantined-lines' }),
    ]);
    const text = await bed.dcsync('optout', 'quarantine', '--file', fileName);
    expect(text.stdout).toContain(`${fileName}:${brokenLine}\tunclosed-quote`);

    // The operator fixes the line in a copy of the file and applies that line alone.
    const fixed = join(bed.bed.dir, fileName);
    writeFileSync(fixed, original);
    const reapply = await bed.dcsync(
      'optout',
      'ingest',
      '--file',
      fixed,
      '--lines',
      String(brokenLine),
      '--json',
    );
    expect(reapply.code).toBe(exitCodes.ok);
    expect(JSON.parse(reapply.stdout)).toMatchObject({
      outcome: 'lines-applied',
      file: fileName,
      applied: [brokenLine],
      stillQuarantined: [],
      missing: [],
    });
    expect(bed.donotemail([brokenId])).toEqual([true]);
    expect((await parts.runtime.store.optOut.listQuarantine({ fileName, open: true }, {})).items).toEqual([]);
    // The quarantine row stays, resolved (file, line, reason — never values).
    expect((await parts.runtime.store.optOut.listQuarantine({ fileName }, {})).items).toEqual([
      expect.objectContaining({ line: brokenLine, reason: 'unclosed-quote', resolution: 'reapplied' }),
    ]);
    expect(await parts.optOut.provider.fileProblems()).toEqual([]);
    // Only that line was applied again: one write per contact in the whole story.
    const writes = (await parts.runtime.store.optOut.listDecisions({}, { limit: 1000 })).items.filter(
      (d) => d.action === 'write-dynamics',
    );
    expect(writes.map((d) => d.recordKey).sort()).toEqual([...ids].sort());
  });
});

describe('opt-out export lines', () => {
  it('never lets a line applied late undo a newer opt-out (campaign-to-dynamics: Campaign wins, but not an older Campaign)', async () => {
    bed = await OptOutTestBed.start({ mode: 'campaign-to-dynamics', file: { stableChecks: 1 } });
    const [id] = await bed.optedOutInCampaign(1);
    bed.campaign.editProfileAsOperator(id!, { blackListEmail: false });
    // The first file says "not opted out"; its line is broken, so it is quarantined.
    const first = await bed.exportNow();
    const original = readFileSync(bed.onDisk(first.path), 'utf8');
    const lines = original.split('\n');
    expect(lines[1]).toContain(id);
    lines[1] = `"${lines[1]}`;
    writeFileSync(bed.onDisk(first.path), lines.join('\n'));
    const parts = await bed.engine(new ManualClock(Date.now()));
    await pollTimes(parts, 1);
    // Then the person opts out in Campaign; the next file applies it.
    bed.campaign.editProfileAsOperator(id!, { blackListEmail: true });
    await bed.exportNow();
    await pollTimes(parts, 1);
    expect(bed.donotemail([id!])).toEqual([true]);
    // The operator fixes and applies the first file's line: it is older than what was applied.
    const fixed = join(bed.bed.dir, first.fileName);
    writeFileSync(fixed, original);
    const reapply = await bed.dcsync('optout', 'ingest', '--file', fixed, '--lines', '2', '--json');
    expect(reapply.code).toBe(exitCodes.ok);
    expect(bed.donotemail([id!])).toEqual([true]);
    const [latest] = (await parts.runtime.store.optOut.listDecisions({ recordKey: id! }, { limit: 1 })).items;
    expect(latest).toMatchObject({
      campaignValue: false,
      action: 'superseded',
      rule: 'newer-file-row-applied',
      sourceRef: `${first.fileName}:2`,
    });
    expect(await parts.optOut.provider.fileProblems()).toEqual([]);
  });

  it('quarantines each broken line the export workflow injects, alone, with its line number and reason', async () => {
    bed = await OptOutTestBed.start({ mode: 'campaign-to-dynamics', file: { stableChecks: 1 } });
    const ids = await bed.optedOutInCampaign(6);
    bed.sftp.injectMalformedRows(['unclosed-quote', 'bad-quoting', 'wrong-column-count', 'invalid-date']);
    const run = await bed.exportNow();
    const parts = await bed.engine(new ManualClock(Date.now()));
    await pollTimes(parts, 1);
    expect(bed.donotemail(ids)).toEqual(ids.map(() => true));
    const quarantine = await parts.runtime.store.optOut.listQuarantine({ fileName: run.fileName }, {});
    expect(quarantine.items.map((q) => [q.line, q.reason]).sort()).toEqual(
      run.malformedRows.map((m) => [m.line, m.kind]).sort(),
    );
    expect((await parts.runtime.store.optOut.listFiles({})).items[0]).toMatchObject({
      status: 'processed',
      rowsApplied: 6,
      rowsQuarantined: 4,
    });
  });
});
