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
}

export interface ResolvedRetryPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly maxAttempts: number;
  readonly jitter: 'full' | 'equal' | 'none';
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
  });
  const problems: string[] = [];
  if (!(policy.initialDelayMs > 0)) problems.push(`${path}.initialDelayMs must be > 0`);
  if (!(policy.maxDelayMs >= policy.initialDelayMs))
    problems.push(`${path}.maxDelayMs must be ≥ initialDelayMs (${policy.initialDelayMs})`);
  if (!(policy.multiplier >= 1)) problems.push(`${path}.multiplier must be ≥ 1`);
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1)
    problems.push(`${path}.maxAttempts must be an integer ≥ 1`);
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
