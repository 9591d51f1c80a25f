/** Small helpers the benchmarks share: waiting, and percentiles of measured samples. */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Nearest-rank percentile `p` (0–100) of ascending `sorted` samples; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** How long changes took to arrive (ms, rounded), and how many never did. */
export interface LatencySummary {
  changes: number;
  lost: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export function latencySummary(latenciesMs: readonly number[], lost: number): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    changes: sorted.length + lost,
    lost,
    p50Ms: Math.round(percentile(sorted, 50)),
    p90Ms: Math.round(percentile(sorted, 90)),
    p99Ms: Math.round(percentile(sorted, 99)),
    maxMs: Math.round(sorted.at(-1) ?? NaN),
    meanMs: Math.round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
  };
}
