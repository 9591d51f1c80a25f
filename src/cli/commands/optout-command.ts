import { formatIso, type Clock } from '../../core/clock.js';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import type { OptOutFileEntry, OptOutFileSource } from '../../core/ports/opt-out-file-source.js';
import type { OptOutDecision, OptOutFileRecord } from '../../core/ports/opt-out-store.js';
import { readOptOutFileProblems, readOptOutFreshness } from '../../engine/opt-out/opt-out-file-problems.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { positiveInt } from '../option-parsers.js';
import { withCommandRuntime, withExistingStore } from '../runtime/load-config-for-command.js';
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
  constructor(
    private readonly entry: OptOutFileEntry,
    private readonly clock: Clock,
  ) {}
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
    return Promise.resolve({ usedBytes: this.entry.sizeBytes, fileCount: 1, measuredAt: this.clock.now() });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const iso = (ms: number | null): string => (ms === null ? '-' : formatIso(ms));
const flag = (value: boolean | null): string => (value === null ? '?' : value ? 'true' : 'false');

/**
 * `--lines 12,15-20`: line numbers, ranges inclusive. Line 1 is the header, so lines start at 2.
 * @throws Error naming what is wrong (commander prints it as a usage error)
 */
export function parseLineList(value: string): number[] {
  const lines = new Set<number>();
  for (const part of value.split(',')) {
    const match = /^\s*(\d{1,9})(?:\s*-\s*(\d{1,9}))?\s*$/.exec(part);
    if (!match) throw new Error(`expected line numbers such as 12,15-20, got ${JSON.stringify(value)}`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (from < 2 || to < from || to - from > 100_000)
      throw new Error(
        `line range ${part.trim()} is not valid (data lines start at 2; at most 100,000 per range)`,
      );
    for (let line = from; line <= to; line += 1) lines.add(line);
  }
  return [...lines].sort((a, b) => a - b);
}

/**
 * `dcsync optout ingest --file PATH`: process one export file by hand, exactly as the service
 * does — a local file when PATH exists here, else a path on the Campaign SFTP server (which is then
 * archived or deleted as configured). A file the ledger lists as processed is left alone unless
 * `--force`. With `--lines`, only those lines are read and applied (the operator fixed quarantined
 * lines in a copy of the file; the file name is the key of its quarantine) and their quarantine
 * entries are resolved; the file's ledger entry is not touched. Writes that need the engine
 * (retries, Campaign writes in bidirectional mode) are queued and applied by the next `dcsync run`.
 */
export async function runOptOutIngest(
  options: CommonOptions & { file: string; force?: boolean; lines?: number[] },
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
      source = new LocalOptOutFile(entry, runtime.clock);
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
      if (options.lines) {
        const lines = await ingestor.applyLines(entry, options.lines);
        if (options.json) context.out.write(`${JSON.stringify(lines)}\n`);
        else {
          const list = (values: readonly number[]) => (values.length === 0 ? '-' : values.join(','));
          context.out.write(
            `${lines.file}\tapplied ${list(lines.applied)}\tskipped ${list(lines.skipped)}\t` +
              `still quarantined ${list(lines.stillQuarantined.map((q) => q.line))}\tmissing ${list(lines.missing)}\n`,
          );
          for (const q of lines.stillQuarantined)
            context.out.write(`${lines.file}:${q.line}\t${q.reason}${q.column ? `\t${q.column}` : ''}\n`);
        }
        return lines.stillQuarantined.length > 0 || lines.missing.length > 0
          ? exitCodes.attention
          : exitCodes.ok;
      }
      const report = await ingestor.ingest(entry, {
        force: options.force === true,
        dispose: !local?.isFile(),
      });
      if (options.json) context.out.write(`${JSON.stringify(report)}\n`);
      else context.out.write(`${describeFile(report.file)}\t${report.outcome}\n`);
      if (report.outcome === 'failed' || report.outcome === 'held') return exitCodes.attention;
      return report.file.quarantineOpen > 0 ? exitCodes.attention : exitCodes.ok;
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
  return withExistingStore(options.config, context, async (runtime) => {
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
    f.errorCode && f.status !== 'processed' ? `${f.status} (${f.errorCode})` : f.status,
    f.disposition,
    `applied ${f.rowsApplied}`,
    `quarantined ${f.rowsQuarantined}${f.quarantineOpen > 0 ? ` (${f.quarantineOpen} open)` : ''}`,
    `skipped ${f.rowsSkipped}`,
    `line ${f.lineCheckpoint}`,
    `started ${iso(f.startedAt)}`,
    `finished ${iso(f.finishedAt)}`,
    `sha256 ${f.checksum.slice(0, 12)}…`,
  ].join('\t');
}

/**
 * `dcsync optout files`: the file ledger, SFTP usage against the quota, export freshness, and the
 * files that need the operator (exit code 7 while there are any).
 */
export async function runOptOutFiles(
  options: CommonOptions & { limit: number },
  context: CliContext,
): Promise<number> {
  return withExistingStore(options.config, context, async (runtime) => {
    const files = await runtime.store.optOut.listFiles({ limit: options.limit });
    const freshness = await readOptOutFreshness(
      runtime.store,
      runtime.clock,
      runtime.config.flows.optOut.file.stalenessHours,
    );
    const problems = await readOptOutFileProblems(
      runtime.store,
      runtime.clock,
      runtime.config.flows.optOut.file,
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
    if (options.json)
      context.out.write(`${JSON.stringify({ files: files.items, usage, freshness, problems })}\n`);
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
      for (const p of problems) context.out.write(`PROBLEM: ${p.summary}\n`);
    }
    return problems.length > 0 ? exitCodes.attention : exitCodes.ok;
  });
}

/** `dcsync optout quarantine [--file NAME] [--all]`: quarantined lines (open ones unless `--all`). */
export async function runOptOutQuarantine(
  options: CommonOptions & { file?: string; all?: boolean; limit: number; cursor?: string },
  context: CliContext,
): Promise<number> {
  return withExistingStore(options.config, context, async (runtime) => {
    const page = await runtime.store.optOut.listQuarantine(
      { fileName: options.file, open: options.all !== true },
      { limit: options.limit, ...(options.cursor ? { cursor: options.cursor } : {}) },
    );
    if (options.json) context.out.write(`${JSON.stringify(page)}\n`);
    else {
      for (const q of page.items)
        context.out.write(
          [
            `${q.fileName}:${q.line}`,
            q.reason,
            q.column ?? '-',
            iso(q.at),
            q.resolution ? `${q.resolution} ${iso(q.resolvedAt)}` : 'open',
          ].join('\t') + '\n',
        );
      if (page.items.length === 0) context.out.write('no quarantined lines\n');
      if (page.nextCursor) context.out.write(`more: --cursor ${page.nextCursor}\n`);
    }
    return exitCodes.ok;
  });
}

/**
 * `dcsync optout dismiss --file NAME [--lines …]`: the operator decided not to apply something.
 * With `--lines`, those quarantined lines are resolved as `dismissed`; without, the file's `failed`
 * or `held` ledger entries are. Either way it is no longer a problem; the entries stay.
 */
export async function runOptOutDismiss(
  options: CommonOptions & { file: string; lines?: number[] },
  context: CliContext,
): Promise<number> {
  return withExistingStore(options.config, context, async (runtime) => {
    const name = basename(options.file);
    let dismissed: string[];
    if (options.lines) {
      const lines = await runtime.store.optOut.resolveQuarantine({
        fileName: name,
        lines: options.lines,
        resolution: 'dismissed',
      });
      dismissed = lines.map((line) => `${name}:${line}`);
    } else {
      const entries = (await runtime.store.optOut.filesNamed(name)).filter(
        (f) => (f.status === 'failed' || f.status === 'held') && f.dismissedAt === null,
      );
      for (const f of entries) await runtime.store.optOut.dismissFile(f.id);
      dismissed = entries.map((f) => `${f.name} (${f.status}, ${f.errorCode ?? '-'})`);
    }
    if (options.json) context.out.write(`${JSON.stringify({ dismissed })}\n`);
    else
      context.out.write(
        dismissed.length === 0 ? `nothing to dismiss for ${name}\n` : `dismissed ${dismissed.join(', ')}\n`,
      );
    return dismissed.length === 0 ? exitCodes.usage : exitCodes.ok;
  });
}

/** `dcsync optout ingest|decisions|files|quarantine|dismiss`. */
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
    .option(
      '--lines <list>',
      'apply only these lines (e.g. 12,15-20) of a fixed copy of the file, resolving their quarantine',
      parseLineList,
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: CommonOptions & { file: string; force?: boolean; lines?: number[] }) => {
      context.setExitCode(await runOptOutIngest(options, context));
    });
  optout
    .command('quarantine')
    .description('quarantined lines of the export files (open ones unless --all)')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option('--file <name>', 'only this export file')
    .option('--all', 'also the lines already re-applied or dismissed')
    .option('--limit <n>', 'lines per page', positiveInt('--limit', 1000), 100)
    .option('--cursor <cursor>', 'next page')
    .option('--json', 'print JSON')
    .action(
      async (options: CommonOptions & { file?: string; all?: boolean; limit: number; cursor?: string }) => {
        context.setExitCode(await runOptOutQuarantine(options, context));
      },
    );
  optout
    .command('dismiss')
    .description('stop treating quarantined lines (--lines) or a failed or held file as a problem')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .requiredOption('--file <name>', 'export file name')
    .option('--lines <list>', 'quarantined lines to dismiss (e.g. 12,15-20)', parseLineList)
    .option('--json', 'print JSON')
    .action(async (options: CommonOptions & { file: string; lines?: number[] }) => {
      context.setExitCode(await runOptOutDismiss(options, context));
    });
  optout
    .command('decisions')
    .description('opt-out decisions of one contact, newest first')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .requiredOption('--contact <id>', 'Dynamics contact id')
    .option('--limit <n>', 'decisions per page', positiveInt('--limit', 1000), 100)
    .option('--cursor <cursor>', 'next page')
    .option('--json', 'print JSON')
    .action(async (options: CommonOptions & { contact: string; limit: number; cursor?: string }) => {
      context.setExitCode(await runOptOutDecisions(options, context));
    });
  optout
    .command('files')
    .description('processed export files (newest first), SFTP usage against the quota, and export freshness')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option('--limit <n>', 'files to list', positiveInt('--limit', 1000), 50)
    .option('--json', 'print JSON')
    .action(async (options: CommonOptions & { limit: number }) => {
      context.setExitCode(await runOptOutFiles(options, context));
    });
}
