import type { Clock } from '../core/clock.js';
import type { JsonObject } from '../core/json.js';
import type { EngineLogger } from '../core/ports/engine-logger.js';
import type { StateStore } from '../core/ports/state-store.js';

const prefix = 'process:';

export interface HeartbeatRecord {
  owner: string;
  at: number;
  sample: JsonObject;
}

/**
 * Each running sync process publishes what only it knows (call-budget use, throughput, lag) to
 * the store every few seconds, so `dcsync status` and the API of any process can show it.
 */
export class ProcessHeartbeat {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: {
      store: StateStore;
      clock: Clock;
      logger: EngineLogger;
      owner: string;
      sample: () => JsonObject;
      /** @default 5000 */
      intervalMs?: number;
    },
  ) {}

  start(): void {
    if (this.timer) return;
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.options.intervalMs ?? 5000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.options.store.checkpoints.delete(`${prefix}${this.options.owner}`).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    const record: HeartbeatRecord = {
      owner: this.options.owner,
      at: this.options.clock.now(),
      sample: this.options.sample(),
    };
    try {
      await this.options.store.checkpoints.set(`${prefix}${this.options.owner}`, JSON.stringify(record));
    } catch (error) {
      this.options.logger.warn({ err: error }, 'publishing the process heartbeat failed');
    }
  }
}

/** Heartbeats of processes seen within `maxAgeMs`. */
export async function readHeartbeats(
  store: StateStore,
  clock: Clock,
  maxAgeMs = 30_000,
): Promise<HeartbeatRecord[]> {
  const rows = await store.checkpoints.list(prefix);
  return rows
    .map((r) => JSON.parse(r.value) as HeartbeatRecord)
    .filter((r) => clock.now() - r.at <= maxAgeMs);
}
