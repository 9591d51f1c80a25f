import { StoreError } from '../../core/errors.js';
import type {
  BudgetDayState,
  BudgetStore,
  SliceLease,
  SliceLeaseRequest,
} from '../../core/ports/budget-store.js';
import type { SqlExecutor, SqlTransaction } from './sql-driver.js';
import type { SqlStoreContext } from './sql-store-context.js';
import { requireText } from './staged-change-input.js';

type StateRow = {
  limit_milli: string | number;
  rate_milli: string | number;
  grown_at: string | number;
  cut_at: string | number | null;
  cut_reason: string | null;
  cuts: string | number;
  paused_until: string | number;
};

type DayRow = {
  calls_committed: string | number;
  engine_calls_committed: string | number;
  calls_spent: string | number;
  engine_calls_spent: string | number;
};

type SliceRow = {
  owner: string;
  day: string;
  calls: string | number;
  engine_calls: string | number;
  rate_milli: string | number;
  held_rate_milli: string | number;
  held_until: string | number;
  expires_at: string | number;
};

const milli = (callsPerSecond: number): number => Math.round(callsPerSecond * 1000);

/**
 * The shared call budget in `budget_state`, `budget_days` and `budget_slices` (one SQL for both
 * dialects). Every lease of a budget locks its `budget_state` row, so leases of one budget are
 * serialised and each sees every other worker's slice.
 */
export class SqlBudgetStore implements BudgetStore {
  /**
   * @param options.shareRate Split the rate between the workers (PostgreSQL: several processes).
   *   On SQLite the store has one process, which takes the whole shared rate, so runtimes on
   *   different clocks in one process (tests, a command beside the service) never wait on each
   *   other's slices; the day counts, the adaptive rate and the pause are shared all the same.
   *   @default true
   */
  constructor(
    private readonly ctx: SqlStoreContext,
    private readonly options: { shareRate?: boolean } = {},
  ) {}

