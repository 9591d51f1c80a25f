import { SqliteDriver } from '../../../src/store/sqlite/sqlite-driver.js';
import { SqlBudgetStore } from '../../../src/store/sql/sql-budget-store.js';
import { SqlStateStore } from '../../../src/store/sql/sql-state-store.js';
import { describeSharedBudget } from '../../support/shared-budget-scenarios.js';

// The slice logic on one SQLite store shared by every worker, with the rate split between them as
// on PostgreSQL (a SQLite state store itself gives its one process the whole rate).
describeSharedBudget('sqlite, rate split as on postgres', {
  async open(clock) {
    const driver = new SqliteDriver({ filename: ':memory:' });
    const store = new SqlStateStore(driver, clock);
    await store.migrate();
    const budgets = new SqlBudgetStore({ driver, clock }, { shareRate: true });
    return { storeFor: () => budgets, close: () => store.close() };
  },
});
