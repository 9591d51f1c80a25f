import { StoreError } from '../../core/errors.js';
import type { LockFence, LockHolder, LockStore } from '../../core/ports/state-store.js';
import { insertAuditEntries } from './sql-audit-store.js';
import type { SqlTransaction } from './sql-driver.js';
import type { SqlStoreContext } from './sql-store-context.js';
import { requireText } from './staged-change-input.js';

type LockRow = {
  name: string;
  owner: string;
  expires_at: number | string;
  epoch: number | string;
};

/**
 * Named locks with an expiry and an epoch, in `named_locks`. A lock is held while its row names
 * the owner and is not released (`expires_at` 0); the expiry only lets another owner take it over,
 * so a paused process cannot hold it forever. A release keeps the row (and its epoch), so the epoch
 * only ever grows: a holder's fence can never match again once the lock changed hands.
 */
export class SqlLockStore implements LockStore {
  constructor(private readonly ctx: SqlStoreContext) {}

  async tryAcquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.take(name, owner, ttlMs, false)) !== null;
  }

  acquire(name: string, owner: string, ttlMs: number): Promise<number | null> {
    return this.take(name, owner, ttlMs, true);
  }

  private async take(name: string, owner: string, ttlMs: number, audit: boolean): Promise<number | null> {
    checkLockArguments(name, owner, ttlMs);
    const now = this.ctx.clock.now();
    return this.ctx.driver.transaction('lock acquire', async (tx) => {
      await tx.run(
        "INSERT INTO named_locks (name, owner, expires_at, epoch) VALUES (?, '', 0, 0) ON CONFLICT (name) DO NOTHING",
        [name],
      );
      const [row] = await tx.all<LockRow>(
        `SELECT name, owner, expires_at, epoch FROM named_locks WHERE name = ? ${tx.forUpdate}`,
        [name],
      );
      if (!row) throw new StoreError('STORE_QUERY_FAILED', `lock ${name}: row vanished while acquiring it`);
      const expiresAt = Number(row.expires_at);
      const epoch = Number(row.epoch);
      if (row.owner === owner && expiresAt > 0) {
        // Still ours (even past its expiry, as no one took it over): same epoch.
        await tx.run('UPDATE named_locks SET expires_at = ? WHERE name = ?', [now + ttlMs, name]);
        return epoch;
      }
      if (expiresAt > now) return null;
      const next = epoch + 1;
      await tx.run('UPDATE named_locks SET owner = ?, expires_at = ?, epoch = ? WHERE name = ?', [
        owner,
        now + ttlMs,
        next,
        name,
      ]);
      if (!audit) return next;
      const previous =
        row.owner === ''
          ? 'free'
          : expiresAt === 0
            ? `released by ${row.owner}`
            : `expired, held by ${row.owner}`;
      await insertAuditEntries(tx, [
        {
          at: now,
          actor: owner,
          action: 'duty.acquired',
          flow: null,
          recordKey: name,
          fields: [],
          outcome: 'acquired',
          detail: `epoch ${next}; was ${previous}`,
        },
      ]);
      return next;
    });
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkLockArguments(name, owner, ttlMs);
    const renewed = await this.ctx.driver.run(
      'UPDATE named_locks SET expires_at = ? WHERE name = ? AND owner = ? AND expires_at > 0',
      [this.ctx.clock.now() + ttlMs, name, owner],
    );
    return renewed > 0;
  }

  async release(name: string, owner: string, options: { audit?: boolean } = {}): Promise<void> {
    const now = this.ctx.clock.now();
    await this.ctx.driver.transaction('lock release', async (tx) => {
      const rows = await tx.all<LockRow>(
        'UPDATE named_locks SET expires_at = 0 WHERE name = ? AND owner = ? AND expires_at > 0 RETURNING name, owner, expires_at, epoch',
        [name, owner],
      );
      const row = rows[0];
      if (!row || options.audit !== true) return;
      await insertAuditEntries(tx, [
        {
          at: now,
          actor: owner,
          action: 'duty.released',
          flow: null,
          recordKey: name,
          fields: [],
          outcome: 'released',
          detail: `epoch ${Number(row.epoch)}`,
        },
      ]);
    });
  }

  async list(prefix?: string): Promise<LockHolder[]> {
    const rows = await this.ctx.driver.all<LockRow>(
      prefix === undefined
        ? "SELECT name, owner, expires_at, epoch FROM named_locks WHERE owner <> '' ORDER BY name"
        : "SELECT name, owner, expires_at, epoch FROM named_locks WHERE owner <> '' AND substr(name, 1, ?) = ? ORDER BY name",
      prefix === undefined ? [] : [prefix.length, prefix],
    );
    return rows.map((row) => ({
      name: row.name,
      owner: row.owner,
      epoch: Number(row.epoch),
      expiresAt: Number(row.expires_at),
    }));
  }
}

/**
 * Inside a writer's transaction: go on only while the fence's lock names its owner at its epoch
 * and is not released. The row is locked until the transaction ends, so a takeover waits for it.
 */
export async function checkLockFence(tx: SqlTransaction, fence: LockFence): Promise<void> {
  const rows = await tx.all(
    `SELECT epoch FROM named_locks WHERE name = ? AND owner = ? AND epoch = ? AND expires_at > 0 ${tx.forUpdate}`,
    [fence.name, fence.owner, fence.epoch],
  );
  if (rows.length === 0) {
    throw new StoreError(
      'STORE_LOCK_LOST',
      `lock ${fence.name}: no longer held by ${fence.owner} at epoch ${fence.epoch} (another worker took it over); nothing was written`,
    );
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
