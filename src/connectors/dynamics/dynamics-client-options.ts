import { systemClock, type Clock } from '../../core/clock.js';
import { ConfigError } from '../../core/errors.js';
import { resolveRetryPolicy, type ResolvedRetryPolicy } from '../../core/retry-policy.js';
import { ClientSecretCredential, type DynamicsCredential } from './dynamics-credential.js';
import type { CallMetrics } from '../../core/ports/call-metrics.js';

/**
 * How to reach one Dataverse environment. The config loader maps the YAML (with secrets resolved
 * from the environment) into this plain object.
 */
export interface DynamicsClientOptions {
  /** Org URL, e.g. `https://contoso.crm4.dynamics.com` (no `/api/data/…`). */
  url: string;
  /** Entra ID host. @default 'https://login.microsoftonline.com' */
  authorityHost?: string;
  /** Directory (tenant) id or domain. */
  tenantId: string;
  /** Application (client) id of the app registration. */
  clientId: string;
  /** Client secret; give this or `credential`. */
  clientSecret?: string;
  /** Any other credential (room for certificates); wins over `clientSecret`. */
  credential?: DynamicsCredential;
  /** Extra CA certificate (PEM contents) trusted for this connection only, on top of the system CAs. */
  caCert?: string;
  /** Requests in flight at once. @default 4 */
  maxConcurrency?: number;
  /** Requests allowed per sliding window (service protection: 6,000 per 5 minutes). @default 6000 */
  requestsPer5Min?: number;
  /** Length of that window in ms; scaled down in tests. @default 300000 */
  requestWindowMs?: number;
  /**
   * Combined execution time allowed per window (service protection: 20 minutes per 5 minutes),
   * paced from the answers' `x-ms-ratelimit-time-remaining-xrm-requests`. @default 1200000
   */
  executionTimePerWindowMs?: number;
  /**
   * Share of the execution time kept free for what the learnt per-operation cost cannot know (the
   * cost of one batch varies), between 0 and 0.5. @default 0.01
   */
  executionTimeMarginShare?: number;
  /** Requests allowed per 24 hours (entitlement budget); undefined = not paced. */
  requestsPerDay?: number;
  /** Per-request timeout (headers and body), in ms. @default 30000 */
  timeoutMs?: number;
  /**
   * Attempts for reads on 429, 5xx, timeouts and dropped connections; between them the client
   * backs off by {@link readRetryPolicy} (a 429 waits for its Retry-After instead). @default 5
   */
  maxReadAttempts?: number;
  /** Longest the client waits for a pacing slot before failing with a RateLimitedError. @default 120000 */
  maxPacingWaitMs?: number;
  /**
   * Time source for token expiry, pacing and `Retry-After` dates; the client's waits (pacing,
   * backoff) sleep on it. @default systemClock
   */
  clock?: Clock;
  /** Per-call counts for `/metrics`. @default none */
  metrics?: CallMetrics;
  /**
   * A gate every request passes before the client's own pacing: the application user's request
   * budget shared by every worker of the deployment (docs/store.md, "Shared call budget"); it
   * hears each 429 so its Retry-After holds back every worker. @default none (this process only)
   */
  sharedGate?: DynamicsRequestGate;
}

/** A request gate shared across processes (see {@link DynamicsClientOptions.sharedGate}). */
export interface DynamicsRequestGate {
  /** Wait until a request may be sent; rejects with a RateLimitedError when it cannot be soon. */
  acquire(): Promise<void>;
  /** The server throttled: `retryAfterMs` holds back every request of every worker. */
  throttled(retryAfterMs: number): void;
}

