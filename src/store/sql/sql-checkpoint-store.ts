import type { CheckpointStore, CheckpointWrite } from '../../core/ports/state-store.js';
import type { SqlExecutor } from './sql-driver.js';
import type { SqlStoreContext } from './sql-store-context.js';
import { requireText } from './staged-change-input.js';

/** Named resume points (delta links, file cursors), in the `checkpoints` table. */
export class SqlCheckpointStore implements CheckpointStore {
  constructor(private readonly ctx: SqlStoreContext) {}

  async get(name: string): Promise<string | null> {
    const rows = await this.ctx.driver.all<{ value: string }>(
      'SELECT value FROM checkpoints WHERE name = ?',
      [name],
    );
    return rows[0]?.value ?? null;
  }

  async set(name: string, value: string): Promise<void> {
    await upsertCheckpoint(this.ctx.driver, { name, value }, this.ctx.clock.now());
  }

  async delete(name: string): Promise<void> {
    await this.ctx.driver.run('DELETE FROM checkpoints WHERE name = ?', [name]);
  }

  async list(prefix: string): Promise<{ name: string; value: string; updatedAt: number }[]> {
    const rows = await this.ctx.driver.all<{ name: string; value: string; updated_at: number | string }>(
      'SELECT name, value, updated_at FROM checkpoints WHERE substr(name, 1, ?) = ? ORDER BY name',
      [Array.from(prefix).length, prefix],
    );
    return rows.map((row) => ({ name: row.name, value: row.value, updatedAt: Number(row.updated_at) }));
  }
}

/** Insert or replace one checkpoint; also used inside `enqueue`'s transaction. */
export async function upsertCheckpoint(
  executor: SqlExecutor,
  checkpoint: CheckpointWrite,
  now: number,
): Promise<void> {
  requireText(checkpoint.name, 'checkpoint name');
  if (typeof checkpoint.value !== 'string') {
    requireText(checkpoint.value, `checkpoint ${checkpoint.name}: value`);
  }
  await executor.run(
    'INSERT INTO checkpoints (name, value, updated_at) VALUES (?, ?, ?) ' +
      'ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
    [checkpoint.name, checkpoint.value, now],
  );
}
