import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../../core/clock.js';
import { ConnectorError, SyncError } from '../../core/errors.js';
import type { AdobeHttpTransport, HttpAnswer } from './adobe-http-transport.js';
import { TransportFailure } from './adobe-http-transport.js';
import type { BudgetLane, CallBudget, CallKind } from './call-budget.js';
import { isInvalidTokenAnswer, parseRetryAfter } from './campaign-error.js';
import type { ImsTokenProvider } from './ims-token-provider.js';

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
        if (!(error instanceof TransportFailure)) throw error;
        const code = error.kind === 'timeout' ? `${codePrefix}_TIMEOUT` : `${codePrefix}_NETWORK`;
        throw new ConnectorError(target, code, `${target} ${call.what}: ${error.message}`, {
          retryable: true,
          cause: error,
        });
      }
      const retryAfterMs =
        answer.status === 429 ? parseRetryAfter(answer.headers['retry-after'], this.clock.now()) : undefined;
      this.options.budget?.record({
        status: answer.status,
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