export interface ResolvedDynamicsClientOptions {
  /** Origin of the org URL, e.g. `https://contoso.crm4.dynamics.com`. */
  origin: string;
  /** `${origin}/api/data/v9.2/`. */
  apiBase: string;
  authorityHost: string;
  tenantId: string;
  clientId: string;
  credential: DynamicsCredential;
  caCert: string | undefined;
  maxConcurrency: number;
  requestsPerWindow: number;
  requestWindowMs: number;
  executionTimePerWindowMs: number;
  executionTimeMarginShare: number;
  requestsPerDay: number | undefined;
  timeoutMs: number;
  maxReadAttempts: number;
  /** Backoff between read attempts after a 5xx or a transport fault. */
  readRetry: ResolvedRetryPolicy;
  maxPacingWaitMs: number;
  clock: Clock;
  metrics: CallMetrics | undefined;
  sharedGate: DynamicsRequestGate | undefined;
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved <= 0) {
    throw new ConfigError(`dynamics.${name} must be a positive integer`);
  }
  return resolved;
}

function shareOption(value: number | undefined, fallback: number, max: number, name: string): number {
  const resolved = value ?? fallback;
  if (!Number.isFinite(resolved) || resolved < 0 || resolved > max) {
    throw new ConfigError(`dynamics.${name} must be a number from 0 to ${max}`);
  }
  return resolved;
}

/**
 * Backoff between read attempts: 0.5 s doubling up to 30 s, equal jitter (at least half of each
 * step, so retries of many readers spread without coming back at once).
 */
export function readRetryPolicy(maxReadAttempts: number): ResolvedRetryPolicy {
  return resolveRetryPolicy(
    { initialDelayMs: 500, maxDelayMs: 30_000, multiplier: 2, jitter: 'equal', maxAttempts: maxReadAttempts },
    'dynamics',
  );
}

/** Apply defaults and check bounds once; errors name the option, never its value. */
export function resolveDynamicsClientOptions(options: DynamicsClientOptions): ResolvedDynamicsClientOptions {
  let origin: string;
  try {
    const url = new URL(options.url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
    origin = url.origin;
  } catch {
    throw new ConfigError(
      'dynamics.url must be an absolute https URL of the environment, e.g. https://contoso.crm4.dynamics.com',
    );
  }
  const authorityHost = (options.authorityHost ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+$/.test(authorityHost)) {
    throw new ConfigError(
      'dynamics.authorityHost must be a scheme and host, e.g. https://login.microsoftonline.com',
    );
  }
  if (!options.tenantId) throw new ConfigError('dynamics.tenantId is required');
  if (!options.clientId) throw new ConfigError('dynamics.clientId is required');
  let credential = options.credential;
  if (!credential) {
    if (!options.clientSecret)
      throw new ConfigError('dynamics.clientSecret (or another credential) is required');
    credential = new ClientSecretCredential(options.clientSecret);
  }
  const requestsPerDay =
    options.requestsPerDay === undefined
      ? undefined
      : positiveInteger(options.requestsPerDay, 1, 'requestsPerDay');
  const maxReadAttempts = positiveInteger(options.maxReadAttempts, 5, 'maxReadAttempts');
  return {
    origin,
    apiBase: `${origin}/api/data/v9.2/`,
    authorityHost,
    tenantId: options.tenantId,
    clientId: options.clientId,
    credential,
    caCert: options.caCert,
    maxConcurrency: positiveInteger(options.maxConcurrency, 4, 'maxConcurrency'),
    requestsPerWindow: positiveInteger(options.requestsPer5Min, 6000, 'requestsPer5Min'),
    requestWindowMs: positiveInteger(options.requestWindowMs, 300_000, 'requestWindowMs'),
    executionTimePerWindowMs: positiveInteger(
      options.executionTimePerWindowMs,
      1_200_000,
      'executionTimePerWindowMs',
    ),
    executionTimeMarginShare: shareOption(
      options.executionTimeMarginShare,
      0.01,
      0.5,
      'executionTimeMarginShare',
    ),
    requestsPerDay,
    timeoutMs: positiveInteger(options.timeoutMs, 30_000, 'timeoutMs'),
    maxReadAttempts,
    readRetry: readRetryPolicy(maxReadAttempts),
    maxPacingWaitMs: positiveInteger(options.maxPacingWaitMs, 120_000, 'maxPacingWaitMs'),
    clock: options.clock ?? systemClock,
    metrics: options.metrics,
    sharedGate: options.sharedGate,
  };
}
