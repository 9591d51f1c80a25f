/**
 * Issue #15, defect 3: unbounded lines and files that cannot be read. Through the Campaign
 * emulator's SFTP server: an over-long line is quarantined like any bad line (the reader skips it
 * to its newline without holding it); an empty file or one with the wrong header fails at once —
 * never retried, never blocking the files after it — and is an alert and a status problem, not
 * only a log line. On SQLite and PostgreSQL.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { createSyncService } from '../../../src/cli/runtime/start-service.js';
import { storeKinds, testEnv } from '../../support/sync-test-bed.js';
import { OptOutTestBed, type OptOutEngine } from './support/opt-out-test-bed.js';

let bed: OptOutTestBed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

async function pollTimes(parts: OptOutEngine, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await parts.optOut.ingestor!.pollOnce();
}

describe.each(storeKinds)('opt-out export limits (%s)', (store) => {
  it('quarantines an over-long line, fails an empty and a wrong-header file once, and applies the file after them', async () => {
    bed = await OptOutTestBed.start({ store, mode: 'campaign-to-dynamics', file: { stableChecks: 1 } });
    const ids = await bed.optedOutInCampaign(4);
    const { path, fileName } = await bed.exportNow();
    const lines = readFileSync(bed.onDisk(path), 'utf8').split('\n');
    // A 4 MiB line (the default maximum is 64 KiB) between the first and second data row.
    lines.splice(2, 0, `@huge;${'x'.repeat(4 * 1024 * 1024)}`);
    writeFileSync(bed.onDisk(path), lines.join('\n'));
    // Two broken files named before it, so they are listed (and processed) first.
    const empty = 'optout_20000101_000000.csv';
    const wrongHeader = 'optout_20000101_000001.csv';
    writeFileSync(bed.onDisk(`d365_loads/exports/${empty}`), '');
    writeFileSync(bed.onDisk(`d365_loads/exports/${wrongHeader}`), 'id;email\n1;2\n');

    const clock = new ManualClock(Date.now());
    const parts = await bed.engine(clock);
    await pollTimes(parts, 1);
    // The file after the broken ones is applied, every good line of it.
    expect(bed.donotemail(ids)).toEqual(ids.map(() => true));
    const quarantine = await parts.runtime.store.optOut.listQuarantine({ fileName }, {});
    expect(quarantine.items.map((q) => [q.line, q.reason])).toEqual([[3, 'line-too-long']]);
    const ledger = async () =>
      new Map((await parts.runtime.store.optOut.listFiles({})).items.map((f) => [f.name, f]));
    const first = await ledger();
    expect(first.get(fileName)).toMatchObject({ status: 'processed', rowsApplied: 4, rowsQuarantined: 1 });
    expect(first.get(empty)).toMatchObject({ status: 'failed', errorCode: 'OPTOUT_FILE_EMPTY' });
    expect(first.get(wrongHeader)).toMatchObject({
      status: 'failed',
      errorCode: 'OPTOUT_FILE_HEADER_INVALID',
    });

    // Each failed file is an alert and a problem (not only a log line).
    expect(parts.alerts.kinds()).toEqual(
      expect.arrayContaining([
        `opt-out-file-problem:failed:${empty}`,
        `opt-out-file-problem:failed:${wrongHeader}`,
        `opt-out-file-problem:quarantined-lines:${fileName}`,
      ]),
    );
    const problems = await parts.optOut.provider.fileProblems();
    expect(problems.map((p) => [p.file, p.problem, p.code]).sort()).toEqual(
      [
        [empty, 'failed', 'OPTOUT_FILE_EMPTY'],
        [fileName, 'quarantined-lines', null],
        [wrongHeader, 'failed', 'OPTOUT_FILE_HEADER_INVALID'],
      ].sort(),
    );

    // Deterministic failures are not tried again: later polls leave their ledger entries alone.
    clock.advance(10 * 60_000);
    await pollTimes(parts, 3);
    const later = await ledger();
    for (const name of [empty, wrongHeader])
      expect(later.get(name)).toMatchObject({
        attempts: first.get(name)!.attempts,
        finishedAt: first.get(name)!.finishedAt,
      });
    expect(first.get(empty)!.attempts).toBe(1);

    // The operator status of the running service names them too.
    const runtime = await bed.bed.openRuntime();
    const service = await createSyncService(runtime, { listen: { host: '127.0.0.1', port: 0 } });
    try {
      const response = await request(`${service.url}/api/status`, {
        headers: { authorization: `Bearer ${testEnv.DCSYNC_ADMIN_TOKEN}` },
      });
      const status = (await response.body.json()) as { overall: { healthy: boolean; problems: string[] } };
      expect(status.overall.healthy).toBe(false);
      expect(status.overall.problems).toEqual(
        expect.arrayContaining([
          `opt-out file ${empty} failed (OPTOUT_FILE_EMPTY)`,
          `opt-out file ${wrongHeader} failed (OPTOUT_FILE_HEADER_INVALID)`,
          `opt-out file ${fileName}: 1 line quarantined`,
        ]),
      );
    } finally {
      await service.stop();
    }
  });
});