  lease(request: SliceLeaseRequest): Promise<SliceLease> {
    checkRequest(request);
    return this.ctx.driver.transaction('budget lease', async (tx) => {
      const now = this.ctx.clock.now();
      let state = await lockState(tx, request.budget, request.limits.callsPerSecond, now);
      state = adapt(state, request, now);
      await tx.run(
        'UPDATE budget_state SET limit_milli = ?, rate_milli = ?, grown_at = ?, cut_at = ?, cut_reason = ?, ' +
          'cuts = ?, paused_until = ? WHERE budget = ?',
        [
          state.limitMilli,
          state.rateMilli,
          state.grownAt,
          state.cutAt,
          state.cutReason,
          state.cuts,
          state.pausedUntil,
          request.budget,
        ],
      );
      const slices = await tx.all<SliceRow>(
        'SELECT owner, day, calls, engine_calls, rate_milli, held_rate_milli, held_until, expires_at ' +
          'FROM budget_slices WHERE budget = ?',
        [request.budget],
      );
      const own = slices.find((s) => s.owner === request.owner) ?? null;
      const kept = request.previous
        ? await giveBack(tx, request.budget, own, request.previous)
        : { calls: 0, engineCalls: 0 };
      const keptDay = request.previous?.day === request.day;

      // The rate: a whole share, never more than what the others leave of the shared rate.
      let othersHeld = 0;
      let liveOthers = 0;
      for (const slice of slices) {
        if (slice.owner === request.owner) continue;
        const held = heldRateMilli(slice, now, request.windowMs);
        othersHeld += held;
        if (Number(slice.expires_at) > now) liveOthers++;
      }
      const rate = state.rateMilli / 1000;
      const fair = Math.max(1, Math.floor(rate / (liveOthers + 1)));
      const share =
        this.options.shareRate === false || request.wholeRate === true
          ? Math.floor(rate)
          : Math.max(0, Math.min(fair, Math.floor((state.rateMilli - othersHeld) / 1000)));
      // A worker on a clock of its own holds none of the rate (see `wholeRate`).
      const shareMilli = request.wholeRate === true ? 0 : share * 1000;
      // A rate given up stays held for one window: this worker may have started calls at it.
      const given = own ? givenUp(own, shareMilli, now, request.windowMs) : { milli: 0, until: now };

      // The day: grant what the limit leaves, counting every unreturned call as committed.
      await tx.run(
        'INSERT INTO budget_days (budget, day) VALUES (?, ?) ON CONFLICT (budget, day) DO NOTHING',
        [request.budget, request.day],
      );
      const dayRow = await readDay(tx, request.budget, request.day, tx.forUpdate);
      const committed = Number(dayRow.calls_committed);
      const engineCommitted = Number(dayRow.engine_calls_committed);
      const { callsPerDay, engineCallsPerDay } = request.limits;
      const calls =
        callsPerDay === null ? 0 : Math.max(0, Math.min(request.wantCalls, callsPerDay - committed));
      const engineCalls =
        engineCallsPerDay === null
          ? 0
          : Math.max(0, Math.min(request.wantEngineCalls, engineCallsPerDay - engineCommitted));
      await tx.run(
        'UPDATE budget_days SET calls_committed = calls_committed + ?, ' +
          'engine_calls_committed = engine_calls_committed + ? WHERE budget = ? AND day = ?',
        [calls, engineCalls, request.budget, request.day],
      );
      const expiresAt = now + request.leaseMs;
      await tx.run(
        'INSERT INTO budget_slices (budget, owner, day, calls, engine_calls, rate_milli, held_rate_milli, ' +
          'held_until, leased_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT (budget, owner) DO UPDATE SET day = excluded.day, calls = excluded.calls, ' +
          'engine_calls = excluded.engine_calls, rate_milli = excluded.rate_milli, ' +
          'held_rate_milli = excluded.held_rate_milli, held_until = excluded.held_until, ' +
          'leased_at = excluded.leased_at, expires_at = excluded.expires_at',
        [
          request.budget,
          request.owner,
          request.day,
          (keptDay ? kept.calls : 0) + calls,
          (keptDay ? kept.engineCalls : 0) + engineCalls,
          shareMilli,
          given.milli,
          given.until,
          now,
          expiresAt,
        ],
      );
      // Slices whose rate nobody can be using any more and that hold nothing: forget them.
      await tx.run(
        'DELETE FROM budget_slices WHERE budget = ? AND owner <> ? AND expires_at + ? <= ? AND held_until <= ?',
        [request.budget, request.owner, request.windowMs, now, now],
      );
      // Calls others hold back (live slices of the day) may still come back to the day.
      let othersHolding = 0;
      for (const slice of slices)
        if (slice.owner !== request.owner && slice.day === request.day && Number(slice.expires_at) > now)
          othersHolding += Number(slice.calls) + Number(slice.engine_calls);
      const callsLeft = callsPerDay === null ? Infinity : callsPerDay - committed - calls;
      const engineLeft =
        engineCallsPerDay === null ? Infinity : engineCallsPerDay - engineCommitted - engineCalls;
      // Spent: nothing left to grant, nothing this worker holds, nothing another may give back. An
      // idle worker (it wants nothing now) is told so too: status shows the day spent on every one.
      const holdsCalls = (keptDay ? kept.calls : 0) + calls;
      const holdsEngineCalls = (keptDay ? kept.engineCalls : 0) + engineCalls;
      const dayExhausted =
        othersHolding === 0 &&
        ((callsLeft <= 0 && holdsCalls === 0) || (engineLeft <= 0 && holdsEngineCalls === 0));
      return {
        day: request.day,
        calls: callsPerDay === null ? null : calls,
        engineCalls: engineCallsPerDay === null ? null : engineCalls,
        callsPerSecond: share,
        leasedAt: now,
        expiresAt,
        dayExhausted,
        state: dayState(
          request.budget,
          request.day,
          state,
          {
            calls_committed: committed + calls,
            engine_calls_committed: engineCommitted + engineCalls,
            calls_spent: dayRow.calls_spent,
            engine_calls_spent: dayRow.engine_calls_spent,
          },
          liveOthers + 1,
          now,
        ),
      };
    });
  }

  release(
    budget: string,
    owner: string,
    previous: NonNullable<SliceLeaseRequest['previous']>,
    windowMs: number,
  ): Promise<void> {
    requireText(budget, 'budget name');
    requireText(owner, `budget ${budget}: owner`);
    return this.ctx.driver.transaction('budget release', async (tx) => {
      const now = this.ctx.clock.now();
      await tx.all(`SELECT budget FROM budget_state WHERE budget = ? ${tx.forUpdate}`, [budget]);
      const [own] = await tx.all<SliceRow>(
        'SELECT owner, day, calls, engine_calls, rate_milli, held_rate_milli, held_until, expires_at ' +
          'FROM budget_slices WHERE budget = ? AND owner = ?',
        [budget, owner],
      );
      if (!own) return;
      await giveBack(tx, budget, own, previous);
      // The rate stays held for one window after now (calls may have started just before).
      const held = heldRateMilli(own, now, windowMs);
      await tx.run(
        'UPDATE budget_slices SET calls = 0, engine_calls = 0, rate_milli = 0, held_rate_milli = ?, ' +
          'held_until = ?, expires_at = ? WHERE budget = ? AND owner = ?',
        [held, now + windowMs, now, budget, owner],
      );
    });
  }

