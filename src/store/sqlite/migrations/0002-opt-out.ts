import type { SqlMigration } from '../../sql/sql-migration.js';

/**
 * Opt-outs (flow F4): the ledger of processed export files with row-level progress, quarantined
 * rows (file, line, reason — never values), the newest opt-out value the service wrote per contact,
 * attribute and system (echo suppression, I8), and the decision audit.
 */
export const optOutSqliteMigration: SqlMigration = {
  version: 2,
  name: 'opt-out',
  sql: `
CREATE TABLE opt_out_files (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  checksum TEXT NOT NULL,
  modified_at INTEGER,
  status TEXT NOT NULL CHECK (status IN ('processing', 'processed', 'failed')),
  line_checkpoint INTEGER NOT NULL DEFAULT 0,
  rows_applied INTEGER NOT NULL DEFAULT 0,
  rows_quarantined INTEGER NOT NULL DEFAULT 0,
  rows_skipped INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  disposition TEXT NOT NULL DEFAULT 'kept' CHECK (disposition IN ('kept', 'archived', 'deleted')),
  archived_path TEXT,
  disposed_at INTEGER,
  error_code TEXT,
  UNIQUE (name, size_bytes, checksum)
);
CREATE INDEX opt_out_files_name ON opt_out_files (name);
CREATE INDEX opt_out_files_disposition ON opt_out_files (disposition, disposed_at);

CREATE TABLE opt_out_quarantine (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  file_name TEXT NOT NULL,
  line INTEGER NOT NULL,
  reason TEXT NOT NULL,
  column_name TEXT,
  at INTEGER NOT NULL,
  UNIQUE (file_name, line)
);

CREATE TABLE opt_out_writes (
  system TEXT NOT NULL CHECK (system IN ('dynamics', 'campaign')),
  record_key TEXT NOT NULL,
  attribute TEXT NOT NULL,
  value INTEGER NOT NULL,
  at INTEGER NOT NULL,
  result_version TEXT,
  PRIMARY KEY (system, record_key, attribute)
);

CREATE TABLE opt_out_decisions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  record_key TEXT NOT NULL,
  dynamics_column TEXT NOT NULL,
  campaign_attribute TEXT NOT NULL,
  dynamics_value INTEGER,
  dynamics_changed_at INTEGER,
  campaign_value INTEGER,
  campaign_changed_at INTEGER,
  winner INTEGER NOT NULL,
  winning_side TEXT NOT NULL,
  rule TEXT NOT NULL,
  mode TEXT NOT NULL,
  source TEXT NOT NULL,
  source_ref TEXT,
  action TEXT NOT NULL
);
CREATE INDEX opt_out_decisions_key ON opt_out_decisions (record_key, id);
`,
};
