import type { DutyRoster } from '../engine/duty.js';
import type { Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { ContactFinder } from '../core/ports/contact-finder.js';
import type { EngineLogger } from '../core/ports/engine-logger.js';
import type { StateStore } from '../core/ports/state-store.js';
import type { CallBudgetUsage } from '../core/ports/call-budget.js';
import type { ResolvedConfig } from '../config/resolved-config.js';
import type { DispatchedAlert } from '../engine/alert-dispatcher.js';
import type { EngineEvents } from '../engine/engine-events.js';
import type { EngineStats } from '../engine/engine-stats.js';
import type { FlowControl } from '../engine/flow-control.js';
import type { FlowStatus } from '../engine/sync-engine.js';
import type { RunView } from '../engine/runs/run-view.js';
import type { HealthSettings } from '../engine/health/health-assessment.js';
import type { HealthProblem } from '../engine/health/health-tracker.js';
import type { Redactor } from '../logging/redactor.js';
import type { OptOutProvider } from './providers/opt-out-provider.js';
import type { PrivacyProvider } from './providers/privacy-provider.js';

/** What the server uses of the engine; `SyncEngine` satisfies it. */
export interface OperatorEngine {
  readonly flows: readonly { readonly id: string; readonly table: string }[];
  readonly stats: Pick<EngineStats, 'totals' | 'byFlow' | 'throughput' | 'lagPercentiles' | 'onRecord'>;
  readonly control: Pick<FlowControl, 'pause' | 'resume'>;
  flowStatuses(): Promise<FlowStatus[]>;
  wake(flowId?: string): void;
  /** A table flow's replay re-reads every row; a journal flow's (F6) reads its events again from `sinceMs`. */
  requestReplay(flowId: string, options?: { sinceMs?: number | null }): Promise<unknown>;
  /** The engine's event bus (metrics count the runs that end). */
  readonly events?: Pick<EngineEvents, 'on'>;
  /** A run this process follows, with its live rate and ETA; null when it does not follow it. */
  liveRun?(id: string): RunView | null;
  /** The worker's singleton duties (the health monitor's alerts are one). @default alerts from every process */
  readonly duties?: Pick<DutyRoster, 'duty'>;
}

/** The Dataverse webhook receiver (`POST /webhooks/dynamics`), present when enabled in the config. */
export interface DynamicsWebhookReceiver {
  /** The shared key Dataverse sends (revealed secret). */
  key: string;
  /** Header carrying the key, e.g. `x-dcsync-key`. */
  header: string;
  /** A change notification for a table arrived: read it now. Must not throw or block. */
  onNotification(table: string): void;
}

/** Tunables of the operator server. */
export interface ServerOptions {
  /** A session ends after this long without a request. @default 120 */
  sessionIdleMinutes?: number;
  /** A session ends this long after login, whatever its use. @default 12 */
  sessionMaxHours?: number;
  /** Failed sign-ins per minute per client address before 429 (successful ones do not count). @default 10 */
  loginAttemptsPerMinute?: number;
  /** Status answers are reused for this long (dashboard polling, metrics scrapes). @default 1000 */
  statusCacheMs?: number;
  /** Dead-letter counts per code are reused for this long (a full scan with many dead letters). @default 15000 */
  deadLetterCodesCacheMs?: number;
  /** How often a status sample is kept for the dashboard's charts. @default 5000 */
  historyIntervalMs?: number;
  /** Samples kept (720 × 5 s = one hour). @default 720 */
  historySize?: number;
  /**
   * Behind a TLS-terminating reverse proxy: take protocol and host from `X-Forwarded-Proto` /
   * `X-Forwarded-Host`, so the CSRF origin check and the cookie's `Secure` flag see what the
   * browser sees. Only enable it when every request comes through that proxy. @default false
   */
  trustProxy?: boolean;
  /** Largest request body for the API. @default 65536 */
  bodyLimitBytes?: number;
  /** Largest Dataverse notification body (Dataverse sends up to 256 KB). @default 1048576 */
  webhookBodyLimitBytes?: number;
}

/** Everything the HTTP server needs; built by `createServerDependencies` or by tests. */
export interface ServerDependencies {
  engine: OperatorEngine;
  store: StateStore;
  budget: { usage(): CallBudgetUsage };
  config: ResolvedConfig;
  /** The admin token (revealed); compared in constant time, never echoed. */
  adminToken: string;
  redactor: Redactor;
  logger: EngineLogger;
  clock: Clock;
  /** Registry `/metrics` serves; the caller may register its own metrics (e.g. call metrics) on it. */
  registry: Registry;
  /** Whether the engine was started (readiness). */
  engineStarted(): boolean;
  dynamicsWebhook?: DynamicsWebhookReceiver | undefined;
  /** Opt-out decisions, SFTP files and usage (issue 7). Absent: those routes answer 404 NOT_CONFIGURED. */
  optOut?: OptOutProvider | undefined;
  /** Privacy requests (issue 8). Absent: those routes answer 404 NOT_CONFIGURED. */
  privacy?: PrivacyProvider | undefined;
  /** Looks contacts up by e-mail in Dynamics, live, for `GET /api/trace?key=<e-mail>`. Absent: an e-mail finds nothing. */
  contactFinder?: ContactFinder | undefined;
  /** Recent alerts (the alert dispatcher). */
  alerts?: { recent(): readonly DispatchedAlert[] } | undefined;
  /**
   * The health monitor, when one runs: the status shows its problems (with hysteresis). Without
   * one, or before its first check, each status read assesses the moment it reads.
   */
  health?:
    | {
        problems(): HealthProblem[];
        readonly hasChecked: boolean;
        readonly assessmentSettings: HealthSettings;
      }
    | undefined;
  options?: ServerOptions | undefined;
}
