/** Settings of the emulator's load model, changeable at run time through the admin API. */
export interface CampaignLoadSettings {
  /**
   * Calls per second (sliding one-second window) before the API answers 429. The real service has
   * no throttling (KA-16022), so this is off by default.
   * @default null (no limit)
   */
  callsPerSecond: number | null;
  /** `Retry-After` seconds sent with a 429; no header is documented for Campaign. @default null */
  retryAfterSec: number | null;
}

export const defaultLoadSettings: CampaignLoadSettings = { callsPerSecond: null, retryAfterSec: null };

/** Engine-call cost of writes: insert 1, delete 1, update 2 (1 when nothing changed). */
export const engineCallCost = { insert: 1, delete: 1, update: 2, unchangedUpdate: 1 } as const;
export type EngineCallKind = keyof typeof engineCallCost;

/** Request statistics the admin API reports. */
export interface CampaignStats {
  requests: number;
  byStatus: Record<string, number>;
  byOperation: Record<string, number>;
  throttled: number;
  faults: { errors: number; drops: number; hangs: number };
  engineCalls: { total: number; insert: number; update: number; unchangedUpdate: number; delete: number };
  engineCallsByDay: Record<string, number>;
  /** Most API calls admitted within any one-second sliding window. */
  maxCallsInAnySecond: number;
  tokensIssued: number;
}

function emptyStats(): CampaignStats {
  return {
    requests: 0,
    byStatus: {},
    byOperation: {},
    throttled: 0,
    faults: { errors: 0, drops: 0, hangs: 0 },
    engineCalls: { total: 0, insert: 0, update: 0, unchangedUpdate: 0, delete: 0 },
    engineCallsByDay: {},
    maxCallsInAnySecond: 0,
    tokensIssued: 0,
  };
}

/**
 * Counts calls and engine calls, and (when a limit is set) refuses calls beyond the configured
 * calls per second over a sliding window, as a throttling gateway would.
 */
export class CampaignLoadModel {
  private settings: CampaignLoadSettings;
  private readonly initialSettings: CampaignLoadSettings;
  private stats = emptyStats();
  /** Start times of admitted calls within the last second, oldest first. */
  private window: number[] = [];
  private windowHead = 0;

  /**
   * @param realNow wall time for the throttling window (a frozen emulated clock must not stall it)
   * @param emulatedNow emulated time, for the per-day engine-call counts
   */
  constructor(
    settings: Partial<CampaignLoadSettings>,
    private readonly realNow: () => number,
    private readonly emulatedNow: () => number,
  ) {
    this.settings = { ...defaultLoadSettings, ...settings };
    this.initialSettings = { ...this.settings };
  }

  configure(patch: Partial<CampaignLoadSettings>): CampaignLoadSettings {
    this.settings = { ...this.settings, ...patch };
    return this.current();
  }

  current(): CampaignLoadSettings {
    return { ...this.settings };
  }

  /** Admit an API call, or return the 429 to answer with. */
  admit(): { admitted: true } | { admitted: false; retryAfterSec: number | null } {
    const now = this.realNow();
    while (this.windowHead < this.window.length && this.window[this.windowHead]! <= now - 1000)
      this.windowHead++;
    if (this.windowHead > 4096) {
      this.window = this.window.slice(this.windowHead);
      this.windowHead = 0;
    }
    const inWindow = this.window.length - this.windowHead;
    const limit = this.settings.callsPerSecond;
    if (limit !== null && inWindow >= limit) {
      this.stats.throttled++;
      return { admitted: false, retryAfterSec: this.settings.retryAfterSec };
    }
    this.window.push(now);
    this.stats.maxCallsInAnySecond = Math.max(this.stats.maxCallsInAnySecond, inWindow + 1);
    return { admitted: true };
  }

  recordResponse(operation: string, status: number): void {
    this.stats.requests++;
    this.stats.byStatus[status] = (this.stats.byStatus[status] ?? 0) + 1;
    this.stats.byOperation[operation] = (this.stats.byOperation[operation] ?? 0) + 1;
  }

  recordFault(kind: 'errors' | 'drops' | 'hangs'): void {
    this.stats.faults[kind]++;
  }

  recordEngineCalls(kind: EngineCallKind): void {
    const cost = engineCallCost[kind];
    this.stats.engineCalls[kind] += 1;
    this.stats.engineCalls.total += cost;
    const day = new Date(this.emulatedNow()).toISOString().slice(0, 10);
    this.stats.engineCallsByDay[day] = (this.stats.engineCallsByDay[day] ?? 0) + cost;
  }

  recordTokenIssued(): void {
    this.stats.tokensIssued++;
  }

  snapshot(): CampaignStats {
    return structuredClone(this.stats);
  }

  /** Clear statistics and the throttling window; `settings` also restores the start settings. */
  reset(options: { settings?: boolean } = {}): void {
    if (options.settings) this.settings = { ...this.initialSettings };
    this.stats = emptyStats();
    this.window = [];
    this.windowHead = 0;
  }
}