  async day(budget: string, day: string): Promise<BudgetDayState | null> {
    const now = this.ctx.clock.now();
    const [stateRow] = await this.ctx.driver.all<StateRow>(
      'SELECT limit_milli, rate_milli, grown_at, cut_at, cut_reason, cuts, paused_until FROM budget_state WHERE budget = ?',
      [budget],
    );
    if (!stateRow) return null;
    const [dayRow] = await this.ctx.driver.all<DayRow>(
      'SELECT calls_committed, engine_calls_committed, calls_spent, engine_calls_spent FROM budget_days ' +
        'WHERE budget = ? AND day = ?',
      [budget, day],
    );
    const [live] = await this.ctx.driver.all<{ n: string | number }>(
      'SELECT COUNT(*) AS n FROM budget_slices WHERE budget = ? AND expires_at > ?',
      [budget, now],
    );
    return dayState(
      budget,
      day,
      toState(stateRow),
      dayRow ?? { calls_committed: 0, engine_calls_committed: 0, calls_spent: 0, engine_calls_spent: 0 },
      Number(live?.n ?? 0),
      now,
    );
  }
}

interface SharedState {
  limitMilli: number;
  rateMilli: number;
  grownAt: number;
  cutAt: number | null;
  cutReason: string | null;
  cuts: number;
  pausedUntil: number;
}

function toState(row: StateRow): SharedState {
  return {
    limitMilli: Number(row.limit_milli),
    rateMilli: Number(row.rate_milli),
    grownAt: Number(row.grown_at),
    cutAt: row.cut_at === null ? null : Number(row.cut_at),
    cutReason: row.cut_reason,
    cuts: Number(row.cuts),
    pausedUntil: Number(row.paused_until),
  };
}

async function lockState(
  tx: SqlTransaction,
  budget: string,
  callsPerSecond: number,
  now: number,
): Promise<SharedState> {
  await tx.run(
    'INSERT INTO budget_state (budget, limit_milli, rate_milli, grown_at) VALUES (?, ?, ?, ?) ' +
      'ON CONFLICT (budget) DO NOTHING',
    [budget, milli(callsPerSecond), milli(callsPerSecond), now],
  );
  const [row] = await tx.all<StateRow>(
    'SELECT limit_milli, rate_milli, grown_at, cut_at, cut_reason, cuts, paused_until FROM budget_state ' +
      `WHERE budget = ? ${tx.forUpdate}`,
    [budget],
  );
  return toState(row!);
}

/** The shared AIMD: growth since the last lease, then this lease's trouble and pause. */
function adapt(state: SharedState, request: SliceLeaseRequest, now: number): SharedState {
  const rule = request.adaptive;
  const next = { ...state };
  // A changed configuration takes effect at once (a lower ceiling caps the rate).
  next.limitMilli = milli(request.limits.callsPerSecond);
  if (!rule.enabled) next.rateMilli = next.limitMilli;
  next.rateMilli = Math.min(next.rateMilli, next.limitMilli);
  const calmFrom = Math.max(next.grownAt, next.cutAt === null ? 0 : next.cutAt + rule.recoveryDelayMs);
  if (rule.enabled && next.rateMilli < next.limitMilli && now > calmFrom)
    next.rateMilli = Math.min(
      next.limitMilli,
      next.rateMilli + Math.floor((milli(rule.increasePerSecond) * (now - calmFrom)) / 1000),
    );
  next.grownAt = Math.max(next.grownAt, now);
  const trouble = request.trouble;
  if (rule.enabled && trouble && (next.cutAt === null || trouble.at - next.cutAt >= rule.cooldownMs)) {
    next.rateMilli = Math.max(
      milli(rule.minCallsPerSecond),
      Math.floor(next.rateMilli * rule.decreaseFactor),
    );
    next.cutAt = trouble.at;
    next.cutReason = trouble.reason.slice(0, 200);
    next.cuts++;
  }
  if (request.pauseUntil !== undefined && request.pauseUntil !== null)
    next.pausedUntil = Math.max(next.pausedUntil, request.pauseUntil);
  return next;
}

/** The rate a slice may still be using: its share while unexpired, a given-up rate for one window. */
function heldRateMilli(slice: SliceRow, now: number, windowMs: number): number {
  const rate = Number(slice.expires_at) + windowMs > now ? Number(slice.rate_milli) : 0;
  const given = Number(slice.held_until) > now ? Number(slice.held_rate_milli) : 0;
  return Math.max(rate, given);
}

