/**
 * Opt-out export ingest: an export file of 1,000,000 rows (`OPTOUT_BENCH_ROWS`) parsed and applied
 * against the Dynamics emulator (latency 0, in a process of its own, holding one contact per row)
 * — read the contacts' values, resolve, `$batch` the writes, commit each batch's checkpoint and
 * decisions to SQLite — plus a parse-only pass over the same file, and first a pass over a file
 * holding one line of 300 MiB (`OPTOUT_BENCH_HUGE_LINE_MIB`; issue #15: such a line took the
 * process from 140 MB to 1.7 GB). Throughput and peak RSS of this process (the ingest alone; the
 * emulator's memory is not counted).
 */
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { EmulatorHost } from '../test/support/sync-process.js';
import { systemClock } from '../src/core/clock.js';
import { silentLogger } from '../src/core/ports/engine-logger.js';
import type { OptOutFileEntry, OptOutFileSource } from '../src/core/ports/opt-out-file-source.js';
import { DynamicsOptOutWriter } from '../src/connectors/dynamics/dynamics-opt-out-writer.js';
import { DynamicsRecordWriter } from '../src/connectors/dynamics/dynamics-record-writer.js';
import { DynamicsWebApiClient } from '../src/connectors/dynamics/dynamics-web-api-client.js';
import { OptOutFileIngestor } from '../src/engine/opt-out/opt-out-file-ingestor.js';
import { parseOptOutExport } from '../src/engine/opt-out/opt-out-export-parser.js';
import type { LineReaderStats } from '../src/engine/opt-out/opt-out-line-reader.js';
import { openStateStore } from '../src/store/open-state-store.js';
import { writeBenchResult } from './support/write-result.js';

