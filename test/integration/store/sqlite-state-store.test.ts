import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../../../src/core/clock.js';
import { ConfigError, StoreError } from '../../../src/core/errors.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { SqliteStateStore } from '../../../src/store/sqlite/sqlite-state-store.js';
import { sqliteMigrations } from '../../../src/store/sqlite/sqlite-migrations.js';
import { describeStateStoreContract } from './state-store-contract.js';

let dir: string;
let files = 0;
let lastFile = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dcsync-sqlite-store-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describeStateStoreContract('sqlite', {
  openEmpty(clock: Clock) {
    lastFile = join(dir, `contract-${files++}.db`);
    return openStateStore(`sqlite:${lastFile}`, { clock });
  },
  openSame(clock: Clock) {
    return openStateStore(`sqlite:${lastFile}`, { clock });
  },
});

describe('sqlite state store adapter', () => {
  it('uses WAL and records each migration once, also when two processes migrate at once', async () => {
    const file = join(dir, 'migrate.db');
    const stores = [new SqliteStateStore({ filename: file }), new SqliteStateStore({ filename: file })];
    await Promise.all(stores.map((store) => store.migrate()));
    await stores[0]!.migrate();
    await Promise.all(stores.map((store) => store.close()));
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all()).toEqual(
        sqliteMigrations.map(({ version, name }) => ({ version, name })),
      );
    } finally {
      db.close();
    }
  });

  it('opens sqlite:<relative path>, creating parent directories', async () => {
    const file = join(dir, 'nested', 'deeper', 'state.db');
    const store = await openStateStore(`sqlite:./${relative(process.cwd(), file)}`, {
      clock: new ManualClock(),
    });
    await store.checkpoints.set('a', 'b');
    await store.close();
    expect(existsSync(file)).toBe(true);
  });

  it('opens a private in-memory store with sqlite::memory:', async () => {
    const first = await openStateStore('sqlite::memory:');
    const second = await openStateStore('sqlite::memory:');
    await first.checkpoints.set('a', 'b');
    expect(await second.checkpoints.get('a')).toBeNull();
    expect(first.dialect).toBe('sqlite');
    await Promise.all([first.close(), second.close()]);
  });

  it('rejects unsupported store URLs with a ConfigError naming the accepted forms, never echoing a password', async () => {
    for (const url of [
      '',
      'mysql://root:hunter2@db/x',
      'sqlite:',
      'postgres://u:hunter2@host:99999/db',
      'state.db',
    ]) {
      const error = await openStateStore(url).catch((e: unknown) => e);
      expect(error, url).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain('sqlite:./path/to/state.db');
      expect((error as ConfigError).message).toContain('postgres://');
      expect((error as ConfigError).message).not.toContain('hunter2');
    }
  });

  it('refuses to run against a database newer than this build', async () => {
    const file = join(dir, 'newer.db');
    await (await openStateStore(`sqlite:${file}`)).close();
    const db = new Database(file);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)").run();
    db.close();
    const error = await openStateStore(`sqlite:${file}`).catch((e: unknown) => e);
    expect((error as StoreError).code).toBe('STORE_SCHEMA_TOO_NEW');
  });

  it('reports a store used before migrating as STORE_NOT_MIGRATED', async () => {
    const store = new SqliteStateStore({ filename: ':memory:' });
    const error = await store.checkpoints.get('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('STORE_NOT_MIGRATED');
    await store.close();
  });
});
