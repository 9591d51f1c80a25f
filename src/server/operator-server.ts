import { Registry } from 'prom-client';
import type { ContactFinder } from '../core/ports/contact-finder.js';
import type { Clock } from '../core/clock.js';
import type { EngineLogger } from '../core/ports/engine-logger.js';
import type { StateStore } from '../core/ports/state-store.js';
import type { CallBudgetUsage } from '../core/ports/call-budget.js';
import type { ResolvedConfig, ResolvedHealthConfig } from '../config/resolved-config.js';
import type { HealthSettings } from '../engine/health/health-assessment.js';
import { HealthMonitor, type HealthMonitorOptions } from '../engine/health/health-monitor.js';
import { stormHysteresis } from '../engine/health/health-tracker.js';
import type { AlertDispatcher } from '../engine/alert-dispatcher.js';
import type { Redactor } from '../logging/redactor.js';
import { startHttpServer, type RunningHttpServer } from './http-server.js';
import type { OptOutProvider } from './providers/opt-out-provider.js';
import type { PrivacyProvider } from './providers/privacy-provider.js';
import type { OperatorEngine, ServerDependencies, ServerOptions } from './server-dependencies.js';

/** The parts of the CLI's `SyncRuntime` the operator server uses (a `SyncRuntime` satisfies it). */
export interface OperatorRuntime {
  readonly config: ResolvedConfig;
  readonly clock: Clock;
  readonly logger: EngineLogger;
  readonly redactor: Redactor;
  readonly store: StateStore;
  readonly campaign: { readonly budget: { usage(): CallBudgetUsage } };
}

export interface OperatorServerInputs {
  runtime: OperatorRuntime;
  engine: OperatorEngine;
  /** Whether the engine was started, for `/readyz`. @default () => true */
  engineStarted?: () => boolean;
  /** Registry served at `/metrics` (register call metrics on it first). @default a new Registry */
  registry?: Registry;
  /** The alert dispatcher the engine raises to: its recent alerts show on the dashboard, and the health monitor raises to it. */
  alerts?: AlertDispatcher;
  /**
   * Health monitor tunables; `false` runs no monitor (each status read then assesses the moment).
   * @default {}
   */
  monitor?:
    | Partial<
        Omit<
          HealthMonitorOptions,
          'engine' | 'alerts' | 'clock' | 'logger' | 'optOut' | 'privacy' | 'campaign' | 'checkpoints'
        >
      >
    | false;
  optOut?: OptOutProvider;
  privacy?: PrivacyProvider;
  /** Live e-mail look-up of contacts for the record trace. */
  contactFinder?: ContactFinder;
  options?: ServerOptions;
}

/**
 * The server's dependencies from a runtime and an engine. The Dataverse webhook receiver is on when
 * `dynamics.webhook.enabled`; a notification wakes every flow reading that table.
 */
export function createServerDependencies(inputs: OperatorServerInputs): ServerDependencies {
  const { runtime, engine } = inputs;
  const webhook = runtime.config.dynamics.webhook;
  return {
    engine,
    store: runtime.store,
    budget: runtime.campaign.budget,
    config: runtime.config,
    adminToken: runtime.config.server.adminToken.reveal(),
    redactor: runtime.redactor,
    logger: runtime.logger,
    clock: runtime.clock,
    registry: inputs.registry ?? new Registry(),
    engineStarted: inputs.engineStarted ?? (() => true),
    dynamicsWebhook:
      webhook?.enabled === true
        ? {
            key: webhook.key.reveal(),
            header: webhook.header,
            onNotification: (table) => {
              for (const flow of engine.flows) if (flow.table === table) engine.wake(flow.id);
            },
          }
        : undefined,
    optOut: inputs.optOut,
    privacy: inputs.privacy,
    contactFinder: inputs.contactFinder,
    alerts: inputs.alerts,
    options: inputs.options,
  };
}

/** The health monitor's interval, hysteresis and thresholds from the config's `health` section. */
export function healthMonitorTiming(health: ResolvedHealthConfig): {
  intervalMs: number;
  hysteresis: ReturnType<typeof stormHysteresis>;
  settings: Pick<HealthSettings, 'troubleWindowMs' | 'retryingAfterMs'>;
} {
  return {
    intervalMs: health.checkIntervalMs,
    hysteresis: stormHysteresis({
      enterAfterMs: health.stormEnterAfterMs,
      leaveAfterMs: health.stormLeaveAfterMs,
    }),
    settings: { troubleWindowMs: health.campaignTroubleWindowMs, retryingAfterMs: health.retryingAfterMs },
  };
}

/**
 * Start the operator surface for a running sync: HTTP API, dashboard, `/metrics`, health probes,
 * the Dataverse webhook receiver and the health monitor (its alerts go to the log and, with
 * `alerts`, to the dispatcher). Listens on `config.server.host:port` unless `listen` says
 * otherwise. `close()` stops all of it.
 */
export async function startOperatorServer(
  inputs: OperatorServerInputs,
  listen?: { host: string; port: number },
): Promise<RunningHttpServer> {
  const { runtime } = inputs;
  const dispatcher = inputs.alerts;
  const timing = healthMonitorTiming(runtime.config.health);
  const monitor =
    inputs.monitor !== false
      ? new HealthMonitor({
          // The config's `health` timing first; explicit monitor options (tests, embedders) win.
          intervalMs: timing.intervalMs,
          ...(inputs.monitor ?? {}),
          hysteresis: {
            enterAfterMs: { ...timing.hysteresis.enterAfterMs, ...inputs.monitor?.hysteresis?.enterAfterMs },
            leaveAfterMs: { ...timing.hysteresis.leaveAfterMs, ...inputs.monitor?.hysteresis?.leaveAfterMs },
          },
          settings: {
            ...timing.settings,
            ...(runtime.config.privacy ? { privacyStuckAfterMs: runtime.config.privacy.stuckAfterMs } : {}),
            ...inputs.monitor?.settings,
          },
          engine: inputs.engine,
          duty: inputs.engine.duties?.duty('alerts:monitor'),
          // Like the engine's alerts, the monitor's go to the log whether or not a webhook takes them.
          alerts: {
            raise: async (alert) => {
              const entry = {
                alert: alert.kind,
                subject: alert.subject,
                severity: alert.severity,
                state: alert.state ?? 'firing',
              };
              if (alert.severity === 'info') runtime.logger.info(entry, alert.message);
              else if (alert.severity === 'warning') runtime.logger.warn(entry, alert.message);
              else runtime.logger.error(entry, alert.message);
              await dispatcher?.raise(alert);
            },
          },
          clock: runtime.clock,
          logger: runtime.logger,
          checkpoints: runtime.store.checkpoints,
          campaign: () => runtime.campaign.budget.usage(),
          optOut: inputs.optOut,
          privacy: inputs.privacy,
        })
      : null;
  const deps = { ...createServerDependencies(inputs), ...(monitor ? { health: monitor } : {}) };
  const server = await startHttpServer(
    deps,
    listen ?? { host: runtime.config.server.host, port: runtime.config.server.port },
  );
  monitor?.start();
  deps.logger.info({ url: server.url }, 'operator server listening');
  return {
    ...server,
    close: async () => {
      await monitor?.stop();
      await server.close();
    },
  };
}
