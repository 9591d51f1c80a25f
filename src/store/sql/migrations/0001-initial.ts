import type { SqlMigration } from '../sql-migration.js';

/**
 * The first schema: inbox, parked set, dead letters, checkpoints, key map (with re-baseline seen
 * marks), audit trail, named locks.
 */
export const initialMigration: SqlMigration = {
  version: 1,
  name: 'initial',
  sql: (d) => `
CREATE TABLE work_items (
  id ${d.autoId},
  flow ${d.key} NOT NULL,
  record_key ${d.key} NOT NULL,
  payload TEXT NOT NULL,
  source_version TEXT,
  lane_rank ${d.smallint} NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'leased')),
  attempts INTEGER NOT NULL DEFAULT 0,
  enqueued_at ${d.bigint} NOT NULL,
  available_at ${d.bigint} NOT NULL,
  lease_owner TEXT,
  lease_expires_at ${d.bigint},
  last_error_code TEXT,
  last_error_message TEXT,
  last_error_retryable ${d.smallint},
  first_failed_at ${d.bigint}
);
CREATE UNIQUE INDEX work_items_one_queued_per_key ON work_items (flow, record_key) WHERE state = 'queued';
CREATE UNIQUE INDEX work_items_one_leased_per_key ON work_items (flow, record_key) WHERE state = 'leased';
CREATE INDEX work_items_lease_order ON work_items (lane_rank, id) WHERE state = 'queued';
CREATE INDEX work_items_lease_expiry ON work_items (lease_expires_at) WHERE state = 'leased';

CREATE TABLE parked_items (
  id ${d.autoId},
  flow ${d.key} NOT NULL,
  record_key ${d.key} NOT NULL,
  parent_flow ${d.key} NOT NULL,
  parent_key ${d.key} NOT NULL,
  payload TEXT NOT NULL,
  source_version TEXT,
  reason TEXT NOT NULL,
  parked_at ${d.bigint} NOT NULL,
  updated_at ${d.bigint} NOT NULL,
  UNIQUE (flow, record_key)
);
CREATE INDEX parked_items_parent ON parked_items (parent_flow, parent_key);

CREATE TABLE dead_letters (
  id ${d.autoId},
  flow ${d.key} NOT NULL,
  record_key ${d.key} NOT NULL,
  payload TEXT NOT NULL,
  source_version TEXT,
  code ${d.key} NOT NULL,
  message TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  first_failed_at ${d.bigint} NOT NULL,
  last_failed_at ${d.bigint} NOT NULL
);
CREATE INDEX dead_letters_key ON dead_letters (flow, record_key);
CREATE INDEX dead_letters_code ON dead_letters (code);

CREATE TABLE checkpoints (
  name ${d.key} PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at ${d.bigint} NOT NULL
);

CREATE TABLE key_map (
  flow ${d.key} NOT NULL,
  record_key ${d.key} NOT NULL,
  campaign_pkey TEXT,
  origin TEXT NOT NULL CHECK (origin IN ('created', 'adopted')),
  last_source_version TEXT,
  last_payload_hash TEXT,
  created_at ${d.bigint} NOT NULL,
  updated_at ${d.bigint} NOT NULL,
  PRIMARY KEY (flow, record_key)
);

CREATE TABLE key_seen (
  flow ${d.key} NOT NULL,
  run_id ${d.key} NOT NULL,
  record_key ${d.key} NOT NULL,
  PRIMARY KEY (flow, run_id, record_key)
);

CREATE TABLE audit_entries (
  id ${d.autoId},
  at ${d.bigint} NOT NULL,
  actor TEXT NOT NULL,
  action ${d.key} NOT NULL,
  flow ${d.key},
  record_key ${d.key},
  fields TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX audit_entries_key ON audit_entries (flow, record_key);
CREATE INDEX audit_entries_at ON audit_entries (at);

CREATE TABLE named_locks (
  name ${d.key} PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at ${d.bigint} NOT NULL
);
`,
};
