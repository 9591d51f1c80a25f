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
};
