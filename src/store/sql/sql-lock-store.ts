import { StoreError } from '../../core/errors.js';
import type { LockStore } from '../../core/ports/state-store.js';
import type { SqlStoreContext } from './sql-store-context.js';
import { requireText } from './staged-change-input.js';

/**
 * Named locks with an expiry, in `named_locks`. A lock is held while its row names the owner;
 * the expiry only lets another owner take it over, so a paused process cannot hold it forever.
 */
export class SqlLockStore implements LockStore {
  constructor(private readonly ctx: SqlStoreContext) {}

  async tryAcquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkLockArguments(name, owner, ttlMs);
    const now = this.ctx.clock.now();
    const rows = await this.ctx.driver.all(
      'INSERT INTO named_locks (name, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET ' +
        'owner = excluded.owner, expires_at = excluded.expires_at ' +
        'WHERE named_locks.owner = excluded.owner OR named_locks.expires_at <= ? RETURNING owner',
      [name, owner, now + ttlMs, now],
    );
    return rows.length > 0;
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkLockArguments(name, owner, ttlMs);
    const renewed = await this.ctx.driver.run(
      'UPDATE named_locks SET expires_at = ? WHERE name = ? AND owner = ?',
      [this.ctx.clock.now() + ttlMs, name, owner],
    );
    return renewed > 0;
  }

  async release(name: string, owner: string): Promise<void> {
    await this.ctx.driver.run('DELETE FROM named_locks WHERE name = ? AND owner = ?', [name, owner]);
  }
}

function checkLockArguments(name: string, owner: string, ttlMs: number): void {
  requireText(name, 'lock name');
  requireText(owner, `lock ${name}: owner`);
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new StoreError(
      'STORE_INVALID_INPUT',
      `lock ${name}: ttlMs must be a positive whole number of milliseconds`,
    );
  }
}
