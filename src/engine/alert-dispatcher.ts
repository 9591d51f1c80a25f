import type { Clock } from '../core/clock.js';
import type { Alert, AlertKind, AlertSink } from '../core/ports/alert-sink.js';
import type { EngineLogger } from '../core/ports/engine-logger.js';
import type { CheckpointStore } from '../core/ports/state-store.js';

/** One destination of alerts (a webhook), optionally limited to some kinds. */
export interface AlertRoute {
  /** For logs: `webhook #1` — never the URL (it is a secret). */
  name: string;
  sink: AlertSink;
  /** Kinds sent to this sink. @default every kind */
  kinds?: readonly AlertKind[] | undefined;
}

/** What happened to a raised alert. */
export const alertDeliveries = ['sent', 'suppressed', 'failed', 'logged'] as const;
export type AlertDelivery = (typeof alertDeliveries)[number];

/** An alert with its delivery, kept for the dashboard. */
export interface DispatchedAlert extends Alert {
  delivery: AlertDelivery;
}

export interface AlertDispatcherOptions {
  /** De-duplication marks live here, so a restart does not send them again. */
  checkpoints: Pick<CheckpointStore, 'get' | 'set' | 'delete' | 'list'>;
  clock: Clock;
  logger: EngineLogger;
  routes: readonly AlertRoute[];
  /** The same kind + subject is sent at most once per window. @default 60 */
  dedupeMinutes?: number;
  /** Alerts kept for {@link AlertDispatcher.recent}. @default 100 */
  recentSize?: number;
}

/** Checkpoint holding when an alert of this kind, subject and severity was last sent. */
export function alertDedupeCheckpoint(kind: AlertKind, subject: string, severity: Alert['severity']): string {
  return `${alertMarkPrefix(kind, subject)}${severity}`;
}

function alertMarkPrefix(kind: AlertKind, subject: string): string {
  return `alert:${kind}:${subject}#`;
}

/**
 * Fans alerts out to their routes with de-duplication: one kind + subject + severity is sent at
 * most once per `dedupeMinutes`, across restarts and processes (the mark is a store checkpoint), so
 * a problem getting worse (warning → critical) is news. A resolved alert is sent only when its
 * firing alert was sent, and clears the marks, so every page gets its "resolved" and the next time
 * the problem starts it pages again. An alert no route accepted is not marked, so the next raise
 * tries again. Never throws: a failing webhook must not stop a poller or a worker.
 */
export class AlertDispatcher implements AlertSink {
  private readonly recentAlerts: DispatchedAlert[] = [];
  private readonly inFlight = new Set<string>();
  private readonly dedupeMs: number;
  private readonly recentSize: number;

  constructor(private readonly options: AlertDispatcherOptions) {
    this.dedupeMs = (options.dedupeMinutes ?? 60) * 60_000;
    this.recentSize = options.recentSize ?? 100;
  }

  async raise(alert: Alert): Promise<void> {
    try {
      this.remember(alert, await this.dispatch(alert));
    } catch (error) {
      this.options.logger.error(
        { err: error, alert: alert.kind, subject: alert.subject },
        'alert dispatch failed',
      );
      this.remember(alert, 'failed');
    }
  }

  /** Alerts handled since start, oldest first. */
  recent(): readonly DispatchedAlert[] {
    return this.recentAlerts;
  }

  private async dispatch(alert: Alert): Promise<AlertDelivery> {
    const routes = this.options.routes.filter((r) => r.kinds === undefined || r.kinds.includes(alert.kind));
    if (routes.length === 0) return 'logged';
    const resolved = alert.state === 'resolved';
    const key = resolved
      ? `${alertMarkPrefix(alert.kind, alert.subject)}resolved`
      : alertDedupeCheckpoint(alert.kind, alert.subject, alert.severity);
    if (this.inFlight.has(key)) return 'suppressed';
    this.inFlight.add(key);
    try {
      const now = this.options.clock.now();
      const marks = resolved
        ? await this.options.checkpoints.list(alertMarkPrefix(alert.kind, alert.subject))
        : [];
      if (resolved) {
        if (marks.length === 0) return 'suppressed';
      } else {
        const last = await this.options.checkpoints.get(key);
        if (last !== null && now - Number(last) < this.dedupeMs) return 'suppressed';
      }
      const results = await Promise.allSettled(routes.map((route) => route.sink.raise(alert)));
      results.forEach((result, index) => {
        if (result.status === 'rejected')
          this.options.logger.warn(
            {
              err: result.reason as unknown,
              alert: alert.kind,
              subject: alert.subject,
              route: routes[index]!.name,
            },
            'alert not delivered',
          );
      });
      if (!results.some((r) => r.status === 'fulfilled')) return 'failed';
      if (resolved) for (const mark of marks) await this.options.checkpoints.delete(mark.name);
      else await this.options.checkpoints.set(key, String(now));
      return 'sent';
    } finally {
      this.inFlight.delete(key);
    }
  }

  private remember(alert: Alert, delivery: AlertDelivery): void {
    this.recentAlerts.push({ ...alert, delivery });
    if (this.recentAlerts.length > this.recentSize)
      this.recentAlerts.splice(0, this.recentAlerts.length - this.recentSize);
  }
}
