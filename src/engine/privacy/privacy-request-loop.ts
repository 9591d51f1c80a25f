import type { EngineLogger } from '../../core/ports/engine-logger.js';
import type { Duty } from '../duty.js';
import type { PrivacyRequestRunner } from './privacy-request-runner.js';

/**
 * Moves privacy requests on inside a long-running process (`dcsync run`): every `intervalMs` it
 * runs the steps of every request that is due. With a duty (`privacy:runner`), only the worker
 * holding it does; a request is worked on by one process at a time in any case.
 */
export class PrivacyRequestLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  /** @param intervalMs how often due requests are looked for. @default 1000 */
  constructor(
    private readonly runner: PrivacyRequestRunner,
    private readonly logger: EngineLogger,
    private readonly intervalMs = 1000,
    private readonly duty?: Duty,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.duty?.start();
    this.schedule(0);
  }

  /** Stop looking; waits for a pass in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await this.duty?.stop();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = (this.duty && !this.duty.held ? Promise.resolve() : this.runner.runDue())
        .then(
          () => undefined,
          (error: unknown) => this.logger.warn({ err: error }, 'privacy request pass failed'),
        )
        .finally(() => {
          this.running = null;
          this.schedule(this.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }
}
