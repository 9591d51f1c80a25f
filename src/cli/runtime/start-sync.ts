import type { AlertSink } from '../../core/ports/alert-sink.js';
import { SyncEngine } from '../../engine/sync-engine.js';
import type { ReadProgress } from '../../engine/engine-events.js';
import { recordFlows } from '../../engine/records/record-flows.js';
import { ProgressReporter } from '../progress-reporter.js';
import { buildRecordFlows } from './build-flows.js';
import { LogAlertSink } from './log-alert-sink.js';
import { createOptOutRuntime, type OptOutRuntime } from './opt-out-runtime.js';
import type { SyncRuntime } from './sync-runtime.js';

export interface StartSyncOptions {
  /** Where progress of long reads is shown (a bar on a terminal, plain lines otherwise). */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Extra alert sink (webhooks); alerts always go to the log too. */
  alerts?: AlertSink;
  /** Only poll, or only work (multi-process deployments). */
  poll?: boolean;
  work?: boolean;
  /** Receives the opt-out parts (provider for the operator server; the ingestor for tests). */
  onOptOut?: (optOut: OptOutRuntime) => void;
}

function progressLabel(p: ReadProgress): string {
  const kind = p.kind === 'initial' ? 'initial load' : p.kind;
  return `${p.flow} ${kind}`;
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
  const engine = new SyncEngine({
    store: runtime.store,
    flows: [
      // Privacy holds and tombstones (I9) are honoured whether or not privacy requests are configured.
      ...recordFlows(records, { store: runtime.store, clock: runtime.clock, guard: runtime.store.privacy }),
      ...(optOut?.flows ?? []),
    ],
    clock: runtime.clock,
    logger: runtime.logger,
    alerts,
    workers: e.workers,
    leaseMs: e.leaseMs,
    pollIntervalMs: e.pollIntervalMs,
    retry: e.retry,
    breaker: e.breaker,
    ...(optOut ? { services: optOut.services } : {}),
    publish: () => ({ campaignBudget: runtime.campaign.budget.usage() }),
    ...(options.poll === undefined ? {} : { poll: options.poll }),
    ...(options.work === undefined ? {} : { work: options.work }),
  });
  runtime.campaign.budget.onRateChange((change) =>
    engine.events.emit('budget.changed', {
      target: 'campaign',
      callsPerSecond: change.callsPerSecond,
      limit: change.limit,
      reason: change.reason,
    }),
  );
  if (reporter) {
    const show = (p: ReadProgress): void =>
      reporter.update({
        label: progressLabel(p),
        done: p.rows,
        total: p.total,
        startedAt: p.startedAt,
        finished: p.done,
      });
    engine.events.on('run.progressed', show);
    engine.events.on('run.ended', show);
  }
  return engine;
}
