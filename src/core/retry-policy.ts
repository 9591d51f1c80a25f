import { ConfigError } from './errors.js';

/** Retry and dead-letter behaviour as data (Temporal's RetryPolicy), resolved once. */
export interface RetryPolicyOptions {
  /** Delay before the first retry. @default 1000 */
  initialDelayMs?: number | undefined;
  /** Upper bound for any computed delay. @default 60000 */
  maxDelayMs?: number | undefined;
  /** Growth factor per attempt. @default 2 */
  multiplier?: number | undefined;
  /** Attempts (including the first) before an item becomes a dead letter. @default 10 */
  maxAttempts?: number | undefined;
  /** `full`: uniform in [0, delay]; `equal`: delay/2 + uniform in [0, delay/2]; `none`. @default 'full' */
  jitter?: 'full' | 'equal' | 'none' | undefined;
  /**
   * Throttling does not use up attempts; an item still throttled this long after its first
   * failure becomes a dead letter. @default 86400000 (24 h)
   */
  maxThrottledMs?: number | undefined;
}

export interface ResolvedRetryPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly maxAttempts: number;
  readonly jitter: 'full' | 'equal' | 'none';
  readonly maxThrottledMs: number;
}

/** Apply defaults and reject impossible bounds, naming the option at fault. */
export function resolveRetryPolicy(
  options: RetryPolicyOptions = {},
  path = 'engine.retry',
): ResolvedRetryPolicy {
  const policy: ResolvedRetryPolicy = Object.freeze({
    initialDelayMs: options.initialDelayMs ?? 1000,
    maxDelayMs: options.maxDelayMs ?? 60_000,
    multiplier: options.multiplier ?? 2,
    maxAttempts: options.maxAttempts ?? 10,
    jitter: options.jitter ?? 'full',
    maxThrottledMs: options.maxThrottledMs ?? 86_400_000,
  });
  const problems: string[] = [];
  if (!(policy.initialDelayMs > 0)) problems.push(`${path}.initialDelayMs must be > 0`);
  if (!(policy.maxDelayMs >= policy.initialDelayMs))
    problems.push(`${path}.maxDelayMs must be ≥ initialDelayMs (${policy.initialDelayMs})`);
  if (!(policy.multiplier >= 1)) problems.push(`${path}.multiplier must be ≥ 1`);
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1)
    problems.push(`${path}.maxAttempts must be an integer ≥ 1`);
  if (!(policy.maxThrottledMs > 0)) problems.push(`${path}.maxThrottledMs must be > 0`);
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return policy;
}

/**
 * Delay before retry number `attempt` (1 = the first retry). A server's `Retry-After` wins over
 * the computed delay (it is never shortened, only capped by nothing: the server knows best).
 */
export function computeRetryDelay(
  policy: ResolvedRetryPolicy,
  attempt: number,
  random: () => number = Math.random,
  retryAfterMs?: number,
): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return retryAfterMs;
  const exponent = Math.max(0, attempt - 1);
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** exponent);
  switch (policy.jitter) {
    case 'none':
      return base;
    case 'equal':
      return base / 2 + random() * (base / 2);
    case 'full':
      return random() * base;
  }
}

/** Whether an item that has been tried `attempts` times may be tried again. */
export function hasAttemptsLeft(policy: ResolvedRetryPolicy, attempts: number): boolean {
  return attempts < policy.maxAttempts;
}

/** What is known about a failed try of a work item. */
export interface FailedTry {
  /** Tries so far, this one included (throttled tries already given back are not counted). */
  attempts: number;
  retryable: boolean;
  /** The remote (a 429) or the call budget refused the call: not the record's fault. */
  throttled: boolean;
  /** How long the remote (or the budget) asked us to wait, when it said so. */
  retryAfterMs?: number | undefined;
  /** When the item first failed, or null when this is its first failure. */
  firstFailedAt: number | null;
  now: number;
}

/**
 * Retry times are whole milliseconds, rounded up (never earlier than the delay asks): the store
 * keeps them as 64-bit integers, and PostgreSQL refuses a fraction (jitter makes one).
 */
function wholeMs(at: number): number {
  return Math.ceil(at);
}

export type RetryDecision =
  /** Try again at `retryAt`; a throttled try gives its attempt back (`countsAttempt: false`). */
  | { retry: true; retryAt: number; countsAttempt: boolean }
  | { retry: false; reason: 'non-retryable' | 'attempts-exhausted' | 'throttled-too-long' };

/**
 * Retry or dead-letter a failed try. Throttling says "slow down", not "this record is bad": it
 * does not use up attempts, so a long 429 storm never turns healthy records into dead letters.
 * Throttled tries back off by how long the item has already been failing (at least half of it,
 * between `initialDelayMs` and `maxDelayMs`) unless the remote said how long to wait, and stop
 * after `maxThrottledMs`, so a permanent refusal still surfaces as dead letters.
 */
export function planRetry(
  policy: ResolvedRetryPolicy,
  failed: FailedTry,
  random: () => number = Math.random,
): RetryDecision {
  if (!failed.retryable) return { retry: false, reason: 'non-retryable' };
  if (failed.throttled) {
    const failingForMs = failed.firstFailedAt === null ? 0 : Math.max(0, failed.now - failed.firstFailedAt);
    if (failingForMs >= policy.maxThrottledMs) return { retry: false, reason: 'throttled-too-long' };
    const base = Math.min(policy.maxDelayMs, Math.max(policy.initialDelayMs, failingForMs));
    const delay =
      failed.retryAfterMs !== undefined && failed.retryAfterMs >= 0
        ? failed.retryAfterMs
        : base / 2 + random() * (base / 2);
    return { retry: true, retryAt: wholeMs(failed.now + delay), countsAttempt: false };
  }
  if (!hasAttemptsLeft(policy, failed.attempts)) return { retry: false, reason: 'attempts-exhausted' };
  return {
    retry: true,
    retryAt: wholeMs(failed.now + computeRetryDelay(policy, failed.attempts, random, failed.retryAfterMs)),
    countsAttempt: true,
  };
}
