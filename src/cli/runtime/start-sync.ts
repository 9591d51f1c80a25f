import type { AlertSink } from '../../core/ports/alert-sink.js';
import type { JsonObject } from '../../core/json.js';
import { SyncEngine } from '../../engine/sync-engine.js';
import type { ReadProgress } from '../../engine/table-poller.js';
import { ProgressReporter } from '../progress-reporter.js';
import { buildFlowDefinitions } from './build-flows.js';
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

/** Build the engine for a runtime: flows (with pre-flight checks), alerts, progress. Not started. */
export async function createSyncEngine(
  runtime: SyncRuntime,
  options: StartSyncOptions = {},
): Promise<SyncEngine> {
  const flows = await buildFlowDefinitions(runtime);
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
  const optOut = await createOptOutRuntime(runtime, flows, alerts, { ingest: options.poll !== false });
  if (optOut) options.onOptOut?.(optOut);
  return new SyncEngine({
    store: runtime.store,
    flows,
    clock: runtime.clock,
    logger: runtime.logger,
    alerts,
    workers: e.workers,
    leaseMs: e.leaseMs,
    pollIntervalMs: e.pollIntervalMs,
    retry: e.retry,
    breaker: e.breaker,
    ...(optOut ? { appliers: optOut.appliers, companions: optOut.companions } : {}),
    // Privacy holds and tombstones (I9) are honoured whether or not privacy requests are configured.
    guard: runtime.store.privacy,
    publish: () => ({ campaignBudget: runtime.campaign.budget.usage() as unknown as JsonObject }),
    ...(options.poll === undefined ? {} : { poll: options.poll }),
    ...(options.work === undefined ? {} : { work: options.work }),
    ...(reporter
      ? {
          onProgress: (p: ReadProgress) =>
            reporter.update({
              label: progressLabel(p),
              done: p.rows,
              total: p.total,
              startedAt: p.startedAt,
              finished: p.done,
            }),
        }
      : {}),
  });
}
