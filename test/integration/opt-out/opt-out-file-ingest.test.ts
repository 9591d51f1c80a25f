/**
 * The SFTP export ingest against the Campaign emulator's SFTP server and export workflow, with
 * the service on a manual clock: complete files only, exactly once, resume after a stop without
 * re-applying, quarantine, staleness, quota and retention.
 */
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { OptOutFileIngestor } from '../../../src/engine/opt-out/opt-out-file-ingestor.js';
import {
  createOptOutWriter,
  openOptOutFileSource,
  readOptOutSettings,
} from '../../../src/cli/runtime/opt-out-runtime.js';
import { silentLogger } from '../../../src/core/ports/engine-logger.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { OptOutTestBed, RecordingAlerts, type OptOutEngine } from './support/opt-out-test-bed.js';

let bed: OptOutTestBed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

const dayMs = 24 * 3_600_000;

/** Contacts synced to Campaign, each opted out there (so the next export holds one row each). */
async function optedOutInCampaign(b: OptOutTestBed, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => String(b.dynamics.createContact(buildContact()).contactid));
  await (await b.bed.engine()).engine.runUntilIdle({ timeoutMs: 30_000 });
  for (const id of ids) b.campaign.editProfileAsOperator(id, { blackListEmail: true });
  return ids;
}

const versions = (b: OptOutTestBed, ids: readonly string[]) =>
  ids.map((id) => Number(b.dynamics.getContact(id)!.versionnumber));

async function pollTimes(parts: OptOutEngine, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await parts.optOut.ingestor!.pollOnce();
}

