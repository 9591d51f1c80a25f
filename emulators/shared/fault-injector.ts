import { SeededRandom } from './seeded-random.js';

/**
 * Faults an emulator can inject into its API, set through its admin API. Each applies only to
 * requests whose path matches `pathPattern` (a RegExp source; default all API paths).
 */
export interface FaultSettings {
  /** Added latency per request, in ms. @default 0 */
  latencyMs: number;
  /** Extra random latency in [0, jitterMs]. @default 0 */
  latencyJitterMs: number;
  /** Share of requests answered with a 5xx error, 0..1. @default 0 */
  errorRate: number;
  /** Status used for injected errors. @default 503 */
  errorStatus: number;
  /** Answer the next N requests with an injected error, whatever `errorRate` says. @default 0 */
  errorNext: number;
  /** Share of requests whose connection is destroyed without an answer, 0..1. @default 0 */
  dropRate: number;
  /** Destroy the connection of the next N requests. @default 0 */
  dropNext: number;
  /** Share of requests that never get an answer (hung peer), 0..1. @default 0 */
  hangRate: number;
  /** Hang the next N requests. @default 0 */
  hangNext: number;
  /** Only requests whose path matches this RegExp source. @default '' (all) */
  pathPattern: string;
}

export const defaultFaultSettings: FaultSettings = {
  latencyMs: 0,
  latencyJitterMs: 0,
  errorRate: 0,
  errorStatus: 503,
  errorNext: 0,
  dropRate: 0,
  dropNext: 0,
  hangRate: 0,
  hangNext: 0,
  pathPattern: '',
};

/** The decision for one request. */
export type FaultDecision =
  | { kind: 'none'; delayMs: number }
  | { kind: 'error'; delayMs: number; status: number }
  | { kind: 'drop'; delayMs: number }
  | { kind: 'hang'; delayMs: number };

export class FaultInjector {
  private settings: FaultSettings = { ...defaultFaultSettings };
  private matcher: RegExp | null = null;
  private random: SeededRandom;

  constructor(seed = 1) {
    this.random = new SeededRandom(seed);
  }

  /** Merge new settings over the current ones; unknown keys are rejected by the caller's schema. */
  configure(patch: Partial<FaultSettings>): FaultSettings {
    this.settings = { ...this.settings, ...patch };
    this.matcher = this.settings.pathPattern ? new RegExp(this.settings.pathPattern) : null;
    return this.current();
  }

  reset(): void {
    this.settings = { ...defaultFaultSettings };
    this.matcher = null;
  }

  current(): FaultSettings {
    return { ...this.settings };
  }

  /** Decide what happens to a request for `path`. Consumes the `*Next` counters. */
  decide(path: string): FaultDecision {
    const s = this.settings;
    if (this.matcher && !this.matcher.test(path)) return { kind: 'none', delayMs: 0 };
    const delayMs = s.latencyMs + (s.latencyJitterMs > 0 ? this.random.int(0, s.latencyJitterMs) : 0);
    if (s.dropNext > 0) {
      s.dropNext--;
      return { kind: 'drop', delayMs };
    }
    if (s.hangNext > 0) {
      s.hangNext--;
      return { kind: 'hang', delayMs };
    }
    if (s.errorNext > 0) {
      s.errorNext--;
      return { kind: 'error', delayMs, status: s.errorStatus };
    }
    if (s.dropRate > 0 && this.random.chance(s.dropRate)) return { kind: 'drop', delayMs };
    if (s.hangRate > 0 && this.random.chance(s.hangRate)) return { kind: 'hang', delayMs };
    if (s.errorRate > 0 && this.random.chance(s.errorRate))
      return { kind: 'error', delayMs, status: s.errorStatus };
    return { kind: 'none', delayMs };
  }
}
