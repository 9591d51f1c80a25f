import type { SqlMigration } from '../../sql/sql-migration.js';

/**
 * Opt-outs (flow F4): the ledger of processed export files with row-level progress, quarantined
 * rows (file, line, reason — never values), the newest opt-out value the service wrote per contact,
 * attribute and system (echo suppression, I8), and the decision audit. Keys use the "C"
 * collation, as in 0001.
 */
export const optOutPostgresMigration: SqlMigration = {
  version: 2,
  name: 'opt-out',
  sql: `
CREATE TABLE opt_out_files (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL,
  path TEXT NOT NULL,
  size_bytes BIGINT NOT NULL,
  checksum TEXT NOT NULL,
  modified_at BIGINT,
  status TEXT NOT NULL CHECK (status IN ('processing', 'processed', 'failed')),
  line_checkpoint BIGINT NOT NULL DEFAULT 0,
  rows_applied BIGINT NOT NULL DEFAULT 0,
  rows_quarantined BIGINT NOT NULL DEFAULT 0,
  rows_skipped BIGINT NOT NULL DEFAULT 0,
  started_at BIGINT NOT NULL,
  finished_at BIGINT,
  disposition TEXT NOT NULL DEFAULT 'kept' CHECK (disposition IN ('kept', 'archived', 'deleted')),
  archived_path TEXT,
  disposed_at BIGINT,
  error_code TEXT,
  UNIQUE (name, size_bytes, checksum)
);
CREATE INDEX opt_out_files_name ON opt_out_files (name);
CREATE INDEX opt_out_files_disposition ON opt_out_files (disposition, disposed_at);

CREATE TABLE opt_out_quarantine (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  file_name TEXT COLLATE "C" NOT NULL,
  line BIGINT NOT NULL,
  reason TEXT NOT NULL,
  column_name TEXT,
  at BIGINT NOT NULL,
  UNIQUE (file_name, line)
);

CREATE TABLE opt_out_writes (
  system TEXT NOT NULL CHECK (system IN ('dynamics', 'campaign')),
  record_key TEXT COLLATE "C" NOT NULL,
  attribute TEXT COLLATE "C" NOT NULL,
  value SMALLINT NOT NULL,
  at BIGINT NOT NULL,
  result_version TEXT,
  PRIMARY KEY (system, record_key, attribute)
);

CREATE TABLE opt_out_decisions (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at BIGINT NOT NULL,
  record_key TEXT COLLATE "C" NOT NULL,
  dynamics_column TEXT NOT NULL,
  campaign_attribute TEXT NOT NULL,
  dynamics_value SMALLINT,
  dynamics_changed_at BIGINT,
  campaign_value SMALLINT,
  campaign_changed_at BIGINT,
  winner SMALLINT NOT NULL,
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
