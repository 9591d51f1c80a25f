import type { SqlMigration } from '../sql-migration.js';

/**
 * Workers and fenced duties. `workers` is the registry every `dcsync run` process keeps its row in
 * (heartbeat, state, duties held, items leased, budget slice), so any process and `dcsync status`
 * can list the live ones and mark the dead. `named_locks.epoch` grows by one each time a lock
 * changes hands (a fresh holder after a release or an expiry): a holder's writes carry the epoch it
 * acquired, and a transaction that checks it can never commit after a takeover.
 */
export const workersMigration: SqlMigration = {
  version: 11,
  name: 'workers',
  sql: (d) => `
CREATE TABLE workers (
  id ${d.key} PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  version TEXT NOT NULL,
  schema_version INTEGER NOT NULL,
  started_at ${d.bigint} NOT NULL,
  heartbeat_at ${d.bigint} NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('running', 'draining', 'stopped')),
  duties TEXT NOT NULL DEFAULT '[]',
  items_leased INTEGER NOT NULL DEFAULT 0,
  budget TEXT,
  last_error TEXT
);
CREATE INDEX workers_heartbeat ON workers (heartbeat_at);
ALTER TABLE named_locks ADD COLUMN epoch ${d.bigint} NOT NULL DEFAULT 0;
`,
};
