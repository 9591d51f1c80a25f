import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteDriver } from '../../../src/store/sqlite/sqlite-driver.js';

/**
 * The SQLite driver's group commit: the calls of one event-loop turn share one transaction, each
 * transaction in a savepoint of its own, and settle once it is committed.
 */
describe('SqliteDriver group commit', () => {
  let dir: string;
  let driver: SqliteDriver;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dcsync-group-commit-'));
    driver = new SqliteDriver({ filename: join(dir, 'state.db') });
    await driver.run('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  });

  afterEach(async () => {
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = (): Promise<{ k: string; v: number }[]> => driver.all('SELECT k, v FROM t ORDER BY k');

  it('undoes a failing transaction alone; the calls around it commit, in the order they were made', async () => {
    const results = await Promise.allSettled([
      driver.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 1]),
      driver.transaction('fails', async (tx) => {
        await tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['b', 2]);
        await tx.run('UPDATE t SET v = 10 WHERE k = ?', ['a']);
        throw new Error('boom');
      }),
      driver.transaction('works', async (tx) => {
        await tx.run('UPDATE t SET v = v + 1 WHERE k = ?', ['a']);
        return tx.all<{ v: number }>('SELECT v FROM t WHERE k = ?', ['a']);
      }),
      // A duplicate key: this statement fails alone.
      driver.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 3]),
      driver.all('SELECT COUNT(*) AS n FROM t'),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect((results[2] as PromiseFulfilledResult<unknown>).value).toEqual([{ v: 2 }]);
    expect((results[4] as PromiseFulfilledResult<unknown>).value).toEqual([{ n: 1 }]);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ cause: { message: 'boom' } });
    expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ code: 'STORE_QUERY_FAILED' });
    expect(await rows()).toEqual([{ k: 'a', v: 2 }]);
  });

  it('settles every call only once its group is durable, and a later group sees it', async () => {
    const order: string[] = [];
    const first = driver.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 1]).then(() => order.push('a'));
    const second = driver
      .transaction('t', async (tx) => tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['b', 2]))
      .then(() => order.push('b'));
    await Promise.all([first, second]);
    expect(order).toEqual(['a', 'b']);
    // A second connection (another process) sees both: they were committed before they settled.
    const other = new SqliteDriver({ filename: join(dir, 'state.db') });
    try {
      expect(await other.all('SELECT k FROM t ORDER BY k')).toEqual([{ k: 'a' }, { k: 'b' }]);
    } finally {
      await other.close();
    }
  });

  it('rejects calls made after close', async () => {
    await driver.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 1]);
    const other = new SqliteDriver({ filename: join(dir, 'other.db') });
    await other.close();
    await expect(other.all('SELECT 1')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await expect(other.transaction('t', () => Promise.resolve(1))).rejects.toMatchObject({
      code: 'STORE_CLOSED',
    });
  });
});
