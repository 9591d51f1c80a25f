import { afterAll, beforeAll } from 'vitest';
import { openStateStore } from '../../../../src/store/open-state-store.js';
import { PostgresDriver } from '../../../../src/store/postgres/postgres-driver.js';
import { storeMigrations } from '../../../../src/store/sql/migrations/store-migrations.js';
import { SqlStateStore } from '../../../../src/store/sql/sql-state-store.js';
import { createPostgresTestSchema, type PostgresTestSchema } from '../../../support/postgres-test-schema.js';
import { describeOptOutStoreContract } from './opt-out-store-contract.js';

let schema: PostgresTestSchema;
const upgraded: PostgresTestSchema[] = [];
beforeAll(async () => {
  schema = await createPostgresTestSchema('pg_opt_out');
});
afterAll(async () => {
  await schema.drop();
  for (const extra of upgraded) await extra.drop();
});

describeOptOutStoreContract('postgres', {
  async openEmpty(clock) {
    const store = await openStateStore(schema.url, { clock, schema: schema.name, poolSize: 2 });
    await schema.emptyTables();
    return store;
  },
  async upgradeFrom4(clock, seed) {
    const fresh = await createPostgresTestSchema('pg_opt_out_v4');
    upgraded.push(fresh);
    const driver = new PostgresDriver({ connectionString: fresh.url, schema: fresh.name, poolSize: 1 });
    const old = new SqlStateStore(
      driver,
      clock,
      storeMigrations.filter((m) => m.version <= 4),
    );
    await old.migrate();
    await seed((sql, params) => driver.run(sql, params));
    await old.close();
    return openStateStore(fresh.url, { clock, schema: fresh.name, poolSize: 2 });
  },
});
