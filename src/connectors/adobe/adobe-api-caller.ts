import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../../core/clock.js';
import { ConnectorError, SyncError } from '../../core/errors.js';
import { AdobeHttpTransport, TransportFailure, type HttpAnswer } from './adobe-http-transport.js';
import type { BudgetLane, CallBudget, CallKind } from '../campaign/call-budget.js';
import { isInvalidTokenAnswer, parseRetryAfter } from '../campaign/campaign-error.js';
import { ImsTokenProvider } from './ims-token-provider.js';
import type { CallMetrics, CallTarget } from '../../core/ports/call-metrics.js';

/** A 5xx whose body carries a Campaign application error code rather than a server fault. */
function isApplicationError(answer: HttpAnswer): boolean {
  return answer.status === 500 && /\b(RST|XTK|PGS)-\d{4,}/.test(answer.text);
}

export interface AdobeApiCallerOptions {
  /** `campaign` or `privacy`: the ConnectorError target. */
  target: string;
  /** Prefix of error codes: `CAMPAIGN` or `PRIVACY`. */
  codePrefix: string;
  transport: AdobeHttpTransport;
  tokens: ImsTokenProvider;
  /** The client id, sent as `X-Api-Key`. */
  apiKey: string;
  /** Pacing gate; every attempt (replays included) passes it. @default none */
  budget?: CallBudget | undefined;
  /** Per-call counts for `/metrics`. @default none */
  metrics?: CallMetrics | undefined;
  /** Headers sent on every call (e.g. `x-gw-ims-org-id`). */
  headers?: Record<string, string>;
  clock?: Clock;
}

/** One API call. */
export interface AdobeCall {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  kind: CallKind;
  lane?: BudgetLane | undefined;
  signal?: AbortSignal | undefined;
  /** Names the call in error messages, e.g. `PATCH profile @Xy…` (ids only). */
  what: string;
}

/**
 * Sends authenticated calls to an Adobe API: passes the call budget, adds the IMS bearer token and
 * API key, feeds the outcome back to the budget, and on `401013` drops the token, fetches a fresh
 * one and replays the call once. Any HTTP answer is returned for the caller to map; transport
 * failures become retryable `<PREFIX>_TIMEOUT` / `<PREFIX>_NETWORK` errors.
 */
export class AdobeApiCaller {
  private readonly clock: Clock;

  constructor(private readonly options: AdobeApiCallerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  async call(call: AdobeCall): Promise<HttpAnswer> {
    const { target, codePrefix } = this.options;
    for (let attempt = 0; ; attempt++) {
      await this.options.budget?.acquire(call.kind, {
        ...(call.lane === undefined ? {} : { lane: call.lane }),
        ...(call.signal === undefined ? {} : { signal: call.signal }),
      });
      const token = await this.token();
      const started = performance.now();
      let answer: HttpAnswer;
      try {
        answer = await this.options.transport.send({
          method: call.method,
          url: call.url,
          headers: {
            authorization: `Bearer ${token}`,
            'x-api-key': this.options.apiKey,
            'cache-control': 'no-cache',
            accept: 'application/json',
            ...(call.body === undefined ? {} : { 'content-type': 'application/json;charset=utf-8' }),
            ...this.options.headers,
          },
          ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
          ...(call.signal === undefined ? {} : { signal: call.signal }),
        });
      } catch (error) {
        this.options.budget?.record({ failed: true, latencyMs: performance.now() - started });
        this.options.metrics?.record(
          this.metricsTarget(),
          error instanceof TransportFailure && error.kind === 'timeout' ? 'timeout' : 'network',
        );
        if (!(error instanceof TransportFailure)) throw error;
        const code = error.kind === 'timeout' ? `${codePrefix}_TIMEOUT` : `${codePrefix}_NETWORK`;
        throw new ConnectorError(target, code, `${target} ${call.what}: ${error.message}`, {
          retryable: true,
          cause: error,
        });
      }
      this.options.metrics?.record(this.metricsTarget(), answer.status);
      const retryAfterMs =
        answer.status === 429 ? parseRetryAfter(answer.headers['retry-after'], this.clock.now()) : undefined;
      this.options.budget?.record({
        // Campaign reports application errors (duplicate key, invalid value: RST-/XTK-/PGS- codes)
        // as 500; they say nothing about load, so they must not slow the budget down.
        status: isApplicationError(answer) ? 400 : answer.status,
        latencyMs: performance.now() - started,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
      if (attempt === 0 && isInvalidTokenAnswer(answer)) {
        this.options.tokens.invalidate(token);
        continue;
      }
      return answer;
    }
  }

  private metricsTarget(): CallTarget {
    return this.options.target === 'campaign' ? 'campaign' : 'privacy-service';
  }

  private async token(): Promise<string> {
    try {
      return await this.options.tokens.getToken();
    } catch (error) {
      const retryable = error instanceof SyncError ? error.retryable : true;
      throw new ConnectorError(
        this.options.target,
        `${this.options.codePrefix}_AUTH`,
        `${this.options.target}: no IMS access token (${error instanceof SyncError ? error.code : 'unexpected error'})`,
        {
          retryable,
          cause: error,
        },
      );
    }
  }
}

/** What {@link openAdobeConnection} needs: the credential, the transport settings and the caller's identity. */
export interface AdobeConnectionOptions {
  target: string;
  codePrefix: string;
  /** @default 'https://ims-na1.adobelogin.com' */
  imsUrl?: string | undefined;
  clientId: string;
  clientSecret: string;
  scope?: string | undefined;
  /** PEM of a CA trusted for these connections only. */
  caCert?: string | undefined;
  /** A token provider shared with another client (not closed by this connection). */
  tokens?: ImsTokenProvider | undefined;
  /** @default 30_000 */
  timeoutMs?: number | undefined;
  /** @default 32 */
  connections?: number | undefined;
  budget?: CallBudget | undefined;
  /** Per-call counts for `/metrics`. */
  metrics?: CallMetrics | undefined;
  headers?: Record<string, string>;
  clock?: Clock | undefined;
}

/** A transport, a token provider (own or shared) and the caller over them. */
export interface AdobeConnection {
  caller: AdobeApiCaller;
  close(): Promise<void>;
}

/** Build the HTTP transport, the IMS token provider (unless shared) and the authenticated caller. */
export function openAdobeConnection(options: AdobeConnectionOptions): AdobeConnection {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const transport = new AdobeHttpTransport({
    caCert: options.caCert,
    timeoutMs,
    connections: options.connections ?? 32,
  });
  const clock = options.clock === undefined ? {} : { clock: options.clock };
  const tokens =
    options.tokens ??
    new ImsTokenProvider({
      imsUrl: options.imsUrl ?? 'https://ims-na1.adobelogin.com',
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      scope: options.scope,
      transport,
      timeoutMs,
      ...clock,
    });
  const caller = new AdobeApiCaller({
    target: options.target,
    codePrefix: options.codePrefix,
    transport,
    tokens,
    apiKey: options.clientId,
    budget: options.budget,
    metrics: options.metrics,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    ...clock,
  });
  return {
    caller,
    close: async () => {
      if (options.tokens === undefined) await tokens.close();
      await transport.close();
    },
  };
}