describe('opt-out export ingest', () => {
  it('waits for a growing file to be complete, then applies it once, even when it is listed again', async () => {
    bed = await OptOutTestBed.start({ mode: 'campaign-to-dynamics', file: { stableChecks: 2 } });
    const ids = await optedOutInCampaign(bed, 12);
    const parts = await bed.engine(new ManualClock(Date.now()));
    const before = versions(bed, ids);
    // Polls are further apart than the writer's pauses, as in production (minutes vs. seconds).
    bed.sftp.setSlowWrite({ chunks: 6, intervalMs: 60 });
    bed.emulatedClock.advance(1000);
    let writing = true;
    const run = bed.sftp.runNow().finally(() => (writing = false));
    while (writing) {
      await parts.optOut.ingestor!.pollOnce();
      if (writing) expect((await parts.runtime.store.optOut.listFiles({})).items).toEqual([]);
      await new Promise((r) => setTimeout(r, 150));
    }
    const { fileName, path } = (await run) as unknown as { fileName: string; path: string };
    await pollTimes(parts, 2);
    expect(ids.map((id) => bed!.dynamics.getContact(id)!.donotemail)).toEqual(ids.map(() => true));
    const [file] = (await parts.runtime.store.optOut.listFiles({})).items;
    expect(file).toMatchObject({
      name: fileName,
      status: 'processed',
      rowsApplied: 12,
      disposition: 'archived',
    });
    const applied = versions(bed, ids);
    expect(applied.every((v, i) => v > before[i]!)).toBe(true);

    // Put the same file back into the export folder: recognised by name, size and checksum.
    const root = bed.bed.campaign.sftp!.rootDir;
    copyFileSync(join(root, 'd365_loads/archive', fileName), join(root, path));
    const decisionsBefore = (await parts.runtime.store.optOut.listDecisions({}, { limit: 1000 })).items
      .length;
    await pollTimes(parts, 3);
    expect((await parts.runtime.store.optOut.listFiles({})).items).toHaveLength(1);
    expect((await parts.runtime.store.optOut.listDecisions({}, { limit: 1000 })).items).toHaveLength(
      decisionsBefore,
    );
    expect(existsSync(join(root, path))).toBe(false);
    // Not written again: every contact is still at the version our one write gave it.
    expect(versions(bed, ids)).toEqual(applied);
  });

  it('resumes a file stopped mid-way after its last committed batch, neither losing nor re-applying rows', async () => {
    bed = await OptOutTestBed.start({
      mode: 'campaign-to-dynamics',
      file: { batchSize: 5, stableChecks: 1 },
    });
    const ids = await optedOutInCampaign(bed, 23);
    const before = versions(bed, ids);
    await bed.exportNow();
    const first = await bed.engine(new ManualClock(Date.now()));
    const settings = readOptOutSettings(first.runtime)!;
    const source = openOptOutFileSource(first.runtime)!;
    let batches = 0;
    const stopping: Promise<void>[] = [];
    const ingestor: OptOutFileIngestor = new OptOutFileIngestor({
      settings,
      file: { ...first.runtime.config.flows.optOut.file, stableChecks: 1, pollIntervalMs: 60_000 },
      source,
      writer: await createOptOutWriter(first.runtime),
      store: first.runtime.store,
      clock: first.runtime.clock,
      logger: silentLogger,
      alerts: new RecordingAlerts(),
      quotaBytes: null,
      owner: 'crashing-process',
      onBatch: () => {
        batches += 1;
        if (batches === 2) stopping.push(ingestor.stop()); // the process goes away after 2 batches
      },
    });
    ingestor.start();
    while (stopping.length === 0) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(stopping);
    await source.close();
    const [partial] = (await first.runtime.store.optOut.listFiles({})).items;
    expect(partial).toMatchObject({ status: 'processing', rowsApplied: 10 });
    // The file is a run, still running.
    const [running] = (await first.runtime.store.runs.list({ kind: 'opt-out-file' }, {})).items;
    expect(running).toMatchObject({
      flow: 'optout',
      subject: partial!.name,
      trigger: 'file-arrived',
      outcome: 'running',
    });
    const afterStop = versions(bed, ids);
    const appliedFirst = ids.filter((_, i) => afterStop[i]! > before[i]!);
    expect(appliedFirst).toHaveLength(10);

    // A new process (another lock owner after the first one's lock is released) resumes.
    const second = await bed.engine(new ManualClock(Date.now()));
    await pollTimes(second, 1);
    const [done] = (await second.runtime.store.optOut.listFiles({})).items;
    expect(done).toMatchObject({ status: 'processed', rowsApplied: 23, disposition: 'archived' });
    const final = versions(bed, ids);
    ids.forEach((id, i) => {
      // Rows applied before the stop were not written again; the rest were written once.
      if (appliedFirst.includes(id)) expect(final[i]).toBe(afterStop[i]);
      else expect(final[i]).toBeGreaterThan(before[i]!);
    });
    expect(ids.every((id) => bed!.dynamics.getContact(id)!.donotemail === true)).toBe(true);
    const writes = (await second.runtime.store.optOut.listDecisions({}, { limit: 1000 })).items.filter(
      (d) => d.action === 'write-dynamics',
    );
    expect(writes).toHaveLength(23);
    // The same run (same id) ended once the file was processed, with the file's counts.
    const runs = (await second.runtime.store.runs.list({ kind: 'opt-out-file' }, {})).items;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      id: running!.id,
      outcome: 'succeeded',
      total: 23,
      counts: { read: 23, updated: 23, skipped: { quarantined: 0, 'not-synced': 0 } },
    });
    expect((await second.runtime.store.runs.get(running!.id))!.events.map((e) => e.kind)).toEqual([
      'continued',
    ]);
  });

  it('quarantines malformed rows with file, line and reason, and applies every good row', async () => {
    bed = await OptOutTestBed.start({ mode: 'campaign-to-dynamics', file: { stableChecks: 1 } });
    const ids = await optedOutInCampaign(bed, 6);
    bed.sftp.injectMalformedRows(['bad-quoting', 'wrong-column-count', 'invalid-boolean', 'invalid-date']);
    const run = (await bed.exportNow()) as unknown as {
      fileName: string;
      malformedRows: { line: number; kind: string }[];
    };
    const parts = await bed.engine(new ManualClock(Date.now()));
    await pollTimes(parts, 1);
    expect(ids.every((id) => bed!.dynamics.getContact(id)!.donotemail === true)).toBe(true);
    const quarantine = await parts.runtime.store.optOut.listQuarantine({ fileName: run.fileName }, {});
    expect(quarantine.items.map((q) => [q.line, q.reason]).sort()).toEqual(
      run.malformedRows.map((m) => [m.line, m.kind]).sort(),
    );
    const [file] = (await parts.runtime.store.optOut.listFiles({})).items;
    expect(file).toMatchObject({ status: 'processed', rowsApplied: 6, rowsQuarantined: 4 });
  });

  it('raises the staleness alert when the export workflow stops, and clears when a file arrives', async () => {
    bed = await OptOutTestBed.start({
      mode: 'campaign-to-dynamics',
      file: { stableChecks: 1, stalenessHours: 26 },
    });
    const clock = new ManualClock(Date.now());
    const parts = await bed.engine(clock);
    await bed.exportNow(); // yesterday's file
    await pollTimes(parts, 1);
    await bed.sftp.stop(); // the Campaign workflow stops: no more files
    clock.advance(25 * 3_600_000);
    await pollTimes(parts, 1);
    expect(parts.alerts.kinds()).not.toContain('opt-out-file-stale:opt-out-export');
    clock.advance(2 * 3_600_000);
    await pollTimes(parts, 1);
    expect(parts.alerts.kinds()).toContain('opt-out-file-stale:opt-out-export');
    expect(await parts.optOut.provider.freshness()).toMatchObject({ stale: true, stalenessHours: 26 });
    bed.sftp.start();
    await bed.exportNow();
    await pollTimes(parts, 1);
    expect(await parts.optOut.provider.freshness()).toMatchObject({ stale: false, lastFileAt: clock.now() });
  });

  it('alerts at 80 % and 90 % of the SFTP quota', async () => {
    bed = await OptOutTestBed.start({ mode: 'campaign-to-dynamics', quotaBytes: 10_000 });
    const parts = await bed.engine(new ManualClock(Date.now()));
    const root = bed.bed.campaign.sftp!.rootDir;
    writeFileSync(join(root, 'd365_loads', 'other-export.bin'), Buffer.alloc(7_000));
    await pollTimes(parts, 1);
    expect(parts.alerts.kinds().filter((k) => k.startsWith('sftp-usage'))).toEqual([]);
    writeFileSync(join(root, 'd365_loads', 'other-export.bin'), Buffer.alloc(8_300));
    await pollTimes(parts, 1);
    expect(parts.alerts.kinds().filter((k) => k.startsWith('sftp-usage'))).toEqual(['sftp-usage:sftp']);
    writeFileSync(join(root, 'd365_loads', 'other-export.bin'), Buffer.alloc(9_300));
    await pollTimes(parts, 1);
    expect(parts.alerts.kinds().filter((k) => k.startsWith('sftp-usage'))).toEqual([
      'sftp-usage:sftp',
      'sftp-usage:sftp',
    ]);
    expect(parts.alerts.alerts.filter((a) => a.kind === 'sftp-usage').map((a) => a.severity)).toEqual([
      'warning',
      'critical',
    ]);
    expect(await parts.optOut.provider.sftpUsage()).toMatchObject({ quotaBytes: 10_000 });
  });

  it('removes archived files after the retention (15 days by default)', async () => {
    bed = await OptOutTestBed.start({ mode: 'campaign-to-dynamics', file: { stableChecks: 1 } });
    await optedOutInCampaign(bed, 2);
    const clock = new ManualClock(Date.now());
    const parts = await bed.engine(clock);
    const { fileName } = await bed.exportNow();
    await pollTimes(parts, 1);
    const archived = join(bed.bed.campaign.sftp!.rootDir, 'd365_loads/archive', fileName);
    expect(existsSync(archived)).toBe(true);
    clock.advance(14 * dayMs);
    await pollTimes(parts, 1);
    expect(existsSync(archived)).toBe(true);
    clock.advance(1 * dayMs + 1000);
    await pollTimes(parts, 1);
    expect(existsSync(archived)).toBe(false);
    expect((await parts.runtime.store.optOut.listFiles({})).items[0]).toMatchObject({
      disposition: 'deleted',
    });
  });
});
