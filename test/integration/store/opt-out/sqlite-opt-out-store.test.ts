import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openStateStore } from '../../../../src/store/open-state-store.js';
import { SqlStateStore } from '../../../../src/store/sql/sql-state-store.js';
import { SqliteDriver } from '../../../../src/store/sqlite/sqlite-driver.js';
import { storeMigrations } from '../../../../src/store/sql/migrations/store-migrations.js';
import { describeOptOutStoreContract } from './opt-out-store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'dcsync-opt-out-store-'));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeOptOutStoreContract('sqlite', {
  openEmpty: (clock) => openStateStore(`sqlite:${join(dir, `store-${files++}.db`)}`, { clock }),
  async upgradeFrom4(clock, seed) {
    const filename = join(dir, `upgrade-${files++}.db`);
    const driver = new SqliteDriver({ filename });
    const old = new SqlStateStore(
      driver,
      clock,
      storeMigrations.filter((m) => m.version <= 4),
    );
    await old.migrate();
    await seed((sql, params) => driver.run(sql, params));
    await old.close();
    return openStateStore(`sqlite:${filename}`, { clock });
  },
});
