import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import type { OptOutFileEntry, OptOutFileSource } from '../../core/ports/opt-out-file-source.js';
import type { OptOutDecision, OptOutFileRecord } from '../../core/ports/opt-out-store.js';
import { readOptOutFreshness } from '../../engine/opt-out/opt-out-file-ingestor.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { withCommandRuntime } from '../runtime/load-config-for-command.js';
import { LogAlertSink } from '../runtime/log-alert-sink.js';
import {
  createOptOutIngestor,
  createOptOutWriter,
  openOptOutFileSource,
  readOptOutSettings,
} from '../runtime/opt-out-runtime.js';

interface CommonOptions {
  config: string;
  json?: boolean;
}

/** A file on this machine, as a source of one export file (never archived or deleted). */
class LocalOptOutFile implements OptOutFileSource {
  constructor(private readonly entry: OptOutFileEntry) {}
  list(): Promise<OptOutFileEntry[]> {
    return Promise.resolve([this.entry]);
  }
  listArchived(): Promise<OptOutFileEntry[]> {
    return Promise.resolve([]);
  }
  download(path: string): AsyncIterable<Uint8Array> {
    return createReadStream(path);
  }
  archive(entry: OptOutFileEntry): Promise<string> {
    return Promise.resolve(entry.path);
  }
  remove(): Promise<void> {
    return Promise.resolve();
  }
  usage(): Promise<{ usedBytes: number; fileCount: number; measuredAt: number }> {
    return Promise.resolve({ usedBytes: this.entry.sizeBytes, fileCount: 1, measuredAt: Date.now() });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());
const flag = (value: boolean | null): string => (value === null ? '?' : value ? 'true' : 'false');

/**
 * `dcsync optout ingest --file PATH`: process one export file by hand, exactly as the service
 * does — a local file when PATH exists here, else a path on the Campaign SFTP server (which is then
 * archived or deleted as configured). A file the ledger lists as processed is left alone unless
 * `--force`. Writes that need the engine (retries, Campaign writes in bidirectional mode) are
 * queued and applied by the next `dcsync run`.
 */
export async function runOptOutIngest(
  options: CommonOptions & { file: string; force?: boolean },
  context: CliContext,
): Promise<number> {
  return withCommandRuntime(options.config, context, async (runtime) => {
    const settings = readOptOutSettings(runtime);
    if (settings === null || settings.mode === 'dynamics-to-campaign') {
      throw new ConfigError(
        `flows.optOut.mode is ${runtime.config.flows.optOut.mode}: export files are read only in campaign-to-dynamics and bidirectional`,
      );
    }
    const local = await stat(options.file).catch(() => null);
    let source: OptOutFileSource;
    let entry: OptOutFileEntry;
    if (local?.isFile()) {
      entry = {
        name: basename(options.file),
        path: options.file,
        sizeBytes: local.size,
        modifiedAt: local.mtimeMs,
      };
      source = new LocalOptOutFile(entry);
    } else {
      const sftp = openOptOutFileSource(runtime);
      if (!sftp)
        throw new ConfigError(`${options.file} is not a local file and campaign.sftp is not configured`);
      source = sftp;
      const name = basename(options.file);
      const listed = (await sftp.list()).find((e) => e.path === options.file || e.name === name);
      if (!listed) {
        await sftp.close();
        context.err.write(`${options.file}: not found locally or in the SFTP export folder\n`);
        return exitCodes.usage;
      }
      entry = listed;
    }
    try {
      const writer = await createOptOutWriter(runtime);
      const ingestor = createOptOutIngestor(
        runtime,
        settings,
        source,
        writer,
        new LogAlertSink(runtime.logger),
      );
      const report = await ingestor.ingest(entry, {
        force: options.force === true,
        dispose: !local?.isFile(),
      });
      if (options.json) context.out.write(`${JSON.stringify(report)}\n`);
      else context.out.write(`${describeFile(report.file)}\t${report.outcome}\n`);
      return report.outcome === 'failed' ? exitCodes.connector : exitCodes.ok;
    } finally {
      await source.close();
    }
  });
}

function describeDecision(d: OptOutDecision): string {
  return [
    iso(d.at),
    `${d.dynamicsColumn}↔${d.campaignAttribute}`,
    `dynamics=${flag(d.dynamicsValue)}@${iso(d.dynamicsChangedAt)}`,
    `campaign=${flag(d.campaignValue)}@${iso(d.campaignChangedAt)}`,
    `winner=${d.winner} (${d.winningSide})`,
    `rule=${d.rule}`,
    `action=${d.action}`,
    `${d.source}${d.sourceRef ? `:${d.sourceRef}` : ''}`,
  ].join('\t');
}

/** `dcsync optout decisions --contact ID`: the decision audit of one contact, newest first. */
export async function runOptOutDecisions(
  options: CommonOptions & { contact: string; limit: number; cursor?: string },
  context: CliContext,
): Promise<number> {
  return withCommandRuntime(options.config, context, async (runtime) => {
    const page = await runtime.store.optOut.listDecisions(
      { recordKey: options.contact.toLowerCase() },
      { limit: options.limit, ...(options.cursor ? { cursor: options.cursor } : {}) },
    );
    if (options.json) context.out.write(`${JSON.stringify(page)}\n`);
    else {
      for (const d of page.items) context.out.write(`${describeDecision(d)}\n`);
      if (page.items.length === 0) context.out.write(`no opt-out decisions for contact ${options.contact}\n`);
      if (page.nextCursor) context.out.write(`more: --cursor ${page.nextCursor}\n`);
    }
    return exitCodes.ok;
  });
}

function describeFile(f: OptOutFileRecord): string {
  return [
    f.name,
    `${f.sizeBytes} B`,
    f.status,
    f.disposition,
    `applied ${f.rowsApplied}`,
    `quarantined ${f.rowsQuarantined}`,
    `skipped ${f.rowsSkipped}`,
    `line ${f.lineCheckpoint}`,
    `started ${iso(f.startedAt)}`,
    `finished ${iso(f.finishedAt)}`,
    `sha256 ${f.checksum.slice(0, 12)}…`,
  ].join('\t');
}

/** `dcsync optout files`: the file ledger, SFTP usage against the quota, and export freshness. */
export async function runOptOutFiles(
  options: CommonOptions & { limit: number },
  context: CliContext,
): Promise<number> {
  return withCommandRuntime(options.config, context, async (runtime) => {
    const files = await runtime.store.optOut.listFiles({ limit: options.limit });
    const freshness = await readOptOutFreshness(
      runtime.store,
      runtime.clock,
      runtime.config.flows.optOut.file.stalenessHours,
    );
    const source = openOptOutFileSource(runtime);
    const quotaBytes = runtime.config.campaign.sftp?.quotaBytes ?? null;
    let usage: {
      usedBytes: number;
      fileCount: number;
      quotaBytes: number | null;
      percent: number | null;
    } | null = null;
    try {
      if (source) {
        const measured = await source.usage();
        usage = {
          usedBytes: measured.usedBytes,
          fileCount: measured.fileCount,
          quotaBytes,
          percent: quotaBytes ? Math.round((measured.usedBytes / quotaBytes) * 1000) / 10 : null,
        };
      }
    } catch (error) {
      context.err.write(
        `SFTP usage not measured: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    } finally {
      await source?.close();
    }
    if (options.json) context.out.write(`${JSON.stringify({ files: files.items, usage, freshness })}\n`);
    else {
      for (const f of files.items) context.out.write(`${describeFile(f)}\n`);
      if (files.items.length === 0) context.out.write('no export files processed yet\n');
      context.out.write(
        usage
          ? `SFTP usage: ${usage.usedBytes} B in ${usage.fileCount} file(s)${usage.quotaBytes ? ` of ${usage.quotaBytes} B (${usage.percent} %)` : ''}\n`
          : 'SFTP usage: not measured (campaign.sftp not configured or unreachable)\n',
      );
      context.out.write(
        `last export file: ${iso(freshness.lastFileAt)}${freshness.stale ? `  STALE (none within ${freshness.stalenessHours} h)` : ''}\n`,
      );
    }
    return exitCodes.ok;
  });
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new Error(`expected a whole number 1-1000, got ${value}`);
  return n;
}

/** `dcsync optout ingest|decisions|files`. */
export function registerOptOutCommand(program: Command, context: CliContext): void {
  const optout = program
    .command('optout')
    .description('opt-out export files and the decision audit (flow F4)');
  optout
    .command('ingest')
    .description('process one opt-out export file by hand (local path or path on the Campaign SFTP server)')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .requiredOption('--file <path>', 'export file')
    .option('--force', 'process it again even if the ledger lists it as processed')
    .option('--json', 'print the result as JSON')
    .action(async (options: CommonOptions & { file: string; force?: boolean }) => {
      context.setExitCode(await runOptOutIngest(options, context));
    });
  optout
    .command('decisions')
    .description('opt-out decisions of one contact, newest first')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .requiredOption('--contact <id>', 'Dynamics contact id')
    .option('--limit <n>', 'decisions per page', positiveInt, 100)
    .option('--cursor <cursor>', 'next page')
    .option('--json', 'print JSON')
    .action(async (options: CommonOptions & { contact: string; limit: number; cursor?: string }) => {
      context.setExitCode(await runOptOutDecisions(options, context));
    });
  optout
    .command('files')
    .description('processed export files, SFTP usage against the quota, and export freshness')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option('--limit <n>', 'files to list', positiveInt, 50)
    .option('--json', 'print JSON')
    .action(async (options: CommonOptions & { limit: number }) => {
      context.setExitCode(await runOptOutFiles(options, context));
    });
}
