import type { SqlMigration } from '../../sql/sql-migration.js';

/**
 * The first schema: inbox, parked set, dead letters, checkpoints, key map (with re-baseline seen marks), audit trail, named
 * locks. Keys use the "C" collation so ordering (`listKeys`, cursors) is bytewise, as in SQLite.
 */
export const initialPostgresMigration: SqlMigration = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE work_items (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  flow TEXT COLLATE "C" NOT NULL,
  record_key TEXT COLLATE "C" NOT NULL,
  payload TEXT NOT NULL,
  source_version TEXT,
  lane_rank SMALLINT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'leased')),
  attempts INTEGER NOT NULL DEFAULT 0,
  enqueued_at BIGINT NOT NULL,
  available_at BIGINT NOT NULL,
  lease_owner TEXT,
  lease_expires_at BIGINT,
  last_error_code TEXT,
  last_error_message TEXT,
  last_error_retryable SMALLINT,
  first_failed_at BIGINT
);
CREATE UNIQUE INDEX work_items_one_queued_per_key ON work_items (flow, record_key) WHERE state = 'queued';
CREATE UNIQUE INDEX work_items_one_leased_per_key ON work_items (flow, record_key) WHERE state = 'leased';
CREATE INDEX work_items_lease_order ON work_items (lane_rank, id) WHERE state = 'queued';
CREATE INDEX work_items_lease_expiry ON work_items (lease_expires_at) WHERE state = 'leased';

CREATE TABLE parked_items (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  flow TEXT COLLATE "C" NOT NULL,
  record_key TEXT COLLATE "C" NOT NULL,
  parent_flow TEXT COLLATE "C" NOT NULL,
  parent_key TEXT COLLATE "C" NOT NULL,
  payload TEXT NOT NULL,
  source_version TEXT,
  reason TEXT NOT NULL,
  parked_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (flow, record_key)
);
CREATE INDEX parked_items_parent ON parked_items (parent_flow, parent_key);

CREATE TABLE dead_letters (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  flow TEXT COLLATE "C" NOT NULL,
  record_key TEXT COLLATE "C" NOT NULL,
  payload TEXT NOT NULL,
  source_version TEXT,
  code TEXT COLLATE "C" NOT NULL,
  message TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  first_failed_at BIGINT NOT NULL,
  last_failed_at BIGINT NOT NULL
);
CREATE INDEX dead_letters_key ON dead_letters (flow, record_key);
CREATE INDEX dead_letters_code ON dead_letters (code);

CREATE TABLE checkpoints (
  name TEXT COLLATE "C" PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE key_map (
  flow TEXT COLLATE "C" NOT NULL,
  record_key TEXT COLLATE "C" NOT NULL,
  campaign_pkey TEXT,
  origin TEXT NOT NULL CHECK (origin IN ('created', 'adopted')),
  last_source_version TEXT,
  last_payload_hash TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (flow, record_key)
);

CREATE TABLE key_seen (
  flow TEXT COLLATE "C" NOT NULL,
  run_id TEXT COLLATE "C" NOT NULL,
  record_key TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (flow, run_id, record_key)
);

CREATE TABLE audit_entries (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT COLLATE "C" NOT NULL,
  flow TEXT COLLATE "C",
  record_key TEXT COLLATE "C",
  fields TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX audit_entries_key ON audit_entries (flow, record_key);
CREATE INDEX audit_entries_at ON audit_entries (at);

CREATE TABLE named_locks (
  name TEXT COLLATE "C" PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
`,
};
