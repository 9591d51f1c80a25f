/** Mass-change breaker settings (config `engine.breaker`). */
export interface BreakerSettings {
  /** Largest share of synced records one run may delete or overwrite. @default 0.2 */
  maxShare: number;
  /** The breaker only guards flows with at least this many synced records. @default 1000 */
  minRecords: number;
}

export interface RunCounts {
  /** Records currently synced for the flow (key-map entries). */
  synced: number;
  /** Synced records the run would delete. */
  deletes: number;
  /** Synced records the run would overwrite. */
  overwrites: number;
}

/**
 * Decide whether a run changes too much at once. Returns a reason (counts and shares, no data)
 * when the breaker must trip, null otherwise.
 */
export function evaluateBreaker(settings: BreakerSettings, counts: RunCounts): string | null {
  if (counts.synced < settings.minRecords || settings.maxShare >= 1) return null;
  const limit = settings.maxShare * counts.synced;
  const pct = (n: number): string => `${((100 * n) / counts.synced).toFixed(1)} %`;
  if (counts.deletes > limit) {
    return `${counts.deletes} deletes of ${counts.synced} synced records (${pct(counts.deletes)}, limit ${(settings.maxShare * 100).toFixed(0)} %)`;
  }
  if (counts.overwrites > limit) {
    return `${counts.overwrites} overwrites of ${counts.synced} synced records (${pct(counts.overwrites)}, limit ${(settings.maxShare * 100).toFixed(0)} %)`;
  }
  return null;
}
