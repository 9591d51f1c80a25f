/**
 * The shared call budget (docs/store.md, "Shared call budget"): every worker of a deployment
 * leases a *slice* of one budget from the store — a number of calls of the UTC day and a whole
 * share of the calls per second — and spends it in memory, so no call costs a database round
 * trip. The store guarantees, in one transaction per lease:
 * - the slices' day calls never add up past the day's limit: calls granted to a slice stay
 *   *committed* until their worker returns them, so a worker that dies keeps its unspent calls
 *   counted (conservative: a restart or crash loop never re-grants a call that may have been spent);
 * - the slices' rates never add up past the shared rate: a rate a slice gives up (a smaller share,
 *   a release, an expiry) is re-granted only one window after its worker could last have used it;
 * - one adaptive rate and one Retry-After pause for every worker: a worker reports trouble with its
 *   next lease, and every later lease carries the cut.
 */

/** The configured ceilings of a budget. */
export interface BudgetLimits {
  /** Never more calls than this in any window of `windowMs` across all workers. */
  callsPerSecond: number;
  /** Calls per UTC day across all workers; null: unlimited. */
  callsPerDay: number | null;
  /** Engine calls per UTC day across all workers; null: unlimited. */
  engineCallsPerDay: number | null;
}

/** How the shared rate adapts (AIMD), applied by the store at each lease. */
export interface SharedAdaptiveRule {
  enabled: boolean;
  minCallsPerSecond: number;
  decreaseFactor: number;
  increasePerSecond: number;
  recoveryDelayMs: number;
  cooldownMs: number;
}

/** What a worker asks for, and what it gives back from its previous slice. */
export interface SliceLeaseRequest {
  /** `campaign`, or `dataverse:<application user>`. */
  budget: string;
  /** The worker's identity (host:pid:n). */
  owner: string;
  /** The UTC day of the new slice (`YYYY-MM-DD`). */
  day: string;
  limits: BudgetLimits;
  adaptive: SharedAdaptiveRule;
  /** Day calls and engine calls to add to the slice (0 when the worker is idle or holds enough). */
  wantCalls: number;
  wantEngineCalls: number;
  /**
   * What happened to the slice held so far: calls spent from it since the last lease (added to the
   * day's spent count) and calls the worker took out of it and gives back (returned to its day,
   * never more than the store knows the worker still holds). The store's slice becomes what it
   * held, less these, plus the new grant; a slice of another day is replaced by the grant.
   */
  previous?: {
    day: string;
    spentCalls: number;
    spentEngineCalls: number;
    returnedCalls: number;
    returnedEngineCalls: number;
  } | null;
  /** Trouble seen since the last lease (429, 5xx, transport failure, slow answer): cuts the shared rate. */
  trouble?: { at: number; reason: string } | null;
  /** A server's Retry-After seen since the last lease: every worker holds back until then. */
  pauseUntil?: number | null;
  /**
   * The worker runs on a clock of its own (a runtime on an injected test clock): it takes the whole
   * shared rate and holds none of it, so it neither waits on nor holds back workers on real time.
   * The day counts, the adaptive rate and the pause are shared all the same. @default false
   */
  wholeRate?: boolean;
  /** The slice's lease; the worker stops spending it at `expiresAt`. */
  leaseMs: number;
  /** The pacing window (1 s plus the jitter margin): how long a given-up rate stays held. */
  windowMs: number;
}

/** A budget's state for the day, as the store holds it. */
export interface BudgetDayState {
  budget: string;
  day: string;
  /** Calls granted to slices and not returned: spent, held by a live worker, or lost with a dead one. */
  callsCommitted: number;
  engineCallsCommitted: number;
  /** Calls the workers reported spent. */
  callsSpent: number;
  engineCallsSpent: number;
  /** The shared adaptive rate now in force, and the configured ceiling. */
  callsPerSecond: number;
  callsPerSecondLimit: number;
  rateCuts: number;
  lastCut: { at: number; reason: string } | null;
  pausedUntil: number | null;
  /** Workers holding an unexpired slice. */
  liveSlices: number;
}

/** A leased slice. */
export interface SliceLease {
  day: string;
  /** Day calls and engine calls added to the slice by this lease (null: the day is unlimited). */
  calls: number | null;
  engineCalls: number | null;
  /** This worker's share of the calls per second (a whole number, possibly 0). */
  callsPerSecond: number;
  leasedAt: number;
  expiresAt: number;
  /**
   * The day's calls (or engine calls) are all committed and no live worker holds any back that it
   * could return: nothing more can be granted before the next UTC day.
   */
  dayExhausted: boolean;
  state: BudgetDayState;
}

export interface BudgetStore {
  /** Return the previous slice and lease a new one, in one transaction. */
  lease(request: SliceLeaseRequest): Promise<SliceLease>;
  /**
   * Give the slice back (graceful stop): its unspent calls return to the day, its rate is
   * re-granted once the window has passed.
   */
  release(
    budget: string,
    owner: string,
    previous: NonNullable<SliceLeaseRequest['previous']>,
    windowMs: number,
  ): Promise<void>;
  /** The day's state of a budget (status pages), or null when no worker has leased that day. */
  day(budget: string, day: string): Promise<BudgetDayState | null>;
}
