import type { ErrorAreaCatalogue } from './error-code-table.js';

/** Alert webhooks (ConnectorError target `alert-webhook`). */
export const alertErrors = {
  area: 'alerts',
  title: 'Alert webhooks',
  codes: {},
  patterns: [
    {
      pattern: 'ALERT_WEBHOOK_<reason>',
      prefix: 'ALERT_WEBHOOK_',
      suffix: 'reason',
      kind: 'unavailable',
      meaning:
        'An alert was not delivered after every attempt; the reason is `HTTP_<status>`, `TIMEOUT`, `NETWORK` or a socket error code such as `ECONNREFUSED`.',
      remedy: 'Check the webhook URL and the chat service; the failed delivery is logged.',
    },
  ],
} as const satisfies ErrorAreaCatalogue;
