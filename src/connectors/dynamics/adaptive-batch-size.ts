/** Dataverse's documented maximum of requests in one `$batch`. */
export const maxDataverseBatchSize = 1000;

export interface AdaptiveBatchSizeOptions {
  /** Operations in the first batch (Microsoft advises starting small). @default 10 */
  initial?: number;
  /** Upper bound (at most Dataverse's 1,000). @default 200 */
  max?: number;
  /** A batch answered slower than this halves the size. @default 10000 */
  slowMs?: number;
  /**
   * Share of the execution-time limit in use (as the server last said) from which the size stops
   * growing and a batch is kept to {@link maxExecutionShare} of the limit. @default 0.8
   */
  pressureShare?: number;
  /** Under execution-time pressure, the most of the limit one batch may cost. @default 0.02 */
  maxExecutionShare?: number;
  /** Growth per healthy full batch. @default 1.5 */
  growth?: number;
}

/** What the client knows of the execution-time window after an answer. */
export interface ExecutionTimeView {
  /** Share of the limit in use, 0–1. */
  pressure: number;
  /** Execution time of one operation (one part of a batch) as learnt (ms; 0 before). */
  operationMs: number;
  /** The execution-time limit per window (ms). */
  limitMs: number;
}

/**
 * The size of the next `$batch`, adapted to how the server answers, as Microsoft recommends for
 * Dataverse (start small, let the server set the pace): it starts at `initial`, grows by `growth`
 * after every full batch answered fast (under `slowMs`) while the execution-time limit is not under
 * pressure, up to `max`; it halves on a 429 (any service-protection limit), a timeout or a slow
 * answer, never below 1. While the execution-time limit is under pressure it does not grow, and a
 * batch is kept to `maxExecutionShare` of the limit (its cost estimated from the learnt cost of an
 * operation), so the pacer spends the window in small steps.
 */
export class AdaptiveBatchSize {
  private current: number;
  readonly initial: number;
  readonly max: number;
  private readonly slowMs: number;
  private readonly pressureShare: number;
  private readonly maxExecutionShare: number;
  private readonly growth: number;

  constructor(options: AdaptiveBatchSizeOptions = {}) {
    this.max = Math.max(1, Math.min(Math.floor(options.max ?? 200), maxDataverseBatchSize));
    this.initial = Math.max(1, Math.min(Math.floor(options.initial ?? 10), this.max));
    this.slowMs = options.slowMs ?? 10_000;
    this.pressureShare = options.pressureShare ?? 0.8;
    this.maxExecutionShare = options.maxExecutionShare ?? 0.02;
    this.growth = Math.max(1, options.growth ?? 1.5);
    this.current = this.initial;
  }

  /** Operations to put in the next batch. */
  get size(): number {
    return this.current;
  }

  /** A batch of `sent` operations was answered (its parts each with their own outcome) in `durationMs`. */
  answered(sent: number, durationMs: number, execution?: ExecutionTimeView): void {
    if (durationMs > this.slowMs) {
      this.shrink();
      return;
    }
    if (execution && execution.pressure >= this.pressureShare) {
      if (execution.operationMs > 0) {
        const fits = Math.floor((execution.limitMs * this.maxExecutionShare) / execution.operationMs);
        this.current = Math.max(1, Math.min(this.current, fits));
      }
      return;
    }
    if (sent >= this.current)
      this.current = Math.min(this.max, Math.max(this.current + 1, Math.ceil(this.current * this.growth)));
  }

  /** The batch was refused by service protection (429) or timed out. */
  refused(): void {
    this.shrink();
  }

  private shrink(): void {
    this.current = Math.max(1, Math.floor(this.current / 2));
  }
}
