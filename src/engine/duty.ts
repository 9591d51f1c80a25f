import type { Clock } from '../core/clock.js';
import type { EngineLogger } from '../core/ports/engine-logger.js';
import type { LockFence, StateStore } from '../core/ports/state-store.js';

/** Timing of every duty of a worker. */
export interface DutyTiming {
  /** How long a holder that stopped renewing (killed, cut off) keeps a duty. @default 10000 */
  ttlMs: number;
  /** How often a worker that does not hold a duty tries to take it. @default min(2000, ttlMs / 3) */
  attemptMs?: number;
}

export const defaultDutyTtlMs = 10_000;

/**
 * One singleton duty of the deployment (a table's poller, the opt-out file ingestor, the privacy
 * runner, the alert monitor): a named lock in the store that exactly one worker holds at a time.
 * The holder renews it every third of its TTL; the others try to take it every `attemptMs`, so a
 * new holder takes over within `ttlMs + attemptMs` of the holder's death, and at once after a
 * release (graceful stop). Each hand-over has a new epoch; writes that must never come from a
 * former holder carry {@link fence} and are refused by the store once the duty changed hands.
 *
 * A holder also stops believing it holds the duty on its own, at its deadline: the TTL counted
 * from when its last successful renewal was sent. The store counts the same TTL from a later
 * moment, so no other worker can take the duty before that deadline, and a holder whose process
 * was starved past it (a stalled machine) never acts as the holder after another worker took over;
 * it records the loss (`duty.lost`, dated at the deadline) as soon as it runs again.
 */
export class Duty {
  private epoch: number | null = null;
  /** Until when this worker may act as the holder: the TTL from its last renewal's sending. */
  private deadline = 0;
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> | null = null;
  private readonly ttlMs: number;
  private readonly attemptMs: number;
  private readonly listeners = new Set<(held: boolean) => void>();
  private stopped = true;

  constructor(
    readonly name: string,
    private readonly options: {
      store: Pick<StateStore, 'locks' | 'audit'>;
      clock: Clock;
      logger: EngineLogger;
      owner: string;
      timing?: DutyTiming | undefined;
    },
  ) {
    this.ttlMs = Math.max(1, Math.round(options.timing?.ttlMs ?? defaultDutyTtlMs));
    this.attemptMs = Math.max(
      1,
      Math.round(options.timing?.attemptMs ?? Math.min(2000, Math.floor(this.ttlMs / 3))),
    );
  }

  get owner(): string {
    return this.options.owner;
  }

  /** Whether this worker holds the duty: taken or renewed, and its deadline not passed. */
  get held(): boolean {
    return this.epoch !== null && this.options.clock.now() < this.deadline;
  }

  /** The proof a fenced write carries; null when the duty is not held. */
  get fence(): LockFence | null {
    return this.epoch === null ? null : { name: this.name, owner: this.options.owner, epoch: this.epoch };
  }

  /** Called with `true` when this worker takes the duty and `false` when it loses or releases it. */
  onChange(listener: (held: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Try to take (or renew) the duty on a timer until {@link stop}. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Take or renew the duty now; returns whether it is held. */
  async tryNow(): Promise<boolean> {
    if (this.epoch !== null && this.options.clock.now() >= this.deadline)
      await this.record(this.deadline, 'not renewed within its TTL (this worker was stalled or cut off)');
    try {
      const sentAt = this.options.clock.now();
      const epoch = await this.options.store.locks.acquire(this.name, this.options.owner, this.ttlMs);
      if (epoch === null && this.epoch !== null)
        await this.record(this.options.clock.now(), 'another worker holds it now');
      if (epoch !== null) this.deadline = sentAt + this.ttlMs;
      this.set(epoch);
    } catch (error) {
      // Unknown: keep the current belief until the TTL says otherwise; the store fences writes.
      this.options.logger.warn({ err: error, duty: this.name }, 'taking or renewing a duty failed');
    }
    return this.held;
  }

  /**
   * A fenced write was refused (`STORE_LOCK_LOST`): another worker holds the duty. Give it up here
   * and record the loss; the timer tries to take it again later.
   */
  async lost(reason: string): Promise<void> {
    await this.record(this.options.clock.now(), reason);
  }

  /** Give the duty up here and record the loss in the audit trail, dated `at`. */
  private async record(at: number, reason: string): Promise<void> {
    const fence = this.fence;
    if (!fence) return;
    this.set(null);
    this.options.logger.warn({ duty: this.name, epoch: fence.epoch }, `duty lost: ${reason}`);
    await this.options.store.audit
      .append([
        {
          at,
          actor: this.options.owner,
          action: 'duty.lost',
          flow: null,
          recordKey: this.name,
          fields: [],
          outcome: 'lost',
          detail: `epoch ${fence.epoch}; ${reason}`,
        },
      ])
      .catch(() => undefined);
  }

  /** Stop trying and release the duty at once, so another worker takes it without waiting. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.busy;
    if (this.epoch === null) return;
    this.set(null);
    await this.options.store.locks
      .release(this.name, this.options.owner, { audit: true })
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error, duty: this.name }, 'releasing a duty failed'),
      );
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.busy = this.tryNow()
        .then(() => undefined)
        .finally(() => {
          this.busy = null;
          this.schedule(this.held ? Math.max(1, Math.floor(this.ttlMs / 3)) : this.attemptMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private set(epoch: number | null): void {
    const was = this.epoch !== null;
    if (was && epoch !== null && epoch !== this.epoch) {
      // Lost and taken again between two renewals: the old epoch's writes are fenced off.
      this.epoch = epoch;
      return;
    }
    this.epoch = epoch;
    if (was !== (epoch !== null)) for (const listener of this.listeners) listener(epoch !== null);
  }
}

/** Every duty of one worker, so its heartbeat can say which it holds. */
export class DutyRoster {
  private readonly duties = new Map<string, Duty>();

  constructor(
    private readonly options: {
      store: Pick<StateStore, 'locks' | 'audit'>;
      clock: Clock;
      logger: EngineLogger;
      owner: string;
      timing?: DutyTiming | undefined;
    },
  ) {}

  get owner(): string {
    return this.options.owner;
  }

  /** The duty of this name (one per name per worker). */
  duty(name: string): Duty {
    let duty = this.duties.get(name);
    if (!duty) {
      duty = new Duty(name, this.options);
      this.duties.set(name, duty);
    }
    return duty;
  }

  /** Names of the duties held now, sorted. */
  held(): string[] {
    return [...this.duties.values()]
      .filter((d) => d.held)
      .map((d) => d.name)
      .sort();
  }

  /** Release every duty at once (graceful drain). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.duties.values()].map((d) => d.stop()));
  }
}
