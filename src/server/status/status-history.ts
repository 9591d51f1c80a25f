import type { EngineLogger } from '../../core/ports/engine-logger.js';
import type { StatusReader, StatusSnapshot } from './status-reader.js';

/** One point of the dashboard's charts. */
export interface StatusSample {
  at: number;
  recordsPerSecond: number;
  callsInLastSecond: number;
  /** The adaptive Campaign call rate in force, and its configured ceiling (calls/s). */
  callsPerSecond: number;
  callsPerSecondLimit: number;
  /** Campaign calls today, and the daily budget (null: unlimited). */
  callsToday: number;
  callsPerDay: number | null;
  /** Lag percentiles of what was applied in the last minute (null: nothing was). */
  lagP50Ms: number | null;
  lagP99Ms: number | null;
  deadLetters: number;
  flows: Record<string, { queued: number; leased: number; lagMs: number | null; synced: number }>;
}

export interface StatusHistoryOptions {
  /** @default 5000 */
  intervalMs?: number;
  /** @default 720 */
  size?: number;
}

function toSample(snapshot: StatusSnapshot): StatusSample {
  return {
    at: snapshot.generatedAt,
    recordsPerSecond: snapshot.throughput.recordsPerSecond,
    callsInLastSecond: snapshot.budget.callsInLastSecond,
    callsPerSecond: snapshot.budget.currentCallsPerSecond,
    callsPerSecondLimit: snapshot.budget.callsPerSecondLimit,
    callsToday: snapshot.budget.callsToday,
    callsPerDay: snapshot.budget.callsPerDay,
    lagP50Ms: snapshot.lag?.p50Ms ?? null,
    lagP99Ms: snapshot.lag?.p99Ms ?? null,
    deadLetters: snapshot.deadLetters.total,
    flows: Object.fromEntries(
      snapshot.flows.map((f) => [
        f.id,
        { queued: f.backlog.queued, leased: f.backlog.leased, lagMs: f.lagMs, synced: f.synced },
      ]),
    ),
  };
}

/** A ring buffer of status samples taken every few seconds, served at `/api/history`. */
export class StatusHistory {
  private readonly buffer: StatusSample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly intervalMs: number;
  private readonly size: number;

  constructor(
    private readonly status: StatusReader,
    private readonly logger: EngineLogger,
    options: StatusHistoryOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 5000;
    this.size = options.size ?? 720;
  }

  start(): void {
    if (this.timer) return;
    void this.sampleNow();
    this.timer = setInterval(() => void this.sampleNow(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async sampleNow(): Promise<void> {
    try {
      this.push(toSample(await this.status.read()));
    } catch (error) {
      this.logger.warn({ err: error }, 'status sample failed');
    }
  }

  /** Samples, oldest first; `since` keeps only newer ones. */
  samples(since?: number): StatusSample[] {
    return since === undefined ? [...this.buffer] : this.buffer.filter((s) => s.at > since);
  }

  get intervalMillis(): number {
    return this.intervalMs;
  }

  private push(sample: StatusSample): void {
    const last = this.buffer[this.buffer.length - 1];
    if (last && last.at === sample.at) return;
    this.buffer.push(sample);
    if (this.buffer.length > this.size) this.buffer.splice(0, this.buffer.length - this.size);
  }
}
