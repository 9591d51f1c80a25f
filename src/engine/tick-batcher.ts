/**
 * Gathers the requests made in one turn of the event loop and serves them with one call, so
 * that many workers share one store round trip (or one commit) instead of paying one each.
 * Each caller gets its own answer; if the batch fails, every caller of it fails.
 */
export class TickBatcher<I, O> {
  private pending: { input: I; resolve: (output: O) => void; reject: (error: unknown) => void }[] = [];
  private scheduled = false;

  /** `serve` answers a batch: one output per input, in order. */
  constructor(private readonly serve: (inputs: readonly I[]) => Promise<readonly O[]>) {}

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    try {
      const outputs = await this.serve(batch.map((p) => p.input));
      batch.forEach((p, i) => p.resolve(outputs[i]!));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
