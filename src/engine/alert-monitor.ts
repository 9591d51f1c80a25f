import type { Clock } from '../core/clock.js';
import type { Alert, AlertSink } from '../core/ports/alert-sink.js';
import type { EngineLogger } from '../core/ports/engine-logger.js';
import type { FlowStatus } from './sync-engine.js';

/** What the monitor reads about opt-out files (the issue-7 provider satisfies it). */
export interface OptOutHealthSource {
  freshness(): Promise<{ lastFileAt: number | null; stalenessHours: number; stale: boolean }>;
  sftpUsage(): Promise<{ usedBytes: number; quotaBytes: number | null } | null>;
}

/** What the monitor reads about privacy requests (the issue-8 provider satisfies it). */
export interface PrivacyFailureSource {
  list(
    filter: { state: 'failed' },
    page: { limit: number },
  ): Promise<{ items: readonly { id: string; updatedAt: number; error: { code: string } | null }[] }>;
}

export interface AlertMonitorOptions {
  engine: { flowStatuses(): Promise<FlowStatus[]> };
  alerts: AlertSink;
  clock: Clock;
  logger: EngineLogger;
  optOut?: OptOutHealthSource | undefined;
  privacy?: PrivacyFailureSource | undefined;
  /** How often conditions are checked. @default 30000 */
  intervalMs?: number;
  /** A running flow whose delta read has not completed for this long has failed. @default 600000 */
  staleReadMs?: number;
  /** A flow whose oldest queued change is older than this has failed to apply. @default 1800000 */
  maxLagMs?: number;
  /** Dead letters of a flow growing by at least `threshold` within `windowMs` raise an alert. @default { threshold: 100, windowMs: 900000 } */
  deadLetterGrowth?: { threshold: number; windowMs: number };
  /** Failed privacy requests updated longer ago than this are not (re-)announced. @default 86400000 */
  privacyLookbackMs?: number;
}

const minute = 60_000;

/**
 * Periodically checks what the engine cannot see from inside one poll or one write: flows paused
 * or stuck, dead letters piling up, a stale opt-out export, SFTP usage at 80 % / 90 %, failed
 * privacy requests. Raises alerts to the dispatcher, which de-duplicates them. Breaker trips and
 * delta re-baselines are raised by the pollers themselves.
 */
