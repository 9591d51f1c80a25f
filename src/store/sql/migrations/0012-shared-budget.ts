import type { SqlMigration } from '../sql-migration.js';

/**
 * The shared call budget (docs/store.md, "Shared call budget"): one row per budget with the
 * adaptive rate every worker shares (in thousandths of a call per second, so both dialects store
 * whole numbers), one row per budget and UTC day with the calls committed (granted to slices and
 * not returned) and spent (as the workers reported them), and one row per budget and worker with
 * the slice it holds. Calls never leave `committed` unless their worker returns them: a worker
 * that dies keeps its unspent slice counted, so no restart or crash loop re-grants spent calls.
 */
export const sharedBudgetMigration: SqlMigration = {
  version: 12,
  name: 'shared-budget',
  sql: (d) => `
CREATE TABLE budget_state (
  budget ${d.key} PRIMARY KEY,
  limit_milli ${d.bigint} NOT NULL,
  rate_milli ${d.bigint} NOT NULL,
  grown_at ${d.bigint} NOT NULL,
  cut_at ${d.bigint},
  cut_reason TEXT,
  cuts ${d.bigint} NOT NULL DEFAULT 0,
  paused_until ${d.bigint} NOT NULL DEFAULT 0
);

CREATE TABLE budget_days (
  budget ${d.key} NOT NULL,
  day ${d.key} NOT NULL,
  calls_committed ${d.bigint} NOT NULL DEFAULT 0,
  engine_calls_committed ${d.bigint} NOT NULL DEFAULT 0,
  calls_spent ${d.bigint} NOT NULL DEFAULT 0,
  engine_calls_spent ${d.bigint} NOT NULL DEFAULT 0,
  PRIMARY KEY (budget, day)
);

CREATE TABLE budget_slices (
  budget ${d.key} NOT NULL,
  owner ${d.key} NOT NULL,
  day ${d.key} NOT NULL,
  calls ${d.bigint} NOT NULL,
  engine_calls ${d.bigint} NOT NULL,
  rate_milli ${d.bigint} NOT NULL,
  held_rate_milli ${d.bigint} NOT NULL,
  held_until ${d.bigint} NOT NULL,
  leased_at ${d.bigint} NOT NULL,
  expires_at ${d.bigint} NOT NULL,
  PRIMARY KEY (budget, owner)
);
`,
};
