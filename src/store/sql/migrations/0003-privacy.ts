import type { SqlMigration } from '../sql-migration.js';

/**
 * Privacy requests (flow F5): requests, their append-only step history, and the holds and
 * tombstones that guard records (one row per record key; `version` lets engines cache them).
 */
export const privacyMigration: SqlMigration = {
  version: 3,
  name: 'privacy',
  sql: (d) => `
CREATE TABLE privacy_requests (
  id ${d.autoId},
  type TEXT NOT NULL CHECK (type IN ('delete', 'access')),
  contact_key ${d.key} NOT NULL,
  regulation TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'in-progress', 'completed', 'failed')),
  step TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  created_at ${d.bigint} NOT NULL,
  updated_at ${d.bigint} NOT NULL,
  next_attempt_at ${d.bigint} NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  job_id TEXT,
  held_at ${d.bigint},
  tombstoned_at ${d.bigint},
  profile_pkey TEXT,
  linked TEXT NOT NULL DEFAULT '[]',
  error_code TEXT,
  error_message TEXT
);
CREATE UNIQUE INDEX privacy_requests_one_active_delete ON privacy_requests (contact_key)
  WHERE type = 'delete' AND state IN ('pending', 'in-progress');
CREATE INDEX privacy_requests_due ON privacy_requests (next_attempt_at) WHERE state IN ('pending', 'in-progress');
CREATE INDEX privacy_requests_contact ON privacy_requests (contact_key);

CREATE TABLE privacy_request_steps (
  id ${d.autoId},
  request_id ${d.bigint} NOT NULL,
  step TEXT NOT NULL,
  outcome TEXT NOT NULL,
  started_at ${d.bigint} NOT NULL,
  finished_at ${d.bigint} NOT NULL,
  detail TEXT
);
CREATE INDEX privacy_request_steps_request ON privacy_request_steps (request_id, id);

CREATE TABLE privacy_guards (
  record_key ${d.key} PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('hold', 'tombstone')),
  request_id ${d.bigint},
  created_at ${d.bigint} NOT NULL
);

CREATE TABLE privacy_guard_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version ${d.bigint} NOT NULL
);
INSERT INTO privacy_guard_version (id, version) VALUES (1, 0);
`,
};
