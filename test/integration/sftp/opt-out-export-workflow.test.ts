import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { optOutExportColumns } from '../../../emulators/campaign/sftp/opt-out-export-format.js';
import {
  InMemoryOptOutExportSource,
  optOutExportAttributes,
} from '../../../emulators/campaign/sftp/opt-out-export-source.js';
import {
  OptOutExportWorkflow,
  type OptOutExportWorkflowOptions,
} from '../../../emulators/campaign/sftp/opt-out-export-workflow.js';
import { startSftpServer, type SftpServerHandle } from '../../../emulators/campaign/sftp/sftp-server.js';
import { SftpStorage } from '../../../emulators/campaign/sftp/sftp-storage.js';
import { SftpReader } from '../../../src/connectors/sftp/sftp-reader.js';
import { ManualClock } from '../../../src/core/clock.js';
import { collectDownload } from '../../support/sftp-reader-contract.js';
import { generateSftpTestKeyPair } from '../../support/sftp-test-keys.js';

const exportDir = 'd365_loads/exports';
const hour = 60 * 60 * 1000;
const day = 24 * hour;
const jan1 = Date.UTC(2026, 0, 1);

describe('OptOutExportWorkflow', () => {
  let clock: ManualClock;
  let source: InMemoryOptOutExportSource;
  let storage: SftpStorage;
  const workflows: OptOutExportWorkflow[] = [];

  beforeEach(() => {
    clock = new ManualClock(jan1);
    source = new InMemoryOptOutExportSource();
    storage = new SftpStorage();
  });
  afterEach(async () => {
    await Promise.all(workflows.splice(0).map((workflow) => workflow.stop()));
    await storage.destroy();
  });

  const startWorkflow = (options: Partial<OptOutExportWorkflowOptions> = {}): OptOutExportWorkflow => {
    const workflow = new OptOutExportWorkflow({ source, storage, clock, pollIntervalMs: 0, ...options });
    workflows.push(workflow);
    workflow.start();
    return workflow;
  };
  const exportFiles = (): string[] => readdirSync(path.join(storage.rootDir, exportDir)).sort();
  const readExport = (name: string): Buffer => readFileSync(path.join(storage.rootDir, exportDir, name));
  const parseExport = (name: string): Array<Record<string, string>> =>
    parse<Record<string, string>>(readExport(name), { delimiter: ';', columns: true });

  it('writes the documented format: named by time, ";"-separated, header, UTF-8 without BOM, 0/1 and API timestamps', async () => {
    source.setAttribute('@pk1', 'contact-1', 'blackListEmail', true, jan1 + 1234);
    source.setAttribute('@pk2', 'weird;id "quoted" é', 'ccpaOptOut', true, jan1 + 5000);
    source.setAttribute('@pk2', 'weird;id "quoted" é', 'blackList', false, jan1 + 6000);
    const workflow = startWorkflow();
    clock.set(Date.UTC(2026, 0, 1, 2, 0, 0));

    const run = await workflow.tick();

    expect(run).toMatchObject({ outcome: 'written', fileName: 'optout_20260101_020000.csv', rowCount: 2 });
    expect(run!.path).toBe(`${exportDir}/optout_20260101_020000.csv`);
    const bytes = readExport('optout_20260101_020000.csv');
    expect(bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(false);
    expect(bytes.includes('\r')).toBe(false);
    const text = bytes.toString('utf8');
    expect(text.split('\n')[0]).toBe(optOutExportColumns.join(';'));
    expect(optOutExportColumns).toHaveLength(2 + 2 * optOutExportAttributes.length);
    const [first, second] = parseExport('optout_20260101_020000.csv');
    expect(first).toMatchObject({
      PKey: '@pk1',
      externalId: 'contact-1',
      blackListEmail: '1',
      blackListEmailLastModified: '2026-01-01 00:00:01.234Z',
      blackList: '',
      blackListLastModified: '',
    });
    expect(second).toMatchObject({
      PKey: '@pk2',
      externalId: 'weird;id "quoted" é',
      ccpaOptOut: '1',
      ccpaOptOutLastModified: '2026-01-01 00:00:05.000Z',
      blackList: '0',
      blackListLastModified: '2026-01-01 00:00:06.000Z',
    });
  });

  it('exports only the profiles changed since its last run, each with every attribute and its LastModified', async () => {
    source.setAttribute('@pk1', 'c1', 'blackList', true, jan1 + hour);
    source.setAttribute('@pk2', 'c2', 'blackListFax', true, jan1 + hour);
    const workflow = startWorkflow();
    clock.set(jan1 + 2 * hour);
    const firstRun = await workflow.tick();
    clock.advance(8 * hour);
    source.setAttribute('@pk1', 'c1', 'blackListMobile', true, clock.now());

    clock.set(jan1 + day + 2 * hour);
    const secondRun = await workflow.tick();

    expect(firstRun?.rowCount).toBe(2);
    expect(secondRun).toMatchObject({ outcome: 'written', rowCount: 1, windowStartMs: jan1 + 2 * hour });
    expect(parseExport(secondRun!.fileName!)).toEqual([
      expect.objectContaining({
        PKey: '@pk1',
        blackList: '1',
        blackListLastModified: '2026-01-01 01:00:00.000Z',
        blackListMobile: '1',
        blackListMobileLastModified: '2026-01-01 10:00:00.000Z',
      }),
    ]);
    expect(exportFiles()).toEqual(['optout_20260101_020000.csv', 'optout_20260102_020000.csv']);
  });

  it('runs once per emulated day at its time, and collapses missed days into one run', async () => {
    const workflow = startWorkflow({ runAtUtc: '03:30' });

    const early = await workflow.tick();
    clock.set(jan1 + 3.5 * hour);
    const due = await workflow.tick();
    const again = await workflow.tick();
    clock.advance(3 * day + hour);
    const catchUp = await workflow.tick();
    const afterCatchUp = await workflow.tick();

    expect(early).toBeNull();
    expect(due?.fileName).toBe('optout_20260101_033000.csv');
    expect(again).toBeNull();
    expect(catchUp?.windowStartMs).toBe(jan1 + 3.5 * hour);
    expect(afterCatchUp).toBeNull();
    expect(workflow.state().nextRunAtMs).toBe(jan1 + 4 * day + 3.5 * hour);
    expect(exportFiles()).toHaveLength(2);
  });

  it('writes nothing while stopped, then catches up without losing changes', async () => {
    const workflow = startWorkflow();
    clock.set(jan1 + 2 * hour);
    await workflow.tick();
    await workflow.stop();
    source.setAttribute('@pk1', 'c1', 'blackList', true, jan1 + 5 * hour);

    clock.advance(3 * day);
    const scheduled = await workflow.tick();
    const onDemand = await workflow.runOnce();
    const filesWhileStopped = exportFiles();
    workflow.start();
    const resumed = await workflow.runOnce();

    expect(scheduled).toBeNull();
    expect(onDemand.outcome).toBe('stopped');
    expect(filesWhileStopped).toEqual(['optout_20260101_020000.csv']);
    expect(resumed).toMatchObject({ outcome: 'written', rowCount: 1 });
  });

  it('writes a header-only file when nothing changed by default, and no file when configured so', async () => {
    const workflow = startWorkflow();

    const headerOnly = await workflow.runOnce();
    workflow.configure({ whenNoChanges: 'no-file' });
    clock.advance(hour);
    const noFile = await workflow.runOnce();

    expect(headerOnly).toMatchObject({ outcome: 'no-changes', rowCount: 0 });
    expect(readExport(headerOnly.fileName!).toString('utf8')).toBe(optOutExportColumns.join(';') + '\n');
    expect(noFile).toMatchObject({ outcome: 'no-changes', fileName: null });
    expect(exportFiles()).toEqual([headerOnly.fileName]);
  });

  it('adds a suffix instead of overwriting when two runs fall in the same second', async () => {
    const workflow = startWorkflow();

    const first = await workflow.runOnce();
    const second = await workflow.runOnce();

    expect(first.fileName).toBe('optout_20260101_000000.csv');
    expect(second.fileName).toBe('optout_20260101_000000_1.csv');
  });

  it('injects malformed rows between good ones, each broken in one recoverable way', async () => {
    for (let i = 1; i <= 6; i += 1) source.setAttribute(`@pk${i}`, `c${i}`, 'blackList', true, jan1 + i);
    const workflow = startWorkflow();
    clock.advance(hour);
    workflow.injectMalformedRows(['bad-quoting', 'wrong-column-count', 'invalid-boolean', 'invalid-date']);

    const run = await workflow.runOnce();
    const next = await workflow.runOnce();

    const lines = readExport(run.fileName!).toString('utf8').split('\n');
    expect(run.rowCount).toBe(6);
    expect(run.malformedRows.map((row) => row.kind)).toEqual([
      'bad-quoting',
      'wrong-column-count',
      'invalid-boolean',
      'invalid-date',
    ]);
    for (const { line } of run.malformedRows) expect(lines[line - 1]).toMatch(/^@malformed-\d;/);
    expect(run.malformedRows[0]!.line).toBeGreaterThan(2);
    // A strict parser that skips broken records loses exactly the structural ones and keeps every good row.
    const skipped: number[] = [];
    const records = parse<Record<string, string>>(readExport(run.fileName!), {
      delimiter: ';',
      columns: true,
      skip_records_with_error: true,
      on_skip: (error) => {
        skipped.push(Number(error?.lines ?? -1));
      },
    });
    const [badQuoting, wrongCount, invalidBoolean, invalidDate] = run.malformedRows.map((row) => row.line);
    expect(skipped).toEqual([badQuoting, wrongCount]);
    expect(records.filter((record) => record.PKey!.startsWith('@pk'))).toHaveLength(6);
    expect(records.find((record) => record.PKey === '@malformed-3')?.blackList).toBe('yes');
    expect(records.find((record) => record.PKey === '@malformed-4')?.blackListLastModified).toBe(
      '2026-13-45 25:61:61.000Z',
    );
    expect(lines[invalidBoolean! - 1]).toContain('@malformed-3');
    expect(lines[invalidDate! - 1]).toContain('@malformed-4');
    expect(next.malformedRows).toEqual([]);
  });

  it('can inject a line whose quote never closes, and can end files with a #EOF;N trailer', async () => {
    for (let i = 1; i <= 4; i += 1) source.setAttribute(`@pk${i}`, `c${i}`, 'blackList', true, jan1 + i);
    const workflow = startWorkflow();
    clock.advance(hour);
    workflow.configure({ trailer: true });
    workflow.injectMalformedRows(['unclosed-quote']);

    const run = await workflow.runOnce();

    const lines = readExport(run.fileName!).toString('utf8').split('\n');
    const { line } = run.malformedRows[0]!;
    expect(lines[line - 1]).toMatch(/^"@malformed-1;[^"]*$/);
    // header, 4 good rows, the broken one, the trailer, '' after the last newline
    expect(lines).toHaveLength(8);
    expect(lines.at(-2)).toBe('#EOF;5');
    expect(workflow.state().settings.trailer).toBe(true);
  });

  it('fails like a full disk when the file does not fit the quota, and keeps the window for the next run', async () => {
    await storage.destroy();
    storage = new SftpStorage({ quotaBytes: 400 });
    source.setAttribute('@pk1', 'c1', 'blackList', true, jan1 + 1);
    const workflow = startWorkflow();
    clock.advance(hour);

    const run = await workflow.runOnce();

    expect(run.outcome).toBe('failed');
    expect(run.error).toMatch(/quota exceeded/i);
    expect(workflow.state().nextWindowStartMs).toBe(0);
  });

  describe('read over SFTP', () => {
    let server: SftpServerHandle;
    let reader: SftpReader;

    beforeEach(async () => {
      const clientKey = generateSftpTestKeyPair();
      server = await startSftpServer({
        storage,
        hostKey: generateSftpTestKeyPair('host').privateKey,
        users: [{ username: 'campaign', publicKeys: [clientKey.publicKey] }],
      });
      reader = new SftpReader({
        host: server.host,
        port: server.port,
        username: 'campaign',
        privateKey: clientKey.privateKey,
        hostKeySha256: server.hostKeySha256,
        timeoutMs: 5000,
      });
    });
    afterEach(async () => {
      await reader.close();
      await server.close();
    });

    it('in slow mode writes a file that a reader sees growing before it is complete', async () => {
      for (let i = 0; i < 40; i += 1)
        source.setAttribute(`@pk${i}`, `c${i}`, 'blackListEmail', true, jan1 + i);
      const workflow = startWorkflow({ slowWrite: { chunks: 4, intervalMs: 300 } });
      clock.advance(hour);

      const running = workflow.runOnce();
      const sizes: number[] = [];
      let done = false;
      void running.then(() => (done = true));
      while (!done) {
        const [entry] = await reader.list(exportDir);
        if (entry !== undefined && sizes.at(-1) !== entry.size) sizes.push(entry.size);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const run = await running;
      const final = await collectDownload(reader.download(run.path!));

      expect(sizes.length).toBeGreaterThanOrEqual(2);
      expect(sizes[0]).toBeLessThan(run.bytes);
      expect(final.length).toBe(run.bytes);
      expect(final.equals(readExport(run.fileName!))).toBe(true);
      expect((await reader.stat(run.path!)).mtimeMs).toBe(Math.floor(clock.now() / 1000) * 1000);
    });
  });
});
