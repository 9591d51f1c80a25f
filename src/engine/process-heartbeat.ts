import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { jsonObjectSchema, type JsonObject } from '../core/json.js';
import type { EngineLogger } from '../core/ports/engine-logger.js';
import type { StateStore } from '../core/ports/state-store.js';
import { checkpointWrite, defineCheckpoint } from './checkpoints.js';

const prefix = 'process:';

const heartbeatSchema = z.object({ owner: z.string(), at: z.number(), sample: jsonObjectSchema });

export type HeartbeatRecord = z.infer<typeof heartbeatSchema>;

/** Checkpoint `process:<owner>`: what a running process last published about itself. */
export const heartbeatCheckpoint = defineCheckpoint<HeartbeatRecord | null>({
  description: 'heartbeat of a sync process',
  name: (owner) => `${prefix}${owner}`,
  schema: heartbeatSchema,
  initial: () => null,
});

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
    await this.options.store.checkpoints
      .delete(heartbeatCheckpoint.name(this.options.owner))
      .catch(() => undefined);
  }

  private async beat(): Promise<void> {
    const record: HeartbeatRecord = {
      owner: this.options.owner,
      at: this.options.clock.now(),
      sample: this.options.sample(),
    };
    try {
      const write = checkpointWrite(heartbeatCheckpoint, this.options.owner, record);
      await this.options.store.checkpoints.set(write.name, write.value);
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
  const records: HeartbeatRecord[] = [];
  for (const row of rows) {
    // A heartbeat that does not parse (another version's) says nothing about a live process.
    let json: unknown = null;
    try {
      json = JSON.parse(row.value);
    } catch {
      continue;
    }
    const parsed = heartbeatSchema.safeParse(json);
    if (parsed.success && clock.now() - parsed.data.at <= maxAgeMs) records.push(parsed.data);
  }
  return records;
}
