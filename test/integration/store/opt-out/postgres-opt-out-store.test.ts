import { afterAll, beforeAll } from 'vitest';
import { openStateStore } from '../../../../src/store/open-state-store.js';
import { createPostgresTestSchema, type PostgresTestSchema } from '../../../support/postgres-test-schema.js';
import { describeOptOutStoreContract } from './opt-out-store-contract.js';

let schema: PostgresTestSchema;
beforeAll(async () => {
  schema = await createPostgresTestSchema('pg_opt_out');
});
afterAll(async () => {
  await schema.drop();
});

describeOptOutStoreContract('postgres', {
  async openEmpty(clock) {
    const store = await openStateStore(schema.url, { clock, schema: schema.name, poolSize: 2 });
    await schema.emptyTables();
    return store;
  },
});
