import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../../core/clock.js';
import type { RemoteErrorCode } from '../../core/error-catalogue.js';
import { ConnectorError, SyncError } from '../../core/errors.js';
import { parseRetryAfter } from '../../core/retry-after.js';
import type { CallMetrics, CallTarget } from '../../core/ports/call-metrics.js';
import type { WorkLane } from '../../core/ports/state-store.js';
import type { AdobeCallGate, CallKind } from './adobe-call-gate.js';
import { isInvalidTokenAnswer } from './adobe-error-body.js';
import { TransportFailure, type AdobeHttpTransport, type HttpAnswer } from './adobe-http-transport.js';
import type { ImsTokenProvider } from './ims-token-provider.js';

/** The codes of a caller's transport and token failures, by target. */
const callerCodes = {
  campaign: { timeout: 'CAMPAIGN_TIMEOUT', network: 'CAMPAIGN_NETWORK', auth: 'CAMPAIGN_AUTH' },
  privacy: { timeout: 'PRIVACY_TIMEOUT', network: 'PRIVACY_NETWORK', auth: 'PRIVACY_AUTH' },
  events: { timeout: 'EVENTS_TIMEOUT', network: 'EVENTS_NETWORK', auth: 'EVENTS_AUTH' },
} as const satisfies Record<string, Record<'timeout' | 'network' | 'auth', RemoteErrorCode>>;

export interface AdobeApiCallerOptions {
  /** `campaign`, `privacy` or `events`: the ConnectorError target, which also picks the error codes. */
  target: keyof typeof callerCodes;
  transport: AdobeHttpTransport;
  tokens: ImsTokenProvider;
  /** The client id, sent as `X-Api-Key`. */
  apiKey: string;
  /** Pacing gate; every attempt (replays included) passes it. @default none */
  gate?: AdobeCallGate | undefined;
  /**
   * Answers that say nothing about load, fed back to the gate as a 400 (Campaign reports
   * application errors such as a duplicate key as 500). @default none
   */
  isLoadNeutral?: ((answer: HttpAnswer) => boolean) | undefined;
  /** Per-call counts for `/metrics`. @default none */
  metrics?: CallMetrics | undefined;
  /** Headers sent on every call (e.g. `x-gw-ims-org-id`). */
  headers?: Record<string, string>;
  /** Reads `Retry-After` dates. @default systemClock */
  clock?: Clock;
}

/** One API call. */
export interface AdobeCall {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  kind: CallKind;
  lane?: WorkLane | undefined;
  signal?: AbortSignal | undefined;
  /** Names the call in error messages, e.g. `PATCH profile @Xy…` (ids only). */
  what: string;
}

/** An HTTP answer with its `Retry-After` read once, on the caller's clock, when it carries one. */
export interface AdobeAnswer extends HttpAnswer {
  retryAfterMs: number | undefined;
}

/**
 * Sends authenticated calls to an Adobe API: passes the call gate, adds the IMS bearer token and
 * API key, feeds the outcome back to the gate, and on `401013` drops the token, fetches a fresh
 * one and replays the call once. Any HTTP answer is returned for the caller to map; transport
 * failures become retryable `<TARGET>_TIMEOUT` / `<TARGET>_NETWORK` errors.
 */
export class AdobeApiCaller {
  private readonly clock: Clock;

  constructor(private readonly options: AdobeApiCallerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  async call(call: AdobeCall): Promise<AdobeAnswer> {
    const { target, gate } = this.options;
    for (let attempt = 0; ; attempt++) {
      await gate?.acquire(call.kind, {
        ...(call.lane === undefined ? {} : { lane: call.lane }),
        ...(call.signal === undefined ? {} : { signal: call.signal }),
      });
      const token = await this.token();
      // Latency is real elapsed time on the wire (it tells the gate the service is slow), not
      // the injected clock's.
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
        gate?.record({ failed: true, latencyMs: performance.now() - started });
        this.options.metrics?.record(
          this.metricsTarget(),
          error instanceof TransportFailure && error.kind === 'timeout' ? 'timeout' : 'network',
        );
        if (!(error instanceof TransportFailure)) throw error;
        const code = error.kind === 'timeout' ? callerCodes[target].timeout : callerCodes[target].network;
        throw new ConnectorError(target, code, `${target} ${call.what}: ${error.message}`, { cause: error });
      }
      this.options.metrics?.record(this.metricsTarget(), answer.status);
      const retryAfterMs = parseRetryAfter(answer.headers['retry-after'], this.clock.now());
      gate?.record({
        status: this.options.isLoadNeutral?.(answer) ? 400 : answer.status,
        latencyMs: performance.now() - started,
        ...(answer.status === 429 && retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
      if (attempt === 0 && isInvalidTokenAnswer(answer)) {
        this.options.tokens.invalidate(token);
        continue;
      }
      return { ...answer, retryAfterMs };
    }
  }

  private metricsTarget(): CallTarget {
    const targets = { campaign: 'campaign', privacy: 'privacy-service', events: 'adobe-events' } as const;
    return targets[this.options.target];
  }

  private async token(): Promise<string> {
    try {
      return await this.options.tokens.getToken();
    } catch (error) {
      // IMS unreachable or failing (IMS_TIMEOUT, IMS_HTTP_503…) is not a refused credential.
      if (!(error instanceof SyncError) || error.retryable) throw error;
      throw new ConnectorError(
        this.options.target,
        callerCodes[this.options.target].auth,
        `${this.options.target}: no IMS access token (${error.code})`,
        { cause: error },
      );
    }
  }
}
