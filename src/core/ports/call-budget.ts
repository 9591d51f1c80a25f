/** Live work (streaming changes, privacy steps) goes before bulk work (first load, replay). */
export const budgetLanes = ['live', 'bulk'] as const;
export type BudgetLane = (typeof budgetLanes)[number];

/**
 * How the target's call budget is being used (the Campaign call budget of I10): what status,
 * metrics, heartbeats and the health model read. The budget itself lives with its connector.
 */
export type CallBudgetUsage = {
  day: string;
  callsToday: number;
  callsPerDay: number | null;
  engineCallsToday: number;
  engineCallsPerDay: number | null;
  /** The adaptive rate now in force. */
  currentCallsPerSecond: number;
  callsPerSecondLimit: number;
  /** Calls started in the last second (plus the jitter margin). */
  callsInLastSecond: number;
  waiting: Record<BudgetLane, number>;
  /** Until when a server's Retry-After holds every call back (ms since epoch), or null. */
  pausedUntil: number | null;
  /** How often trouble cut the rate. */
  rateCuts: number;
  lastTrouble: { at: number; reason: string } | null;
  /**
   * Shared budget (several workers, docs/store.md): this worker's slice — day calls and engine
   * calls it still holds (null: unlimited), its share of the calls per second, until when.
   * Absent or null for a budget of its own.
   */
  slice?: {
    calls: number | null;
    engineCalls: number | null;
    callsPerSecond: number;
    expiresAt: number;
  } | null;
  /**
   * Shared budget: the deployment's day as the store holds it (`callsToday` above then counts every
   * call granted to a worker and not given back, this worker's unspent slice excepted).
   */
  shared?: {
    /** Calls the workers reported spent (this one's up to now). */
    callsSpent: number;
    /** Calls granted to slices and not given back (spent, held, or lost with a dead worker). */
    callsCommitted: number;
    /** Workers holding a live slice. */
    workers: number;
    /** No call can start before the next UTC day. */
    dayExhausted: boolean;
    /** The last lease failed (the store is unreachable): the worker spends what it holds. */
    lastLeaseError: string | null;
  };
};
