import { tlsTrust } from '../tls-trust.js';
import { Pool } from 'undici';
import { sleepOn } from '../../core/clock.js';
import { ConnectorError, RateLimitedError, SyncError } from '../../core/errors.js';
import { parseRetryAfter } from '../../core/retry-after.js';
import { computeRetryDelay, hasAttemptsLeft } from '../../core/retry-policy.js';
import {
  resolveDynamicsClientOptions,
  type DynamicsClientOptions,
  type ResolvedDynamicsClientOptions,
} from './dynamics-client-options.js';
import {
  dataversePlatformCodes,
  readErrorBody,
  toDynamicsError,
  toTransportError,
  type RequestDescription,
} from './dynamics-errors.js';
import { DynamicsTokenProvider, type AccessTokenSource } from './dynamics-token-provider.js';
import {
  ConcurrencyGate,
  ExecutionTimeWindow,
  RequestPacer,
  SlidingWindowCounter,
  type PacedAnswer,
} from './request-pacer.js';

export const httpMethods = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'] as const;
export type HttpMethod = (typeof httpMethods)[number];

/** One Web API call. */
export interface DynamicsRequest {
  method: HttpMethod;
  /**
   * Path below `/api/data/v9.2/` (e.g. `contacts(…)`, `EntityDefinitions(LogicalName='contact')`)
   * or an absolute URL on the same origin (next and delta links).
   */
  path: string;
  /** Query options, appended URL-encoded. */
  query?: Record<string, string>;
  /** Extra headers (`Prefer`, `If-Match`, …). */
  headers?: Record<string, string>;
  /** JSON body. */
  json?: unknown;
  /** Raw body with its own `content-type` header (for `$batch`). */
  rawBody?: string;
  /** Statuses handed back instead of thrown (e.g. 404 for a lookup, 304). */
  acceptStatuses?: readonly number[];
  /**
   * Whether the client may retry this call itself on 429, 5xx, timeouts and dropped connections.
   * @default true for GET, false otherwise (writes are retried by the engine, which knows whether
   * a write is safe to repeat)
   */
  retryable?: boolean;
  /** Table named in errors (delta expiry). */
  table?: string;
  /**
   * Operations the request carries (the parts of a `$batch`): its execution time is estimated
   * from them when it is paced to the execution-time limit. @default 1
   */
  operations?: number;
}

export interface DynamicsResponse<T = unknown> {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON for JSON answers, the text otherwise, undefined when empty. */
  body: T | undefined;
  /** Time from sending the request to its answer's end (ms, on the client's clock), without the wait for a pacing slot. */
  elapsedMs?: number;
}

/** Counters for tests, benchmarks and metrics. */
export interface DynamicsClientStats {
  /** HTTP requests sent to the Web API (attempts, including retries and 401 replays). */
  requests: number;
  /** Answers with 429. */
  throttled: number;
  /** The 429s by the service-protection limit their body names (`other`: no known code). */
  throttledBy: { requests: number; executionTime: number; concurrency: number; other: number };
  /** Retries made by the client (reads only). */
  retries: number;
  /** 401 answers that led to a token refresh and a replay. */
  unauthorizedReplays: number;
}

const baseHeaders = {
  accept: 'application/json',
  'odata-maxversion': '4.0',
  'odata-version': '4.0',
} as const;

