import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyMapEntry, StateStore } from '../../../src/core/ports/state-store.js';
import { KeyMapIntentWriter } from '../../../src/engine/records/key-map-intent-writer.js';
import { openStateStore } from '../../../src/store/open-state-store.js';

type IntentEntry = Omit<KeyMapEntry, 'createdAt' | 'updatedAt'>;

function intent(recordKey: string): IntentEntry {
  return {
    flow: 'contacts',
    recordKey,
    campaignPKey: null,
    origin: 'created',
    lastSourceVersion: null,
    lastPayloadHash: null,
  };
}

describe('KeyMapIntentWriter', () => {
  let dir: string;
  let store: StateStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dcsync-intents-'));
    store = await openStateStore(`sqlite:${join(dir, 'state.db')}`);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits the intents of concurrent creates together, and each caller resumes once its intent is stored', async () => {
    const batches: number[] = [];
    const writer = new KeyMapIntentWriter({
      getMany: (flow, keys) => store.keyMap.getMany(flow, keys),
      putMany: async (entries) => {
        batches.push(entries.length);
        await store.keyMap.putMany(entries);
      },
    });
    const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`);
    await Promise.all(
      keys.map(async (key) => {
        await writer.write(intent(key));
        // Durable before the caller goes on to create the record.
        expect(await store.keyMap.get('contacts', key)).toMatchObject({
          campaignPKey: null,
          origin: 'created',
        });
      }),
    );
    expect(batches).toEqual([50]);
    await writer.write(intent('later'));
    expect(batches).toEqual([50, 1]);
  });

  it('answers concurrent look-ups with one read per flow, each with its own entry', async () => {
    await store.keyMap.putMany([intent('a'), intent('b')]);
    let reads = 0;
    const writer = new KeyMapIntentWriter({
      getMany: (flow, keys) => {
        reads++;
        return store.keyMap.getMany(flow, keys);
      },
      putMany: (entries) => store.keyMap.putMany(entries),
    });
    const [a, b, missing] = await Promise.all([
      writer.get('contacts', 'a'),
      writer.get('contacts', 'b'),
      writer.get('contacts', 'nope'),
    ]);
    expect(reads).toBe(1);
    expect(a?.recordKey).toBe('a');
    expect(b?.recordKey).toBe('b');
    expect(missing).toBeNull();
  });

  it('fails every caller of a batch whose commit failed', async () => {
    const writer = new KeyMapIntentWriter({
      getMany: () => Promise.resolve([]),
      putMany: () => Promise.reject(new Error('disk full')),
    });
    const results = await Promise.allSettled([writer.write(intent('a')), writer.write(intent('b'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
