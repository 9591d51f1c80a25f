/**
 * Opt-out export ingest: an export file of 1,000,000 rows (`OPTOUT_BENCH_ROWS`) parsed and applied
 * against the Dynamics emulator (latency 0, in a process of its own, holding one contact per row)
 * — read the contacts' values, resolve, `$batch` the writes, commit each batch's checkpoint and
 * decisions to SQLite — plus a parse-only pass over the same file. Throughput and peak RSS of this
 * process (the ingest alone; the emulator's memory is not counted).
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
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
    writeBenchResult('opt-out-ingest', {
      setup: `export file of ${rows} rows (one blackListEmail value per contact); Dynamics emulator with ${rows} contacts in a process of its own, latency 0; ingest in this process on SQLite, $batch of 500; RSS of this process sampled every 50 ms`,
      targets: { parseSeconds: '<= 60', peakRssMiB: '<= 512' },
      met: parseMet && applyPeak <= 512 * 2 ** 20,
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