/** Which service-protection limit a 429's body names. */
function throttleLimitOf(body: unknown): keyof DynamicsClientStats['throttledBy'] {
  switch (readErrorBody(body)?.code) {
    case dataversePlatformCodes.throttleRequests:
      return 'requests';
    case dataversePlatformCodes.throttleExecutionTime:
      return 'executionTime';
    case dataversePlatformCodes.throttleConcurrency:
      return 'concurrency';
    default:
      return 'other';
  }
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * The Dataverse Web API over an undici Pool: OData headers, bearer tokens (401 → refresh once and
 * replay), typed errors, Retry-After honoured for every later request, concurrency capped,
 * requests paced to the service-protection window and the daily budget, bounded retries of reads,
 * and a timeout on every request (a hung connection is aborted and reported as retryable).
 */
export class DynamicsWebApiClient {
  readonly options: ResolvedDynamicsClientOptions;
  private readonly pool: Pool;
  private readonly tokens: AccessTokenSource;
  private readonly gate: ConcurrencyGate;
  private readonly pacer: RequestPacer;
  private readonly execution: ExecutionTimeWindow;
  private readonly counters: DynamicsClientStats = {
    requests: 0,
    throttled: 0,
    throttledBy: { requests: 0, executionTime: 0, concurrency: 0, other: 0 },
    retries: 0,
    unauthorizedReplays: 0,
  };

  constructor(options: DynamicsClientOptions, deps: { tokens?: AccessTokenSource } = {}) {
    this.options = resolveDynamicsClientOptions(options);
    const o = this.options;
    this.pool = new Pool(o.origin, {
      connections: o.maxConcurrency,
      connect: tlsTrust(o.caCert || undefined),
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
    });
    this.tokens = deps.tokens ?? new DynamicsTokenProvider(o);
    this.gate = new ConcurrencyGate(o.maxConcurrency);
    // A little slack on the window covers clock granularity between us and the server.
    const slackMs = Math.max(20, o.requestWindowMs / 200);
    this.execution = new ExecutionTimeWindow(
      o.executionTimePerWindowMs,
      o.requestWindowMs + slackMs,
      o.executionTimeMarginShare,
    );
    const windows: (SlidingWindowCounter | ExecutionTimeWindow)[] = [
      new SlidingWindowCounter(o.requestsPerWindow, o.requestWindowMs + slackMs),
      this.execution,
    ];
    if (o.requestsPerDay !== undefined) windows.push(new SlidingWindowCounter(o.requestsPerDay, 86_400_000));
    this.pacer = new RequestPacer({ windows, clock: o.clock, maxWaitMs: o.maxPacingWaitMs });
  }

  /** The token source (for tests that count acquisitions). */
  get tokenSource(): AccessTokenSource {
    return this.tokens;
  }

  /** The execution-time window as the server's answers taught it (for an adaptive `$batch` size). */
  executionTime(): { pressure: number; operationMs: number; limitMs: number; marginMs: number } {
    const now = this.options.clock.now();
    return {
      pressure: this.execution.pressure(now),
      operationMs: this.execution.operationMs,
      limitMs: this.execution.limitMs,
      marginMs: this.execution.marginMs,
    };
  }

  stats(): DynamicsClientStats {
    return { ...this.counters, throttledBy: { ...this.counters.throttledBy } };
  }

  /** Resolve a path or absolute link to a URL, refusing other origins (links come from the server). */
  resolveUrl(path: string, query?: Record<string, string>): URL {
    const url = /^https?:\/\//i.test(path)
      ? new URL(path)
      : new URL(path.replace(/^\/+/, ''), this.options.apiBase);
    if (url.origin !== this.options.origin || !url.pathname.startsWith('/api/data/v9.2/')) {
      throw new ConnectorError(
        'dynamics',
        'DYNAMICS_UNSAFE_LINK',
        `Refusing to follow a link outside ${this.options.apiBase} (origin ${url.origin})`,
      );
    }
    for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value);
    return url;
  }

  /** Send one request; see {@link DynamicsRequest}. Throws typed errors for unaccepted statuses. */
  async request<T = unknown>(request: DynamicsRequest): Promise<DynamicsResponse<T>> {
    const url = this.resolveUrl(request.path, request.query);
    const description: RequestDescription = {
      method: request.method,
      resource: decodeURIComponent(url.pathname.slice('/api/data/v9.2/'.length)),
      table: request.table,
    };
    const retryable = request.retryable ?? request.method === 'GET';
    const policy = this.options.readRetry;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.send<T>(request, url, description);
      } catch (error) {
        if (!(error instanceof SyncError) || !error.retryable) throw error;
        if (!retryable || !hasAttemptsLeft(policy, attempt)) throw error;
        // Our own budget will not free up within this call; let the engine schedule the retry.
        if (error.code === 'DYNAMICS_BUDGET_EXHAUSTED') throw error;
        this.counters.retries++;
        // A 429 needs no backoff here: the pacer already holds every request until its Retry-After.
        if (!(error instanceof RateLimitedError))
          await sleepOn(this.options.clock, computeRetryDelay(policy, attempt));
      }
    }
  }

  private async send<T>(
    request: DynamicsRequest,
    url: URL,
    description: RequestDescription,
  ): Promise<DynamicsResponse<T>> {
    await this.gate.enter();
    try {
      let token = await this.tokens.getToken();
      for (let replay = 0; ; replay++) {
        const response = await this.sendOnce<T>(request, url, description, token);
        if (response.status !== 401 || replay > 0) return this.check(response, request, description);
        // A rejected token (expired early, revoked): refresh once and replay. Safe for writes too,
        // because the server refused the request before executing it.
        this.counters.unauthorizedReplays++;
        this.tokens.invalidate(token);
        token = await this.tokens.getToken();
      }
    } finally {
      this.gate.leave();
    }
  }

  private check<T>(
    response: DynamicsResponse<T>,
    request: DynamicsRequest,
    description: RequestDescription,
  ): DynamicsResponse<T> {
    if (response.status < 300 || request.acceptStatuses?.includes(response.status)) return response;
    const retryAfterMs = parseRetryAfter(response.headers['retry-after'], this.options.clock.now());
    if (response.status === 429) {
      this.counters.throttled++;
      this.counters.throttledBy[throttleLimitOf(response.body)]++;
      // Every limit (requests, execution time, concurrency) answers 429 with Retry-After: no request
      // of this client leaves before it is over.
      this.pacer.pauseUntil(this.options.clock.now() + (retryAfterMs ?? 1000));
      this.options.sharedGate?.throttled(retryAfterMs ?? 1000);
    } else if (response.status === 503 && retryAfterMs !== undefined) {
      this.pacer.pauseUntil(this.options.clock.now() + retryAfterMs);
    }
    throw toDynamicsError(response.status, response.body, description, retryAfterMs);
  }

  private async sendOnce<T>(
    request: DynamicsRequest,
    url: URL,
    description: RequestDescription,
    token: string,
  ): Promise<DynamicsResponse<T>> {
    await this.options.sharedGate?.acquire();
    const finished = await this.pacer.acquire(request.operations ?? 1);
    let answer: PacedAnswer = {};
    try {
      const response = await this.exchange<T>(request, url, description, token);
      const remaining = response.headers['x-ms-ratelimit-time-remaining-xrm-requests'];
      answer = {
        ...(remaining !== undefined ? { remainingMs: Number(remaining) } : {}),
        refused: response.status === 429,
      };
      return response;
    } finally {
      finished(answer);
    }
  }

  private async exchange<T>(
    request: DynamicsRequest,
    url: URL,
    description: RequestDescription,
    token: string,
  ): Promise<DynamicsResponse<T>> {
    const headers: Record<string, string> = {
      ...baseHeaders,
      authorization: `Bearer ${token}`,
      ...request.headers,
    };
    let body: string | undefined;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      headers['content-type'] = 'application/json';
    } else if (request.rawBody !== undefined) {
      body = request.rawBody;
    }
    this.counters.requests++;
    const sentAt = this.options.clock.now();
    let response;
    try {
      response = await this.pool.request({
        method: request.method,
        path: `${url.pathname}${url.search}`,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      const failure = toTransportError(error, description, this.options.timeoutMs);
      this.options.metrics?.record('dynamics', failure.code === 'DYNAMICS_TIMEOUT' ? 'timeout' : 'network');
      throw failure;
    }
    this.options.metrics?.record('dynamics', response.statusCode);
    const responseHeaders = flattenHeaders(response.headers);
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw toTransportError(error, description, this.options.timeoutMs);
    }
    let parsed: unknown;
    if (text !== '') {
      const type = responseHeaders['content-type'] ?? '';
      if (type.includes('json')) {
        try {
          parsed = JSON.parse(text);
        } catch (error) {
          throw new ConnectorError(
            'dynamics',
            'DYNAMICS_BAD_RESPONSE',
            `Dynamics ${description.method} ${description.resource} answered invalid JSON`,
            {
              status: response.statusCode,
              cause: error,
            },
          );
        }
      } else parsed = text;
    }
    return {
      status: response.statusCode,
      headers: responseHeaders,
      body: parsed as T | undefined,
      elapsedMs: this.options.clock.now() - sentAt,
    };
  }

  async close(): Promise<void> {
    await this.pool.close();
    await this.tokens.close();
  }
}
