import type { Clock } from '../../core/clock.js';
import type { EngineLogger } from '../../core/ports/engine-logger.js';
import type { StateStore } from '../../core/ports/state-store.js';
import { buildWebhookAlertRoutes } from './alert-routes.js';
import type { ResolvedConfig } from '../../config/resolved-config.js';
import { AlertDispatcher } from '../../engine/alert-dispatcher.js';
import type { Redactor } from '../../logging/redactor.js';

/**
 * The alert dispatcher for a runtime: one webhook sink per `alerts.webhooks` entry, de-duplicated
 * per `alerts.dedupeMinutes` through store checkpoints. Create it before the engine and pass it as
 * the engine's alert sink; `close()` releases the webhook connections.
 */
export function createOperatorAlerts(runtime: {
  readonly config: ResolvedConfig;
  readonly clock: Clock;
  readonly logger: EngineLogger;
  readonly redactor: Redactor;
  readonly store: StateStore;
}): { dispatcher: AlertDispatcher; close(): Promise<void> } {
  const webhooks = buildWebhookAlertRoutes(runtime.config.alerts, runtime.redactor, { clock: runtime.clock });
  const dispatcher = new AlertDispatcher({
    checkpoints: runtime.store.checkpoints,
    clock: runtime.clock,
    logger: runtime.logger,
    routes: webhooks.routes,
    dedupeMinutes: runtime.config.alerts.dedupeMinutes,
  });
  return { dispatcher, close: () => webhooks.close() };
}