/**
 * What a re-leased slice keeps held beyond its new share: when the share shrinks, its old rate
 * until one window after the old slice's expiry; else whatever it still held from an earlier shrink.
 */
function givenUp(
  own: SliceRow,
  shareMilli: number,
  now: number,
  windowMs: number,
): { milli: number; until: number } {
  const current = Number(own.expires_at) + windowMs > now ? Number(own.rate_milli) : 0;
  const earlier = Number(own.held_until) > now ? Number(own.held_rate_milli) : 0;
  // The worker spends at its old share until the answer reaches it, at the latest until the old
  // slice expires; the old rate is held one window past that.
  if (current > shareMilli)
    return { milli: Math.max(current, earlier), until: Math.max(Number(own.expires_at), now) + windowMs };
  return earlier > 0 ? { milli: earlier, until: Number(own.held_until) } : { milli: 0, until: now };
}

/**
 * Count the calls spent from the owner's slice and give back the ones it returns (never more than
 * the store knows it holds); returns what the owner still holds of its slice's day.
 */
async function giveBack(
  tx: SqlExecutor,
  budget: string,
  own: SliceRow | null,
  previous: NonNullable<SliceLeaseRequest['previous']>,
): Promise<{ calls: number; engineCalls: number }> {
  const spent = Math.max(0, previous.spentCalls);
  const engineSpent = Math.max(0, previous.spentEngineCalls);
  const held = own !== null && own.day === previous.day;
  const calls = held ? Math.max(0, Number(own.calls) - spent) : 0;
  const engine = held ? Math.max(0, Number(own.engine_calls) - engineSpent) : 0;
  const returned = Math.min(calls, Math.max(0, previous.returnedCalls));
  const engineReturned = Math.min(engine, Math.max(0, previous.returnedEngineCalls));
  await tx.run(
    'UPDATE budget_days SET calls_committed = calls_committed - ?, engine_calls_committed = engine_calls_committed - ?, ' +
      'calls_spent = calls_spent + ?, engine_calls_spent = engine_calls_spent + ? WHERE budget = ? AND day = ?',
    [returned, engineReturned, spent, engineSpent, budget, previous.day],
  );
  return { calls: calls - returned, engineCalls: engine - engineReturned };
}

async function readDay(tx: SqlExecutor, budget: string, day: string, suffix: string): Promise<DayRow> {
  const [row] = await tx.all<DayRow>(
    'SELECT calls_committed, engine_calls_committed, calls_spent, engine_calls_spent FROM budget_days ' +
      `WHERE budget = ? AND day = ? ${suffix}`,
    [budget, day],
  );
  return row!;
}

function dayState(
  budget: string,
  day: string,
  state: SharedState,
  row: DayRow,
  liveSlices: number,
  now: number,
): BudgetDayState {
  return {
    budget,
    day,
    callsCommitted: Number(row.calls_committed),
    engineCallsCommitted: Number(row.engine_calls_committed),
    callsSpent: Number(row.calls_spent),
    engineCallsSpent: Number(row.engine_calls_spent),
    callsPerSecond: state.rateMilli / 1000,
    callsPerSecondLimit: state.limitMilli / 1000,
    rateCuts: state.cuts,
    lastCut: state.cutAt === null ? null : { at: state.cutAt, reason: state.cutReason ?? '' },
    pausedUntil: state.pausedUntil > now ? state.pausedUntil : null,
    liveSlices,
  };
}

function checkRequest(request: SliceLeaseRequest): void {
  requireText(request.budget, 'budget name');
  requireText(request.owner, `budget ${request.budget}: owner`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(request.day))
    throw new StoreError('STORE_INVALID_INPUT', `budget ${request.budget}: day must be YYYY-MM-DD`);
  for (const [name, value] of [
    ['leaseMs', request.leaseMs],
    ['windowMs', request.windowMs],
  ] as const)
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new StoreError(
        'STORE_INVALID_INPUT',
        `budget ${request.budget}: ${name} must be a positive whole number of milliseconds`,
      );
  for (const [name, value] of [
    ['wantCalls', request.wantCalls],
    ['wantEngineCalls', request.wantEngineCalls],
  ] as const)
    if (!Number.isSafeInteger(value) || value < 0)
      throw new StoreError(
        'STORE_INVALID_INPUT',
        `budget ${request.budget}: ${name} must be a whole number ≥ 0`,
      );
}
