import type { KeyMapEntry, KeyMapStore } from '../core/ports/state-store.js';

type IntentEntry = Omit<KeyMapEntry, 'createdAt' | 'updatedAt'>;

interface PendingIntent {
  entry: IntentEntry;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Writes key-map intents (the entry that must be durable before a create is sent) for many
 * workers in one commit: intents asked for in the same turn of the event loop are written
 * together, and each caller resumes only once its intent is committed. One commit per create was
 * the engine's largest cost on an initial load.
 */
export class KeyMapIntentWriter {
  private pending: PendingIntent[] = [];
  private scheduled = false;

  constructor(private readonly keyMap: Pick<KeyMapStore, 'putMany'>) {}

  /** Resolves once `entry` is committed (with whatever else was asked for meanwhile). */
  write(entry: IntentEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ entry, resolve, reject });
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
      await this.keyMap.putMany(batch.map((p) => p.entry));
      for (const p of batch) p.resolve();
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
