import { Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { EngineLogger } from '../core/ports/engine-logger.js';
import type { StateStore } from '../core/ports/state-store.js';
import type { CallBudgetUsage } from '../connectors/campaign/call-budget.js';
import type { ResolvedConfig } from '../config/resolved-config.js';
import { AlertMonitor, type AlertMonitorOptions } from '../engine/alert-monitor.js';
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
  /** The alert dispatcher the engine raises to: its recent alerts show on the dashboard, and the alert monitor raises to it. */
  alerts?: AlertDispatcher;
  /** Alert monitor tunables; `false` runs no monitor. @default {} when `alerts` is given */
  monitor?:
    | Partial<Omit<AlertMonitorOptions, 'engine' | 'alerts' | 'clock' | 'logger' | 'optOut' | 'privacy'>>
    | false;
  optOut?: OptOutProvider;
  privacy?: PrivacyProvider;
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
    alerts: inputs.alerts,
    options: inputs.options,
  };
}

/**
 * Start the operator surface for a running sync: HTTP API, dashboard, `/metrics`, health probes,
 * the Dataverse webhook receiver and (with `alerts`) the alert monitor. Listens on
 * `config.server.host:port` unless `listen` says otherwise. `close()` stops all of it.
 */
export async function startOperatorServer(
  inputs: OperatorServerInputs,
  listen?: { host: string; port: number },
): Promise<RunningHttpServer> {
  const deps = createServerDependencies(inputs);
  const server = await startHttpServer(
    deps,
    listen ?? { host: inputs.runtime.config.server.host, port: inputs.runtime.config.server.port },
  );
  const dispatcher = inputs.alerts;
  const monitor =
    dispatcher && inputs.monitor !== false
      ? new AlertMonitor({
          ...(inputs.monitor ?? {}),
          engine: inputs.engine,
          // Like the engine's alerts, the monitor's go to the log whether or not a webhook takes them.
          alerts: {
            raise: (alert) => {
              const entry = { alert: alert.kind, subject: alert.subject, severity: alert.severity };
              if (alert.severity === 'info') deps.logger.info(entry, alert.message);
              else if (alert.severity === 'warning') deps.logger.warn(entry, alert.message);
              else deps.logger.error(entry, alert.message);
              return dispatcher.raise(alert);
            },
          },
          clock: deps.clock,
          logger: deps.logger,
          optOut: inputs.optOut,
          privacy: inputs.privacy,
        })
      : null;
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
