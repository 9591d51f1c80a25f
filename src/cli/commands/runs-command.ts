import type { Command } from 'commander';
import { formatIso } from '../../core/clock.js';
import { ConfigError } from '../../core/errors.js';
import { runKinds, type RunKind } from '../../core/ports/state-store.js';
import { toRunView, type RunView } from '../../engine/runs/run-view.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { formatDuration } from '../progress-reporter.js';
import { resolveFlowId } from '../runtime/build-flows.js';
import { loadConfigForCommand, withCommandRuntime } from '../runtime/load-config-for-command.js';

/** Options of `dcsync runs`. */
export interface RunsOptions {
  /** Path of the YAML configuration. */
  config: string;
  /** Only this flow (flow id or table name; `optout`, `privacy` for those runs). @default every flow */
  flow?: string | undefined;
  /** Only this kind of run. @default every kind */
  kind?: string | undefined;
  /** Page size. @default 20 */
  limit?: number | undefined;
  /** Continue after a previous page. */
  cursor?: string | undefined;
  /** Print JSON (`{ items: RunView[], nextCursor }`, as `GET /api/runs`). @default false */
  json?: boolean | undefined;
}

const columns = [
  'ID',
  'FLOW',
  'KIND',
  'TRIGGER',
  'STARTED',
  'TOOK',
  'OUTCOME',
  'DONE/TOTAL',
  'CREATED',
  'UPDATED',
  'ADOPTED',
  'DELETED',
  'UNCHANGED',
  'SKIPPED',
  'PARKED',
  'DEAD',
] as const;

function cellsOf(run: RunView, now: number): string[] {
  const c = run.counts;
  const p = run.progress;
  const skipped = Object.values(c.skipped).reduce((n, v) => n + v, 0);
  const total = p.total === null ? '?' : String(p.total);
  const percent = p.percent === null ? '' : ` ${p.percent.toFixed(p.percent === 100 ? 0 : 1)}%`;
  return [
    run.id,
    run.flow,
    run.kind,
    run.trigger,
    formatIso(run.startedAt).replace(/\.\d{3}Z$/, 'Z'),
    formatDuration((run.endedAt ?? now) - run.startedAt),
    run.outcome === 'running' ? `running (${run.phase})` : run.outcome,
    `${p.done}/${total}${percent}`,
    String(c.created),
    String(c.updated),
    String(c.adopted),
    String(c.deleted),
    String(c.unchanged),
    String(skipped),
    String(c.parked),
    String(c.deadLettered),
  ];
}

/** Runs as an aligned text table, newest first. */
export function formatRuns(runs: readonly RunView[], now: number): string {
  const rows = [[...columns], ...runs.map((r) => cellsOf(r, now))];
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * `dcsync runs`: the run history — initial loads, replays, re-baselines, opt-out files, privacy
 * requests — newest first, with outcome, written progress and counts.
 */
export async function runRuns(options: RunsOptions, context: CliContext): Promise<number> {
  const config = loadConfigForCommand(options.config, context);
  let kind: RunKind | undefined;
  if (options.kind !== undefined) {
    kind = runKinds.find((k) => k === options.kind);
    if (!kind) throw new ConfigError(`--kind must be one of ${runKinds.join(', ')}`);
  }
  const flow = options.flow === undefined ? undefined : (resolveFlowId(config, options.flow) ?? options.flow);
  return withCommandRuntime(config, context, async (runtime) => {
    const page = await runtime.store.runs.list(
      { ...(flow === undefined ? {} : { flow }), ...(kind === undefined ? {} : { kind }) },
      { cursor: options.cursor, limit: options.limit ?? 20 },
    );
    const now = runtime.clock.now();
    const items = page.items.map((run) => toRunView(run, now));
    if (options.json) {
      context.out.write(`${JSON.stringify({ items, nextCursor: page.nextCursor }, null, 2)}\n`);
      return exitCodes.ok;
    }
    if (items.length === 0) context.out.write('no runs\n');
    else context.out.write(`${formatRuns(items, now)}\n`);
    if (page.nextCursor) context.out.write(`more: --cursor ${page.nextCursor}\n`);
    return exitCodes.ok;
  });
}

/** `dcsync runs --config FILE [--flow F] [--kind K] [--limit N] [--cursor C] [--json]`. */
export function registerRunsCommand(program: Command, context: CliContext): void {
  program
    .command('runs')
    .description(
      'run history (initial loads, replays, re-baselines, opt-out files, privacy requests), newest first',
    )
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option('--flow <flow>', 'only this flow (flow id, table name, or optout / privacy)')
    .option('--kind <kind>', `only this kind: ${runKinds.join(', ')}`)
    .option('--limit <n>', 'page size (max 1000)', (v) => Number(v), 20)
    .option('--cursor <cursor>', 'continue after a previous page (older runs)')
    .option('--json', 'print JSON: { items: RunView[], nextCursor } as GET /api/runs')
    .action(async (options: RunsOptions) => {
      context.setExitCode(await runRuns(options, context));
    });
}
