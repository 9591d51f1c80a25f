import type { SqlMigration } from '../sql-migration.js';

/**
 * Run history: one row per run (initial load, replay, re-baseline, opt-out file, privacy request)
 * with its counts as JSON, and its events. Kinds and triggers are not constrained, so a new kind
 * needs no migration; outcomes are. `runs_active` finds the runs still running without reading
 * the history, `runs_ended` serves retention.
 */
export const runsMigration: SqlMigration = {
  version: 7,
  name: 'runs',
  sql: (d) => `
CREATE TABLE runs (
  id ${d.autoId},
  flow ${d.key} NOT NULL,
  kind ${d.key} NOT NULL,
  trigger TEXT NOT NULL,
  subject ${d.key},
  started_at ${d.bigint} NOT NULL,
  ended_at ${d.bigint},
  outcome TEXT NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
  phase TEXT NOT NULL CHECK (phase IN ('reading', 'writing', 'ended')),
  total ${d.bigint},
  total_source TEXT CHECK (total_source IN ('count', 'read')),
  counts TEXT NOT NULL,
  updated_at ${d.bigint} NOT NULL
);
CREATE INDEX runs_flow ON runs (flow, id);
CREATE INDEX runs_kind ON runs (kind, id);
CREATE INDEX runs_active ON runs (id) WHERE outcome = 'running';
CREATE INDEX runs_ended ON runs (ended_at) WHERE ended_at IS NOT NULL;

CREATE TABLE run_events (
  id ${d.autoId},
  run_id ${d.bigint} NOT NULL,
  at ${d.bigint} NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX run_events_run ON run_events (run_id, id);
`,
};
