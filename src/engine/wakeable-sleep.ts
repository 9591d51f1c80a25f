/**
 * The idle wait of an engine loop (feed poller, journal poller, work runner): a timer that
 * {@link wake} cuts short. With `rememberWake`, a wake that comes while the loop is busy makes
 * its next sleep return at once (a webhook that arrives during a read is not lost until the next
 * interval).
 */
export class WakeableSleep {
  private wakeUp: (() => void) | null = null;
  private wakeRequested = false;

  constructor(private readonly options: { rememberWake?: boolean } = {}) {}

  /** Wait `ms`, or until {@link wake}. */
  sleep(ms: number): Promise<void> {
    if (this.wakeRequested) {
      this.wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeUp = null;
        this.wakeRequested = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  /** End the current sleep now (or, with `rememberWake`, the next one). */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else if (this.options.rememberWake === true) this.wakeRequested = true;
  }
}
