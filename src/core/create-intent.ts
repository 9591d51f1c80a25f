import type { KeyMapEntry, KeyMapStore } from './ports/state-store.js';

/**
 * A create intent: the key-map entry that must be durable before a create is sent (no Campaign
 * PKey yet, origin `created`). A record whose entry is an intent is looked up before it is created
 * again, so a create whose answer was lost never makes a second record (I4). The lease writes it
 * for the record flows (`WorkItem.intentWritten`), the record applier otherwise.
 */
export function createIntentEntry(
  flow: string,
  recordKey: string,
): Omit<KeyMapEntry, 'createdAt' | 'updatedAt'> {
  return {
    flow,
    recordKey,
    campaignPKey: null,
    origin: 'created',
    lastSourceVersion: null,
    lastPayloadHash: null,
  };
}

/**
 * Remove a create intent whose create was never sent. If that fails, the intent stays: harmless
 * (it costs the record's next attempt a look-up, never a duplicate), so the failure is not the
 * caller's outcome — the item goes on to its own result (a dead letter stays a dead letter).
 */
export async function dropCreateIntent(
  keyMap: Pick<KeyMapStore, 'delete'>,
  flow: string,
  recordKey: string,
): Promise<void> {
  try {
    await keyMap.delete(flow, recordKey);
  } catch {
    // See above.
  }
}
