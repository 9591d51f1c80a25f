import { openStateStore } from '../../../src/store/open-state-store.js';
import { describeSharedBudget } from '../../support/shared-budget-scenarios.js';

// One SQLite process: every worker uses the one store (the day counts still survive restarts).
describeSharedBudget('sqlite, one process', {
  async open(clock) {
    const store = await openStateStore('sqlite::memory:', { clock });
    return { storeFor: () => store.budgets, close: () => store.close() };
  },
});
