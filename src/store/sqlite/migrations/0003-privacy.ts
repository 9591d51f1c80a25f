import type { SqlMigration } from '../../sql/sql-migration.js';

/**
 * Privacy requests (flow F5): requests, their append-only step history, and the holds and
 * tombstones that guard records (one row per record key; `version` lets engines cache them).
 */
export const privacySqliteMigration: SqlMigration = {
  version: 3,
  name: 'privacy',
  sql: `
CREATE TABLE privacy_requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL CHECK (type IN ('delete', 'access')),
  contact_key TEXT NOT NULL,
  regulation TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'in-progress', 'completed', 'failed')),
  step TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  job_id TEXT,
  held_at INTEGER,
  tombstoned_at INTEGER,
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
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id INTEGER NOT NULL,
  step TEXT NOT NULL,
  outcome TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  detail TEXT
);
CREATE INDEX privacy_request_steps_request ON privacy_request_steps (request_id, id);

CREATE TABLE privacy_guards (
  record_key TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('hold', 'tombstone')),
  request_id INTEGER,
  created_at INTEGER NOT NULL
);

CREATE TABLE privacy_guard_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
INSERT INTO privacy_guard_version (id, version) VALUES (1, 0);
`,
};
