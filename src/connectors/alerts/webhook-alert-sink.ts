import { Agent, request } from 'undici';
import { formatIso, sleepOn, systemClock, type Clock } from '../../core/clock.js';
import type { Alert, AlertSink, AlertState } from '../../core/ports/alert-sink.js';
import { ConnectorError } from '../../core/errors.js';
import { parseRetryAfter } from '../../core/retry-after.js';
import {
  computeRetryDelay,
  hasAttemptsLeft,
  resolveRetryPolicy,
  type ResolvedRetryPolicy,
} from '../../core/retry-policy.js';
import type { Redactor } from '../../logging/redactor.js';

export interface WebhookAlertSinkOptions {
  /** The webhook URL (a secret: it carries the token of the channel). Never logged. */
  url: string;
  /** Name for logs and errors, e.g. `webhook #1`. */
  name: string;
  /** Scrubs alert text once more before it leaves the process. */
  redactor: Redactor;
  /** Per attempt. @default 5000 */
  timeoutMs?: number;
  /** Attempts in all (1 = no retry). @default 3 */
  attempts?: number;
  /** First retry delay, doubled each time up to 30 s; a 429's Retry-After (≤ 30 s) wins. @default 1000 */
  retryDelayMs?: number;
  /** Reads Retry-After dates; the waits between attempts sleep on it. @default systemClock */
  clock?: Clock;
}

/** Longest wait between two attempts, computed or asked for by the receiver's Retry-After. */
const maxRetryWaitMs = 30_000;

const severityIcon: Readonly<Record<Alert['severity'], string>> = {
  critical: ':rotating_light:',
  warning: ':warning:',
  info: ':information_source:',
};

/** Slack mrkdwn needs only these three escaped. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The same alert for machines (PagerDuty, Opsgenie or a script behind a generic webhook): plain
 * text, not Slack markup. Slack ignores the field. Documented in docs/operations.md (webhook payload).
 */
export interface AlertPayloadFields {
  /** Version of this object's shape; a breaking change raises it. */
  version: 1;
  kind: string;
  state: AlertState;
  severity: Alert['severity'];
  subject: string;
  message: string;
  /** ISO 8601, UTC. */
  at: string;
  /** `kind:subject`: the same problem's firing, escalated and resolved alerts share it. */
  key: string;
}

/**
 * The Slack-compatible body: `text` for every consumer, `blocks` for Slack's layout, and `alert`,
 * the same facts as fields.
 */
export function formatSlackAlert(
  alert: Alert,
  redactor: Redactor,
): { text: string; blocks: unknown[]; alert: AlertPayloadFields } {
  const message = escapeMrkdwn(redactor.scrub(alert.message));
  const subject = escapeMrkdwn(redactor.scrub(alert.subject));
  const headline =
    alert.state === 'resolved'
      ? `:white_check_mark: *[RESOLVED] ${alert.kind}* — ${subject}`
      : `${severityIcon[alert.severity]} *[${alert.severity.toUpperCase()}] ${alert.kind}* — ${subject}`;
  return {
    text: `${headline}\n${message}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${headline}\n${message}` } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `dcsync · kind \`${alert.kind}\` · ${alert.state ?? 'firing'} · subject \`${subject}\` · ${formatIso(alert.at)}`,
          },
        ],
      },
    ],
    alert: {
      version: 1,
      kind: alert.kind,
      state: alert.state ?? 'firing',
      severity: alert.severity,
      subject: redactor.scrub(alert.subject),
      message: redactor.scrub(alert.message),
      at: formatIso(alert.at),
      key: `${alert.kind}:${redactor.scrub(alert.subject)}`,
    },
  };
}

/** Network failure code without the message (undici messages may quote the URL). */
function networkCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{2,60}$/.test(code)) return code;
  return error instanceof Error && error.name === 'TimeoutError' ? 'TIMEOUT' : 'NETWORK';
}

/**
 * Posts alerts to a Slack-compatible incoming webhook with a timeout and a bounded retry (network
 * failures, 429 and 5xx). Alert texts hold ids and counts only; they are scrubbed once more here.
 */
export class WebhookAlertSink implements AlertSink {
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly retry: ResolvedRetryPolicy;
  private readonly clock: Clock;

  constructor(private readonly options: WebhookAlertSinkOptions) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    const retryDelayMs = options.retryDelayMs ?? 1000;
    this.retry = resolveRetryPolicy(
      {
        initialDelayMs: retryDelayMs,
        maxDelayMs: Math.max(maxRetryWaitMs, retryDelayMs),
        multiplier: 2,
        jitter: 'none',
        maxAttempts: Math.max(1, options.attempts ?? 3),
      },
      `alerts: ${options.name}`,
    );
    this.clock = options.clock ?? systemClock;
    this.agent = new Agent({
      connect: { timeout: this.timeoutMs },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
  }

  async raise(alert: Alert): Promise<void> {
    const body = JSON.stringify(formatSlackAlert(alert, this.options.redactor));
    let failure = 'NETWORK';
    for (let attempt = 1; ; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const response = await request(this.options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          dispatcher: this.agent,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        await response.body.dump();
        const status = response.statusCode;
        if (status >= 200 && status < 300) return;
        failure = `HTTP_${status}`;
        if (status !== 429 && status < 500) break;
        const asked =
          status === 429 ? parseRetryAfter(response.headers['retry-after'], this.clock.now()) : undefined;
        if (asked !== undefined) retryAfterMs = Math.min(maxRetryWaitMs, asked);
      } catch (error) {
        failure = networkCode(error);
      }
      if (!hasAttemptsLeft(this.retry, attempt)) break;
      await sleepOn(this.clock, computeRetryDelay(this.retry, attempt, Math.random, retryAfterMs));
    }
    throw new ConnectorError(
      'alert-webhook',
      `ALERT_WEBHOOK_${failure}`,
      `alert ${alert.kind} for ${alert.subject} not delivered to ${this.options.name} (${failure})`,
    );
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
