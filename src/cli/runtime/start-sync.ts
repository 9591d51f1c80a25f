import type { AlertSink } from '../../core/ports/alert-sink.js';
import { EngineEvents } from '../../engine/engine-events.js';
import { SyncEngine } from '../../engine/sync-engine.js';
import type { RunView } from '../../engine/runs/run-view.js';
import { recordFlows } from '../../engine/records/record-flows.js';
import { formatDuration, ProgressReporter, type ProgressStream } from '../progress-reporter.js';
import { buildRecordFlows, journalFlows } from './build-flows.js';
import { buildBulkLanes } from './bulk-lanes.js';
import { LogAlertSink } from './log-alert-sink.js';
import { createEmailEventsRuntime } from './email-events-runtime.js';
import { createOptOutRuntime, type OptOutRuntime } from './opt-out-runtime.js';
import type { SyncRuntime } from './sync-runtime.js';

/**
 * Whether another process of this host runs with this pid (signal 0 probes without signalling).
 * This process is not another one: an embedder may run several engines on one store.
 */
function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StartSyncOptions {
  /** Where progress of long reads is shown (a bar on a terminal, plain lines otherwise). */
  progressStream?: ProgressStream;
  /** Extra alert sink (webhooks); alerts always go to the log too. */
  alerts?: AlertSink;
  /** Only poll, or only work (multi-process deployments). */
  poll?: boolean;
  work?: boolean;
  /** Receives the opt-out parts (provider for the operator server; the ingestor for tests). */
  onOptOut?: (optOut: OptOutRuntime) => void;
}

const kindLabels: Record<RunView['kind'], string> = {
  initial: 'initial load',
  replay: 'replay',
  rebaseline: 're-baseline',
  'opt-out-file': 'opt-out file',
  privacy: 'privacy request',
  'bulk-import': 'bulk import',
};

function progressLabel(run: RunView): string {
  return `${run.flow} ${kindLabels[run.kind]}`;
}

/** A run's last line: outcome, exact counts, duration and average rate. */
export function describeRunSummary(run: RunView): string {
  const c = run.counts;
  const skipped = Object.entries(c.skipped)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`);
  const counts = [
    `created ${c.created}`,
    `updated ${c.updated}`,
    `adopted ${c.adopted}`,
    `deleted ${c.deleted}`,
    `unchanged ${c.unchanged}`,
    `skipped ${skipped.length === 0 ? 0 : skipped.join(', ')}`,
    `parked ${c.parked}`,
    `dead-lettered ${c.deadLettered}`,
  ].join(', ');
  const took = run.endedAt === null ? '' : ` in ${formatDuration(run.endedAt - run.startedAt)}`;
  const rate = run.progress.ratePerSecond === null ? '' : ` · ${run.progress.ratePerSecond.toFixed(0)}/s`;
  return `${progressLabel(run)} ${run.outcome}: ${run.progress.done} of ${c.read} read settled${took} (${counts}; Campaign calls ${c.campaignCalls})${rate}`;
}

/**
 * Build the engine for a runtime: the record flows (with pre-flight checks) and the opt-out flows
 * and services, alerts, progress. Not started.
 */
export async function createSyncEngine(
  runtime: SyncRuntime,
  options: StartSyncOptions = {},
): Promise<SyncEngine> {
  const records = await buildRecordFlows(runtime);
  const logSink = new LogAlertSink(runtime.logger);
  const extra = options.alerts;
  const alerts: AlertSink = {
    async raise(alert) {
      await logSink.raise(alert);
      if (extra) await extra.raise(alert);
    },
  };
  const reporter = options.progressStream
    ? new ProgressReporter({ stream: options.progressStream, now: () => runtime.clock.now() })
    : null;
  const { engine: e } = runtime.config;
  // Opt-outs (F4): the contact hook, the durable write flows and, with SFTP, the file ingestor.
  const optOut = await createOptOutRuntime(runtime, records, alerts, { ingest: options.poll !== false });
  if (optOut) options.onOptOut?.(optOut);
  const events = new EngineEvents((error, event) =>
    runtime.logger.warn({ err: error, event }, 'an engine event listener failed'),
  );
  // E-mail events (F6), when flows.emailEvents.enabled: the activity flow and the journal poller.
  const emailEvents = await createEmailEventsRuntime(runtime, alerts, events, {
    poll: options.poll !== false,
  });
  const engine = new SyncEngine({
    events,
    store: runtime.store,
    flows: [
      // Privacy holds and tombstones (I9) are honoured whether or not privacy requests are configured.
      ...recordFlows(records, { store: runtime.store, clock: runtime.clock, guard: runtime.store.privacy }),
      ...(optOut?.flows ?? []),
      ...(emailEvents?.flows ?? []),
    ],
    journalFlows: emailEvents ? journalFlows(runtime.config) : [],
    clock: runtime.clock,
    logger: runtime.logger,
    alerts,
    workers: e.workers,
    leaseMs: e.leaseMs,
    pollIntervalMs: e.pollIntervalMs,
    retry: e.retry,
    breaker: e.breaker,
    services: [...(optOut?.services ?? []), ...(emailEvents?.services ?? [])],
    publish: () => ({ campaignBudget: runtime.campaign.budget.usage() }),
    owner: runtime.worker.identity.id,
    duties: runtime.worker.duties,
    worker: {
      identity: runtime.worker.identity,
      timing: {
        heartbeatMs: runtime.config.workers.heartbeatMs,
        deadAfterMs: runtime.config.workers.deadAfterMs,
      },
      // SQLite serves one process: a second `dcsync run` on the same file is refused.
      ...(runtime.store.dialect === 'sqlite'
        ? { single: { host: runtime.worker.identity.host, isProcessAlive } }
        : {}),
    },
    callBudget: runtime.campaign.budget,
    runRetentionDays: runtime.config.history.runRetentionDays,
    bulkLanes: buildBulkLanes(runtime, records),
    ...(options.poll === undefined ? {} : { poll: options.poll }),
    ...(options.work === undefined ? {} : { work: options.work }),
  });
  emailEvents?.poller?.attach(engine.control);
  runtime.campaign.budget.onRateChange((change) =>
    engine.events.emit('budget.changed', {
      target: 'campaign',
      callsPerSecond: change.callsPerSecond,
      limit: change.limit,
      reason: change.reason,
    }),
  );
  if (reporter) {
    // What was WRITTEN, about once a second while a run runs (plain lines every 10 s off a terminal).
    const show = (run: RunView, finished: boolean): void =>
      reporter.update({
        label: progressLabel(run),
        done: run.progress.done,
        total: run.progress.total,
        startedAt: run.startedAt,
        finished,
        ratePerSecond: run.progress.ratePerSecond,
        etaMs: run.progress.etaMs,
      });
    engine.events.on('run.started', (run) => show(run, false));
    engine.events.on('run.progressed', (run) => show(run, false));
    engine.events.on('run.ended', (run) => {
      show(run, true);
      reporter.line(describeRunSummary(run));
    });
    engine.events.on('work.pending', (work) =>
      reporter.pulse(
        () =>
          `working: ${work.queued} queued, ${work.leased} in flight · ${work.writtenPerSecond.toFixed(0)} written/s`,
      ),
    );
    engine.events.on('engine.stopped', () => reporter.close());
  }
  return engine;
}
