import { afterAll, beforeAll } from 'vitest';
import { openStateStore } from '../../../src/store/open-state-store.js';
import type { StateStore } from '../../../src/core/ports/state-store.js';
import { createPostgresTestSchema, type PostgresTestSchema } from '../../support/postgres-test-schema.js';
import { describeSharedBudget } from '../../support/shared-budget-scenarios.js';

let schema: PostgresTestSchema;

beforeAll(async () => {
  schema = await createPostgresTestSchema('pg_budget');
});

afterAll(async () => {
  await schema.drop();
});

// Several workers as in several processes: each budget instance has its own store (its own pool)
// on the one schema.
describeSharedBudget('postgres, a store per worker', {
  async open(clock) {
    const stores = new Map<number, StateStore>();
    const first = await openStateStore(schema.url, { clock, schema: schema.name, poolSize: 2 });
    await schema.emptyTables();
    stores.set(0, first);
    const opening: Promise<void>[] = [];
    return {
      storeFor: (index) => {
        const open = stores.get(index);
        if (open) return open.budgets;
        // Open lazily; the budget's first lease waits for it.
        let store: StateStore | null = null;
        const ready = openStateStore(schema.url, {
          clock,
          schema: schema.name,
          poolSize: 2,
          migrate: false,
        }).then((s) => {
          store = s;
          stores.set(index, s);
        });
        opening.push(ready);
        return {
          lease: async (request) => (await ready, store!.budgets.lease(request)),
          release: async (...args) => (await ready, store!.budgets.release(...args)),
          day: async (...args) => (await ready, store!.budgets.day(...args)),
        };
      },
      async close() {
        await Promise.allSettled(opening);
        await Promise.all([...stores.values()].map((s) => s.close()));
      },
    };
  },
});
