import type { Command } from 'commander';
import { formatIso } from '../../core/clock.js';
import { collectFlowStatuses, type FlowBulkLaneStatus, type FlowStatus } from '../../engine/flow-status.js';
import { readWorkers, type WorkersView } from '../../engine/worker-registry.js';
import { assessHealth } from '../../engine/health/health-assessment.js';
import {
  healthCheckpoint,
  parseHealthRecord,
  type HealthRecord,
} from '../../engine/health/health-monitor.js';
import { formatDuration } from '../progress-reporter.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { configuredFlows, journalFlows } from '../runtime/build-flows.js';
import { loadConfigForCommand, withExistingStore } from '../runtime/load-config-for-command.js';

function ago(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return 'never';
  const s = Math.round((now - ms) / 1000);
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

function formatLag(ms: number | null): string {
  if (ms === null) return '0s';
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${(ms / 60_000).toFixed(1)}m`;
}

/** A running service's monitor writes its problems every few seconds; older than this, it is gone. */
const healthRecordFreshMs = 60_000;

/** Where the problems shown come from: a running service's monitor, or this read of the store. */
export interface StatusProblems {
  source: 'monitor' | 'store';
  at: number;
  problems: HealthRecord['problems'];
}

/**
 * The problems a running service's health monitor last wrote, while fresh; else the same health
 * model assessed over what the store holds (no Campaign budget or trend: no process runs here).
 */
export function readStatusProblems(
  record: HealthRecord | null,
  flows: readonly FlowStatus[],
  now: number,
  syncProcess: SyncProcessState | null = null,
): StatusProblems {
  if (record && now - record.at <= healthRecordFreshMs) return { source: 'monitor', ...record };
  const problems = assessHealth({
    now,
    flows,
    campaign: null,
    backlogTrends: [],
    optOut: null,
    syncProcess,
  }).map((c) => ({
    ...c,
    since: now,
  }));
  return { source: 'store', at: now, problems };
}

/** Whether a sync process is reporting, and when one last did (null: none on record). */
export interface SyncProcessState {
  running: boolean;
  lastSeenAt: number | null;
}

/** Live workers mean a sync process runs; else the newest heartbeat on record says since when none has. */
export function syncProcessState(view: Pick<WorkersView, 'alive' | 'lastSeenAt'>): SyncProcessState {
  return { running: view.alive > 0, lastSeenAt: view.lastSeenAt };
}

/** The workers section: one line per worker (dead ones marked), then who holds each duty. */
export function formatWorkers(view: WorkersView, now: number): string[] {
  const lines: string[] = [];
  if (view.workers.length === 0) lines.push('workers: none on record');
  else lines.push(`workers: ${view.alive} alive of ${view.workers.length} on record`);
  for (const w of view.workers) {
    const state = w.alive ? w.state : w.state === 'stopped' ? 'stopped' : 'DEAD (no heartbeat)';
    const b = w.budget as {
      callsToday?: number;
      callsPerDay?: number | null;
      currentCallsPerSecond?: number;
      callsPerSecondLimit?: number;
      slice?: { calls?: number | null; callsPerSecond?: number } | null;
      shared?: { dayExhausted?: boolean };
    } | null;
    const spent =
      b !== null &&
      (b.shared?.dayExhausted === true ||
        (typeof b.callsPerDay === 'number' && (b.callsToday ?? 0) >= b.callsPerDay));
    const budget = b
      ? `; budget ${b.callsToday ?? 0}/${b.callsPerDay ?? '∞'} calls today, rate ${b.currentCallsPerSecond ?? 0}/${b.callsPerSecondLimit ?? 0} per s` +
        (b.slice ? ` (this worker's slice: ${b.slice.callsPerSecond ?? 0}/s)` : '') +
        (spent ? "; waiting for the call budget: the day's calls are spent, work resumes at 00:00 UTC" : '')
      : '';
    lines.push(
      `  worker ${w.id} (host ${w.host}, pid ${w.pid}, dcsync ${w.version}): ${state}; started ${ago(w.startedAt, now)}, last heartbeat ${ago(w.heartbeatAt, now)}`,
      `    duties ${w.duties.length === 0 ? 'none' : w.duties.join(', ')}; ${w.itemsLeased} items leased${budget}${w.lastError ? `; last error ${w.lastError}` : ''}`,
    );
  }
  for (const d of view.duties)
    lines.push(
      d.holder === null
        ? `  duty ${d.name}: free (epoch ${d.epoch})`
        : `  duty ${d.name}: held by ${d.holder}${d.holderAlive ? '' : ' (not reporting)'} (epoch ${d.epoch})`,
    );
  return lines;
}

/** A flow's state: paused by an operator, running, or stopped because no sync process reports. */
function flowState(flow: FlowStatus, sync: SyncProcessState, now: number): string {
  if (flow.control.status === 'paused') return `PAUSED (${flow.control.reason ?? 'by operator'})`;
  if (sync.running) return 'running';
  return sync.lastSeenAt === null
    ? 'stopped (no sync process reporting)'
    : `stopped (no sync process reporting since ${formatIso(sync.lastSeenAt)}, ${ago(sync.lastSeenAt, now)})`;
}

/** The bulk lane (F7) of a flow: hold, files by state, rows, window, next signal and ETA. */
export function formatBulkLane(lane: FlowBulkLaneStatus, now: number): string[] {
  const files =
    lane.files.length === 0
      ? 'no file in flight'
      : lane.files.map((f) => `${f.files} ${f.state} (${f.rows} rows)`).join(', ');
  const rule = lane.via === null ? `over ${lane.thresholdRecords} pending` : `--via ${lane.via}`;
  const lines = [
    `  bulk lane: ${lane.holding ? 'holds the bulk work' : 'idle'} (${rule}); ${files}; ${lane.rowsQueued} rows queued; ${lane.rowsImported} imported` +
      (lane.importRowsPerSecond === null ? '' : ` at ${lane.importRowsPerSecond} rows/s`),
  ];
  const when = (at: number): string =>
    at <= now ? 'now' : `${formatIso(at)} (in ${formatDuration(at - now)})`;
  const parts: string[] = [];
  if (lane.window)
    parts.push(
      `import window ${lane.window.from}–${lane.window.to} ${lane.window.timeZone}, ${lane.window.open ? 'open' : `opens ${when(lane.window.nextStartAt)}`}`,
    );
  if (lane.nextSignalAt !== null) parts.push(`next signal ${when(lane.nextSignalAt)}`);
  if (lane.etaAt !== null) parts.push(`ETA ${when(lane.etaAt)}`);
  if (parts.length > 0) lines.push(`  bulk lane: ${parts.join('; ')}`);
  return lines;
}

/** Human-readable status table. */
export function formatStatus(
  flows: FlowStatus[],
  workers: WorkersView,
  now: number,
  health: StatusProblems,
  sync: SyncProcessState = syncProcessState(workers),
): string {
  const lines: string[] = [];
  if (health.problems.length === 0) lines.push('health: no problems');
  else {
    const seen =
      health.source === 'monitor'
        ? `seen by the running service ${ago(health.at, now)}`
        : 'read from the store';
    lines.push(`health: ${health.problems.length} problem(s), ${seen}`);
    for (const p of health.problems)
      lines.push(
        `  ${p.severity}: ${p.summary}${health.source === 'monitor' ? ` (since ${ago(p.since, now)})` : ''}`,
        `    ${p.detail}`,
      );
  }
  for (const f of flows) {
    lines.push(`flow ${f.flow} (table ${f.table}): ${flowState(f, sync, now)}`);
    lines.push(
      `  backlog ${f.backlog.queued} queued, ${f.backlog.leased} in flight (live ${f.backlog.live}, bulk ${f.backlog.bulk}); lag ${formatLag(f.lagMs)}`,
    );
    lines.push(
      `  synced ${f.synced}; retrying ${f.retrying.total}; dead letters ${f.deadLetters}; parked ${f.parked}` +
        (f.orphans > 0 ? `; orphans (no parent in Dynamics) ${f.orphans}` : ''),
    );
    for (const r of f.retrying.byCode)
      lines.push(`  retrying ${r.count} after ${r.code} (oldest first failed ${ago(r.oldestFailedAt, now)})`);
    if (f.journal) {
      const j = f.journal;
      const skipped = Object.entries(j.skipped)
        .map(([reason, count]) => `${reason} ${count}`)
        .join(', ');
      lines.push(
        `  journal: ${j.read} events read, ${j.staged} staged, skipped ${skipped || 'none'}; position age ${j.positionAgeMs === null ? 'none yet' : formatLag(j.positionAgeMs)}; last read ${ago(j.readAt, now)}, last caught up ${ago(j.caughtUpAt, now)}` +
          (j.expiries > 0 ? `; position expired ${j.expiries} time(s)` : ''),
      );
    }
    const phase =
      f.cursor.phase === 'delta'
        ? 'following deltas'
        : `${f.cursor.phase} read, ${f.cursor.runRows} rows so far`;
    // A journal flow has no table read position (its cursor stays initial): the journal line says it.
    if (!f.journal) lines.push(`  read position: ${phase}; last caught up ${ago(f.cursor.caughtUpAt, now)}`);
    if (f.run) {
      const p = f.run.progress;
      const total = p.total === null ? '' : `/${p.total}${p.percent === null ? '' : ` (${p.percent} %)`}`;
      lines.push(
        `  phase ${f.phase}: run ${f.run.id} ${f.run.phase}, ${p.done}${total} written${p.etaMs === null ? '' : `, ETA ${formatDuration(p.etaMs)}`}`,
      );
    }
    if (f.replay)
      lines.push(
        `  replay in progress: ${f.replay.rows}${f.replay.total ? `/${f.replay.total}` : ''} rows read`,
      );
    if (f.bulkLane) lines.push(...formatBulkLane(f.bulkLane, now));
  }
  lines.push(...formatWorkers(workers, now));
  return lines.join('\n') + '\n';
}

export async function runStatus(
  options: { config: string; json?: boolean },
  context: CliContext,
): Promise<number> {
  const config = loadConfigForCommand(options.config, context);
  return withExistingStore(config, context, async (runtime) => {
    const flows = await collectFlowStatuses(runtime.store, runtime.clock, [
      ...configuredFlows(config),
      ...journalFlows(config),
    ]);
    const now = runtime.clock.now();
    // Dead workers too (a process killed without stopping stays listed a while): since when.
    const workers = await readWorkers(runtime.store, now, runtime.config.workers);
    const sync = syncProcessState(workers);
    const health = readStatusProblems(
      parseHealthRecord(await runtime.store.checkpoints.get(healthCheckpoint)),
      flows,
      now,
      sync,
    );
    if (options.json) context.out.write(`${JSON.stringify({ flows, workers, sync, health }, null, 2)}\n`);
    else context.out.write(formatStatus(flows, workers, now, health, sync));
    return exitCodes.ok;
  });
}

export function registerStatusCommand(program: Command, context: CliContext): void {
  program
    .command('status')
    .description('backlog, lag, rates, dead letters, budget use and read position per flow')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option('--json', 'print JSON')
    .action(async (options: { config: string; json?: boolean }) => {
      context.setExitCode(await runStatus(options, context));
    });
}