function sampleRss(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

class LocalFile implements OptOutFileSource {
  constructor(private readonly entry: OptOutFileEntry) {}
  list = () => Promise.resolve([this.entry]);
  listArchived = () => Promise.resolve([]);
  download = (path: string) => createReadStream(path, { highWaterMark: 256 * 1024 });
  archive = (entry: OptOutFileEntry) => Promise.resolve(entry.path);
  remove = () => Promise.resolve();
  usage = () => Promise.resolve({ usedBytes: this.entry.sizeBytes, fileCount: 1, measuredAt: Date.now() });
  close = () => Promise.resolve();
}

export async function run(): Promise<void> {
  const rows = Number(process.env.OPTOUT_BENCH_ROWS ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'dcsync-optout-bench-'));
  // Service protection lifted on both sides: this measures the ingest, not Dataverse's limit of
  // 6,000 requests per 5 minutes (which bounds a real tenant at about 10 minutes per million rows
  // with 100 look-ups per read and 500 updates per $batch).
  const host = await EmulatorHost.start({
    dynamics: { contacts: rows, seed: 11, limits: { requests: 1_000_000_000, executionTimeMs: 1e12 } },
    campaign: { seed: 11 },
  });
  const dynamics = host.endpoints.dynamics;
  const store = await openStateStore(`sqlite:${join(dir, 'state.db')}`);
  const client = new DynamicsWebApiClient({
    url: dynamics.url,
    authorityHost: dynamics.authorityHost,
    tenantId: 'contoso.onmicrosoft.com',
    clientId: dynamics.clientId,
    clientSecret: 'demo-secret',
    ...(dynamics.caCert ? { caCert: dynamics.caCert } : {}),
    clock: systemClock,
    requestsPer5Min: 1_000_000_000,
  });
  try {
    // A file with one huge line between two rows, written in chunks (never held here).
    const hugeMiB = Number(process.env.OPTOUT_BENCH_HUGE_LINE_MIB ?? 300);
    const hugeFile = join(dir, 'optout_20260101_010000.csv');
    const row = (pkey: string) =>
      `${pkey};0f2c4d6e-8a1b-4c3d-9e5f-0123456789ab;;;1;2026-01-01 00:00:00.000Z${';'.repeat(12)}\n`;
    const fd = openSync(hugeFile, 'w');
    writeSync(
      fd,
      'PKey;externalId;blackList;blackListLastModified;blackListEmail;blackListEmailLastModified;blackListFax;blackListFaxLastModified;blackListMobile;blackListMobileLastModified;blackListPhone;blackListPhoneLastModified;blackListPostalMail;blackListPostalMailLastModified;blackListPushnotification;blackListPushnotificationLastModified;ccpaOptOut;ccpaOptOutLastModified\n' +
        row('@before'),
    );
    const mib = Buffer.alloc(2 ** 20, 'x');
    for (let i = 0; i < hugeMiB; i++) writeSync(fd, mib);
    writeSync(fd, '\n' + row('@after'));
    closeSync(fd);
    const hugeRssBefore = process.memoryUsage.rss();
    const hugeRss = sampleRss();
    const hugeStart = performance.now();
    const hugeStats: LineReaderStats = { peakBufferedBytes: 0 };
    const hugeKinds: string[] = [];
    for await (const line of parseOptOutExport(createReadStream(hugeFile, { highWaterMark: 256 * 1024 }), {
      requiredAttributes: ['blackListEmail'],
      stats: hugeStats,
    }))
      hugeKinds.push(
        line.kind === 'quarantine' ? `${line.line}:${line.reason}` : `${line.line}:${line.kind}`,
      );
    const hugeSeconds = (performance.now() - hugeStart) / 1000;
    const hugePeak = hugeRss.stop();
    rmSync(hugeFile);

    // One export file for both passes, written by the emulator host: the million contact ids
    // never enter this process, whose memory is measured.
    const file = join(dir, 'optout_20260101_020000.csv');
    await host.call('writeOptOutExport', { path: file, rows });
    // Parse only: the streaming parser over the whole file.
    const parseRss = sampleRss();
    const parseStart = performance.now();
    let parsed = 0;
    for await (const line of parseOptOutExport(createReadStream(file, { highWaterMark: 256 * 1024 }), {
      requiredAttributes: ['blackListEmail'],
    }))
      if (line.kind === 'row') parsed++;
    const parseSeconds = (performance.now() - parseStart) / 1000;
    const parsePeak = parseRss.stop();

    // Parse and apply.
    const entry = {
      name: basename(file),
      path: file,
      sizeBytes: statSync(file).size,
      modifiedAt: Date.now(),
    };
    const ingestor = new OptOutFileIngestor({
      settings: {
        mode: 'campaign-to-dynamics',
        pairs: [{ dynamicsColumn: 'donotemail', campaignAttribute: 'blackListEmail' }],
      },
      file: {
        pollIntervalMs: 60_000,
        stableChecks: 1,
        stalenessHours: 26,
        retentionDays: 15,
        afterProcessing: 'archive',
        batchSize: 500,
        maxLineBytes: 64 * 1024,
        requireTrailer: false,
        incompleteAfterMinutes: 60,
        maxAttempts: 10,
      },
      source: new LocalFile(entry),
      writer: new DynamicsOptOutWriter(client, new DynamicsRecordWriter(client), {
        entitySetName: 'contacts',
        primaryIdAttribute: 'contactid',
        readChunkSize: 100,
        batchSize: 500,
      }),
      store,
      clock: systemClock,
      logger: silentLogger,
      alerts: { raise: () => Promise.resolve() },
      quotaBytes: null,
      owner: 'bench',
    });
    const applyRss = sampleRss();
    const start = performance.now();
    const report = await ingestor.ingest(entry, { dispose: false });
    const seconds = (performance.now() - start) / 1000;
    const applyPeak = applyRss.stop();
    const parseMet = parseSeconds <= 60 && parsePeak <= 512 * 2 ** 20;
    // Bounded memory: the huge line adds no more than 64 MiB to the process; the lines around it
    // are read and it is quarantined.
    const hugeMet =
      hugePeak - hugeRssBefore <= 64 * 2 ** 20 && hugeKinds.join(',') === '2:row,3:line-too-long,4:row';
    writeBenchResult('opt-out-ingest', {
      setup: `export file of ${rows} rows (one blackListEmail value per contact); Dynamics emulator with ${rows} contacts in a process of its own, latency 0; ingest in this process on SQLite, $batch of 500; RSS of this process sampled every 50 ms`,
      targets: { parseSeconds: '<= 60', peakRssMiB: '<= 512', hugeLineRssGrowthMiB: '<= 64' },
      met: parseMet && hugeMet && applyPeak <= 512 * 2 ** 20,
      hugeLine: {
        lineMiB: hugeMiB,
        maxLineBytes: 65_536,
        lines: hugeKinds,
        seconds: Math.round(hugeSeconds * 10) / 10,
        rssBeforeMiB: Math.round(hugeRssBefore / 2 ** 20),
        peakRssMiB: Math.round(hugePeak / 2 ** 20),
        peakBufferedBytes: hugeStats.peakBufferedBytes,
        targets: { rssGrowthMiB: 64 },
      },
      parse: {
        rows: parsed,
        fileBytes: statSync(file).size,
        seconds: Math.round(parseSeconds * 10) / 10,
        rowsPerSecond: Math.round(parsed / parseSeconds),
        peakRssMiB: Math.round(parsePeak / 2 ** 20),
        targets: { seconds: 60, peakRssMiB: 512 },
      },
      ingest: {
        rows,
        outcome: report.outcome,
        rowsApplied: report.file.rowsApplied,
        seconds: Math.round(seconds * 10) / 10,
        rowsPerSecond: Math.round(rows / seconds),
        peakRssMiB: Math.round(applyPeak / 2 ** 20),
        batchSize: 500,
        latencyMs: 0,
      },
    });
  } finally {
    await client.close();
    await store.close();
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