export class AlertMonitor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly deadLetterSamples = new Map<string, { at: number; count: number }[]>();
  private readonly announcedPrivacyFailures = new Set<string>();

  constructor(private readonly options: AlertMonitorOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.checkOnce(), this.options.intervalMs ?? 30_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round of checks (overlapping rounds are skipped). */
  checkOnce(): Promise<void> {
    this.running ??= this.check().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async check(): Promise<void> {
    await Promise.all([
      this.guard('flows', () => this.checkFlows()),
      this.guard('opt-out file', () => this.checkOptOut()),
      this.guard('privacy requests', () => this.checkPrivacy()),
    ]);
  }

  private async guard(what: string, check: () => Promise<void>): Promise<void> {
    try {
      await check();
    } catch (error) {
      this.options.logger.warn({ err: error }, `alert monitor: checking ${what} failed`);
    }
  }

  private raise(alert: Omit<Alert, 'at'>): Promise<void> {
    return this.options.alerts.raise({ ...alert, at: this.options.clock.now() });
  }

  private async checkFlows(): Promise<void> {
    const now = this.options.clock.now();
    for (const flow of await this.options.engine.flowStatuses()) {
      const { control } = flow;
      if (control.status === 'paused') {
        // The breaker raised its own, more telling alert.
        if (control.trippedRunId === null)
          await this.raise({
            kind: 'flow-paused',
            severity: 'warning',
            subject: flow.flow,
            message: `Flow ${flow.flow} is paused${control.reason ? ` (${control.reason})` : ''}; ${flow.backlog.queued} changes wait. Resume it from the dashboard or the API.`,
          });
      } else {
        const failure = this.flowFailure(flow, now);
        if (failure)
          await this.raise({
            kind: 'flow-failed',
            severity: 'critical',
            subject: flow.flow,
            message: failure,
          });
      }
      const growth = this.deadLetterGrowth(flow.flow, flow.deadLetters, now);
      if (growth) await this.raise(growth);
    }
  }

  private flowFailure(flow: FlowStatus, now: number): string | null {
    const staleReadMs = this.options.staleReadMs ?? 10 * minute;
    const maxLagMs = this.options.maxLagMs ?? 30 * minute;
    const runningFor = now - flow.control.since;
    const caughtUpAt = flow.cursor.caughtUpAt;
    if (
      flow.cursor.phase === 'delta' &&
      caughtUpAt !== null &&
      runningFor > staleReadMs &&
      now - caughtUpAt > staleReadMs
    )
      return `Flow ${flow.flow} has not completed a read of table ${flow.table} for ${Math.round((now - caughtUpAt) / minute)} min; Dynamics may be unreachable or refusing the service (see the log).`;
    if (flow.lagMs !== null && flow.lagMs > maxLagMs)
      return `Flow ${flow.flow}: the oldest queued change has waited ${Math.round(flow.lagMs / minute)} min (${flow.backlog.queued} queued); Campaign writes are failing or too slow (see the log).`;
    return null;
  }

  private deadLetterGrowth(flowId: string, count: number, now: number): Omit<Alert, 'at'> | null {
    const { threshold, windowMs } = this.options.deadLetterGrowth ?? {
      threshold: 100,
      windowMs: 15 * minute,
    };
    const samples = (this.deadLetterSamples.get(flowId) ?? []).filter((s) => now - s.at <= windowMs);
    samples.push({ at: now, count });
    this.deadLetterSamples.set(flowId, samples);
    const lowest = Math.min(...samples.map((s) => s.count));
    if (count - lowest < threshold) return null;
    return {
      kind: 'dead-letters-growing',
      severity: 'warning',
      subject: flowId,
      message: `Dead letters of flow ${flowId} grew by ${count - lowest} to ${count} within ${Math.round(windowMs / minute)} min. Check the errors by code on the dashboard.`,
    };
  }

  private async checkOptOut(): Promise<void> {
    const source = this.options.optOut;
    if (!source) return;
    const [freshness, usage] = await Promise.all([source.freshness(), source.sftpUsage()]);
    if (freshness.stale)
      await this.raise({
        kind: 'opt-out-file-stale',
        severity: 'critical',
        subject: 'opt-out-export',
        message:
          freshness.lastFileAt === null
            ? `No opt-out export file has arrived on the Campaign SFTP server (window ${freshness.stalenessHours} h). Check the Campaign export workflow.`
            : `No new opt-out export file for more than ${freshness.stalenessHours} h (last ${new Date(freshness.lastFileAt).toISOString()}). Check the Campaign export workflow.`,
      });
    if (usage?.quotaBytes) {
      const share = usage.usedBytes / usage.quotaBytes;
      const level = share >= 0.9 ? 90 : share >= 0.8 ? 80 : null;
      if (level !== null)
        await this.raise({
          kind: 'sftp-usage',
          // The level is part of the subject, so reaching 90 % alerts even after an 80 % alert.
          subject: `sftp-${level}`,
          severity: level === 90 ? 'critical' : 'warning',
          message: `Campaign SFTP storage is ${Math.floor(share * 100)} % used (${usage.usedBytes} of ${usage.quotaBytes} bytes). Processed files are removed after the retention; lower it or free space.`,
        });
    }
  }

  private async checkPrivacy(): Promise<void> {
    const source = this.options.privacy;
    if (!source) return;
    const since = this.options.clock.now() - (this.options.privacyLookbackMs ?? 24 * 60 * minute);
    const failed = await source.list({ state: 'failed' }, { limit: 100 });
    for (const request of failed.items) {
      if (request.updatedAt < since || this.announcedPrivacyFailures.has(request.id)) continue;
      this.announcedPrivacyFailures.add(request.id);
      await this.raise({
        kind: 'privacy-request-failed',
        severity: 'critical',
        subject: request.id,
        message: `Privacy request ${request.id} failed${request.error ? ` (${request.error.code})` : ''}; the record stays held. See the request's steps on the dashboard.`,
      });
    }
  }
}
