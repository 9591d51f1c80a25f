import type { Clock } from '../core/clock.js';
import type { EngineEvents } from './engine-events.js';

/** What applying one work item did; the run summary counts these. */
export const applyOutcomes = [
  'created',
  'updated',
  'adopted',
  'deleted',
  'unchanged',
  'filtered',
  'stale',
  'skipped-delete',
  'skipped-foreign',
  'absent',
  'tombstoned',
] as const;
export type ApplyOutcome = (typeof applyOutcomes)[number];

/** Every outcome the run summary and metrics count. */
export const statOutcomes = [...applyOutcomes, 'parked', 'retried', 'dead-lettered'] as const;
export type StatOutcome = (typeof statOutcomes)[number];

export type OutcomeCounts = Record<StatOutcome, number>;

function emptyCounts(): OutcomeCounts {
  return Object.fromEntries(statOutcomes.map((o) => [o, 0])) as OutcomeCounts;
}

/** The window of {@link EngineStats.lagPercentiles}: lag of what was applied in the last minute. */
export const lagWindowMs = 60_000;

/** Application times kept for the throughput (at least this many, the newest). */
const recentSamples = 100_000;
/** Lag samples kept for the percentiles (at least this many, the newest). */
const lagSamples = 10_000;

/**
 * A sample list is cut back to its size once it is a tenth over it: one cut per tenth of the list
 * (amortised O(1) a sample). Cutting at every sample past the size moved the whole list each time:
 * 1.6 s of CPU (2 % of the busy time) in a CPU profile of a 100,000-row bulk load, growing with it.
 */
function trimAt(size: number): number {
  return size + Math.ceil(size / 10);
}

/** A listener for each applied record (metrics adapters subscribe). */
export type StatListener = (
  flow: string,
  outcome: StatOutcome,
  durationMs: number | undefined,
  lagMs: number | undefined,
) => void;

/**
 * In-process counters of what the engine did: per flow and outcome, a sliding throughput window
 * and end-to-end lag samples (staged → applied). Durable truth lives in the store; these feed the
 * run summary, status and metrics.
 */
export class EngineStats {
  private readonly perFlow = new Map<string, OutcomeCounts>();
  private readonly recent: number[] = [];
  /** Recent lag samples (ms) and when each was taken, oldest first. */
  private readonly lags: number[] = [];
  private readonly lagTimes: number[] = [];
  private readonly listeners: StatListener[] = [];
  /** Per event flow (F6): lag from the event's time at the source to its row written, with when. */
  private readonly eventLags = new Map<string, { lags: number[]; times: number[] }>();

  constructor(private readonly clock: Clock) {}

  onRecord(listener: StatListener): void {
    this.listeners.push(listener);
  }

  /** Count what the engine reports: applied, parked, retried and dead-lettered items. */
  subscribe(events: EngineEvents): void {
    events.on('item.applied', (e) => this.record(e.flow, e.outcome, e.elapsedMs, e.lagMs));
    events.on('item.parked', (e) => this.record(e.flow, 'parked'));
    events.on('item.failed', (e) => this.record(e.flow, e.deadLettered ? 'dead-lettered' : 'retried'));
    events.on('event.landed', (e) => this.recordEventLag(e.flow, e.eventLagMs));
  }

  /** One event of an event flow written: its lag from the event's own time. */
  recordEventLag(flow: string, lagMs: number): void {
    let samples = this.eventLags.get(flow);
    if (!samples) {
      samples = { lags: [], times: [] };
      this.eventLags.set(flow, samples);
    }
    samples.lags.push(lagMs);
    samples.times.push(this.clock.now());
    if (samples.lags.length > trimAt(lagSamples)) {
      samples.lags.splice(0, samples.lags.length - lagSamples);
      samples.times.splice(0, samples.times.length - lagSamples);
    }
  }

  /**
   * Event-time lag percentiles (ms) of an event flow's events written in the last `windowMs`: from
   * when the event happened at the source to its row written. Null when none was.
   */
  eventLagPercentiles(flow: string, windowMs = lagWindowMs): { p50: number; p99: number } | null {
    const samples = this.eventLags.get(flow);
    return samples ? percentilesSince(samples.lags, samples.times, this.clock.now() - windowMs) : null;
  }

  record(flow: string, outcome: StatOutcome, durationMs?: number, lagMs?: number): void {
    let counts = this.perFlow.get(flow);
    if (!counts) {
      counts = emptyCounts();
      this.perFlow.set(flow, counts);
    }
    counts[outcome]++;
    const now = this.clock.now();
    if (outcome !== 'retried' && outcome !== 'parked') {
      this.recent.push(now);
      if (this.recent.length > trimAt(recentSamples))
        this.recent.splice(0, this.recent.length - recentSamples);
      if (lagMs !== undefined) {
        this.lags.push(lagMs);
        this.lagTimes.push(now);
        if (this.lags.length > trimAt(lagSamples)) {
          this.lags.splice(0, this.lags.length - lagSamples);
          this.lagTimes.splice(0, this.lagTimes.length - lagSamples);
        }
      }
    }
    for (const listener of this.listeners) listener(flow, outcome, durationMs, lagMs);
  }

  /** Totals over all flows. */
  totals(): OutcomeCounts {
    const total = emptyCounts();
    for (const counts of this.perFlow.values()) {
      for (const o of statOutcomes) total[o] += counts[o];
    }
    return total;
  }

  byFlow(): Record<string, OutcomeCounts> {
    return Object.fromEntries([...this.perFlow.entries()].map(([flow, counts]) => [flow, { ...counts }]));
  }

  /** Records applied per second over the last `windowMs`. */
  throughput(windowMs = 10_000): number {
    const since = this.clock.now() - windowMs;
    let n = 0;
    for (let i = this.recent.length - 1; i >= 0 && this.recent[i]! >= since; i--) n++;
    return n / (windowMs / 1000);
  }

  /**
   * Lag percentiles (ms) of the records applied in the last `windowMs`; null when none was. Older
   * samples do not count: when nothing is applied, there is no recent lag to show (the last figures
   * used to stay on the dashboard for as long as the flows were idle).
   */
  lagPercentiles(windowMs = lagWindowMs): { p50: number; p99: number } | null {
    return percentilesSince(this.lags, this.lagTimes, this.clock.now() - windowMs);
  }
}

/** p50 and p99 of the samples taken at or after `since` (times ascending); null when none was. */
function percentilesSince(
  values: readonly number[],
  times: readonly number[],
  since: number,
): { p50: number; p99: number } | null {
  let first = times.length;
  while (first > 0 && times[first - 1]! >= since) first--;
  if (first === values.length) return null;
  const sorted = values.slice(first).sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}
