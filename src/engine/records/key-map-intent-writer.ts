import type { KeyMapEntry, KeyMapStore } from '../../core/ports/state-store.js';
import { TickBatcher } from '../tick-batcher.js';

type IntentEntry = Omit<KeyMapEntry, 'createdAt' | 'updatedAt'>;

/**
 * Key-map access of the workers, batched per event-loop turn: look-ups become one `getMany` per
 * flow, and intents (the entry that must be durable before a create is sent) one `putMany`
 * commit; each caller resumes only once its own answer is there (its intent committed). One
 * round trip per look-up and one commit per create were the engine's largest store costs.
 */
export class KeyMapIntentWriter {
  private readonly writes: TickBatcher<IntentEntry, null>;
  private readonly reads: TickBatcher<{ flow: string; recordKey: string }, KeyMapEntry | null>;

  constructor(keyMap: Pick<KeyMapStore, 'putMany' | 'getMany'>) {
    this.writes = new TickBatcher<IntentEntry, null>(async (entries) => {
      await keyMap.putMany(entries);
      return entries.map(() => null);
    });
    this.reads = new TickBatcher(async (refs) => {
      const found = new Map<string, KeyMapEntry>();
      for (const flow of new Set(refs.map((r) => r.flow))) {
        const keys = [...new Set(refs.filter((r) => r.flow === flow).map((r) => r.recordKey))];
        for (const entry of await keyMap.getMany(flow, keys))
          found.set(`${flow}\u0000${entry.recordKey}`, entry);
      }
      return refs.map((r) => found.get(`${r.flow}\u0000${r.recordKey}`) ?? null);
    });
  }

  /** Resolves once `entry` is committed (with whatever else was asked for meanwhile). */
  async write(entry: IntentEntry): Promise<void> {
    await this.writes.submit(entry);
  }

  /** The key-map entry of one record, read together with the other workers' look-ups. */
  get(flow: string, recordKey: string): Promise<KeyMapEntry | null> {
    return this.reads.submit({ flow, recordKey });
  }
}
