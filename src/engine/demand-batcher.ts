export interface DemandBatcherOptions {
  /** Inputs wanted per call (read before every flush; an adaptive size may move). */
  size: () => number;
  /**
   * Calls with fewer than `size` inputs in flight at once: a short batch leaves only when fewer are
   * running, else its inputs wait for one to finish (gathering more meanwhile). @default 1
   */
  partialInFlight?: number;
}

/**
 * Gathers requests made by many callers into calls of up to `size` inputs, so that the calls are as
 * full as the load allows without waiting on a timer: a full batch leaves at once; what is left
 * leaves at the end of the event-loop turn when no other short call is running, else when one
 * finishes (self-clocking, like a group commit: the slower the calls, the fuller the next one).
 * Each caller gets its own answer; if a call fails, every caller of it fails.
 */
export class DemandBatcher<I, O> {
  private pending: { input: I; resolve: (output: O) => void; reject: (error: unknown) => void }[] = [];
  private scheduled = false;
  private partial = 0;
  private readonly partialInFlight: number;

  /** `serve` answers a batch: one output per input, in order. */
  constructor(
    private readonly serve: (inputs: readonly I[]) => Promise<readonly O[]>,
    private readonly options: DemandBatcherOptions,
  ) {
    this.partialInFlight = Math.max(1, options.partialInFlight ?? 1);
  }

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      this.schedule();
    });
  }

  /** Inputs waiting for a call. */
  get waiting(): number {
    return this.pending.length;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const size = Math.max(1, Math.floor(this.options.size()));
    while (this.pending.length >= size) void this.flush(this.pending.splice(0, size), false);
    if (this.pending.length > 0 && this.partial < this.partialInFlight)
      void this.flush(this.pending.splice(0), true);
  }

  private async flush(batch: typeof this.pending, partial: boolean): Promise<void> {
    if (partial) this.partial++;
    try {
      const outputs = await this.serve(batch.map((p) => p.input));
      batch.forEach((p, i) => p.resolve(outputs[i]!));
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      if (partial) this.partial--;
      if (this.pending.length > 0) this.schedule();
    }
  }
}
