import Database from 'better-sqlite3';
import type { StateStore } from '../../src/core/ports/state-store.js';

/** A record key that sorts and prefixes predictably: `00000000-0000-4000-8000-<12 digits>`. */
export function syntheticKey(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

/**
 * Dead letters the way the engine makes them: staged, leased, failed with `retryAt: null`. One
 * transaction per failure, so keep `count` small; {@link bulkSeedDeadLetters} does volume.
 */
export async function failIntoDeadLetters(
  store: StateStore,
  flow: string,
  keys: readonly string[],
  error: { code: string; message: string },
): Promise<void> {
  await store.queue.enqueue(
    keys.map((recordKey) => ({
      flow,
      recordKey,
      payload: { op: 'delete', origin: 'delta', reason: 'deleted' },
    })),
  );
  const leased = await store.queue.lease({
    owner: 'test-seeder',
    limit: keys.length,
    leaseMs: 60_000,
    flows: [flow],
  });
  for (const item of leased)
    await store.queue.fail({
      id: item.id,
      owner: 'test-seeder',
      error: { ...error, retryable: false },
      retryAt: null,
    });
}

/**
 * Volume for paging tests: copies rows into the SQLite store's `dead_letters` table in one
 * transaction (the store API commits each failure with fsync, ~0.7 ms each). Keys are
 * {@link syntheticKey}(start…start+count-1); codes cycle through `codes`.
 */
export function bulkSeedDeadLetters(
  sqlitePath: string,
  options: { flow: string; count: number; start?: number; codes: readonly string[]; at: number },
): void {
  const db = new Database(sqlitePath);
  try {
    db.pragma('busy_timeout = 5000');
    const insert = db.prepare(
      'INSERT INTO dead_letters (flow, record_key, payload, source_version, code, message, attempts, first_failed_at, last_failed_at) ' +
        'VALUES (?, ?, ?, NULL, ?, ?, 1, ?, ?)',
    );
    const payload = JSON.stringify({ op: 'delete', origin: 'delta', reason: 'deleted' });
    const start = options.start ?? 0;
    db.transaction(() => {
      for (let i = 0; i < options.count; i++) {
        const code = options.codes[i % options.codes.length]!;
        insert.run(
          options.flow,
          syntheticKey(start + i),
          payload,
          code,
          `record ${options.flow}/${syntheticKey(start + i)} failed (${code})`,
          options.at,
          options.at,
        );
      }
    })();
  } finally {
    db.close();
  }
}
