import type { SyncEngine } from '../../engine/sync-engine.js';
import { DynamicsContactFinder } from '../../connectors/dynamics/dynamics-contact-finder.js';
import type { OptOutProvider } from '../../server/providers/opt-out-provider.js';
import { createOperatorAlerts } from './operator-alerts.js';
import { startOperatorServer } from '../../server/operator-server.js';
import { openPrivacyProvider, startPrivacyLoop } from './privacy-runtime.js';
import { createSyncEngine, type StartSyncOptions } from './start-sync.js';
import type { SyncRuntime } from './sync-runtime.js';

export interface SyncService {
  readonly engine: SyncEngine;
  /** The operator server's base URL (null when not serving). */
  readonly url: string | null;
  /** Start the engine and the privacy request loop (the server already listens). */
  start(): Promise<void>;
  /** Graceful stop: server, privacy loop, engine (drains), alerts. */
  stop(): Promise<void>;
}

export interface SyncServiceOptions extends Omit<StartSyncOptions, 'alerts' | 'onOptOut'> {
  /** Serve the operator surface (API, dashboard, /metrics, webhooks). @default true */
  serve?: boolean;
  /** Listen address. @default config.server */
  listen?: { host: string; port: number };
  env?: NodeJS.ProcessEnv;
}

/**
 * The whole long-running service for a runtime: alerts (log + webhooks, de-duplicated), the
 * engine with its opt-out companions and privacy guard, the privacy request loop, and the
 * operator server wired to all of them. One composition used by `dcsync run` and `dcsync demo`.
 */
export async function createSyncService(
  runtime: SyncRuntime,
  options: SyncServiceOptions = {},
): Promise<SyncService> {
  const alerts = createOperatorAlerts(runtime);
  let optOut: OptOutProvider | undefined;
  const engine = await createSyncEngine(runtime, {
    ...options,
    alerts: alerts.dispatcher,
    onOptOut: (o) => {
      optOut = o.provider;
    },
  });
  const privacy = openPrivacyProvider(runtime, { alerts: alerts.dispatcher, env: options.env });
  let started = false;
  const server =
    options.serve === false
      ? null
      : await startOperatorServer(
          {
            runtime,
            engine,
            alerts: alerts.dispatcher,
            engineStarted: () => started,
            registry: runtime.metricsRegistry,
            ...(optOut ? { optOut } : {}),
            ...(privacy ? { privacy: privacy.provider } : {}),
            contactFinder: new DynamicsContactFinder(runtime.dynamics.client),
          },
          options.listen,
        );
  let privacyLoop: { stop(): Promise<void> } | null = null;
  return {
    engine,
    url: server?.url ?? null,
    async start() {
      await engine.start();
      privacyLoop = startPrivacyLoop(runtime, { alerts: alerts.dispatcher, env: options.env });
      started = true;
    },
    async stop() {
      started = false;
      await server?.close();
      await privacyLoop?.stop();
      await engine.stop();
      await privacy?.close();
      await alerts.close();
    },
  };
}
