import type { AlertKind, AlertSink } from '../../core/ports/alert-sink.js';
import type { AlertEvent } from '../../config/config-schema.js';
import type { ResolvedAlertsConfig } from '../../config/resolved-config.js';
import { isSecret } from '../../config/secret.js';
import type { Redactor } from '../../logging/redactor.js';
import {
  WebhookAlertSink,
  type WebhookAlertSinkOptions,
} from '../../connectors/alerts/webhook-alert-sink.js';

/** Configuration event names (`alerts.webhooks[].events`) → alert kinds raised by the service. */
export const alertKindOfEvent: Readonly<Record<AlertEvent, AlertKind>> = {
  'flow-failed': 'flow-failed',
  'flow-paused': 'flow-paused',
  'breaker-tripped': 'breaker-tripped',
  'dead-letters-growing': 'dead-letters-growing',
  'optout-file-stale': 'opt-out-file-stale',
  'optout-file-problem': 'opt-out-file-problem',
  'sftp-usage-high': 'sftp-usage',
  rebaseline: 'delta-rebaseline',
  'privacy-request-failed': 'privacy-request-failed',
  'dead-letters': 'dead-letters',
  'changes-retrying': 'changes-retrying',
  'campaign-throttled': 'campaign-throttled',
  'campaign-failing': 'campaign-failing',
  'campaign-rate-cut': 'campaign-rate-cut',
  'backlog-growing': 'backlog-growing',
  orphans: 'orphans',
  'privacy-request-stuck': 'privacy-request-stuck',
  'no-sync-process': 'no-sync-process',
};

/** One webhook route, shaped for the alert dispatcher. */
export interface WebhookAlertRoute {
  name: string;
  sink: AlertSink;
  kinds?: readonly AlertKind[];
}

/** A sink per configured webhook (`alerts.webhooks`), with the kinds it subscribed to. */
export function buildWebhookAlertRoutes(
  config: ResolvedAlertsConfig,
  redactor: Redactor,
  options: Pick<WebhookAlertSinkOptions, 'timeoutMs' | 'attempts' | 'retryDelayMs' | 'clock'> = {},
): { routes: WebhookAlertRoute[]; close(): Promise<void> } {
  const sinks: WebhookAlertSink[] = [];
  const routes = config.webhooks.map((webhook, index): WebhookAlertRoute => {
    const name = `webhook #${index + 1}`;
    const url = isSecret(webhook.url) ? webhook.url.reveal() : String(webhook.url);
    redactor.addSecret(url);
    const sink = new WebhookAlertSink({ url, name, redactor, ...options });
    sinks.push(sink);
    return webhook.events
      ? { name, sink, kinds: webhook.events.map((event) => alertKindOfEvent[event]) }
      : { name, sink };
  });
  return {
    routes,
    close: async () => {
      await Promise.allSettled(sinks.map((sink) => sink.close()));
    },
  };
}
