import type { SqlMigration } from '../sql-migration.js';

/**
 * Opt-outs (flow F4): the ledger of processed export files with row-level progress, quarantined
 * rows (file, line, reason — never values), the newest opt-out value the service wrote per contact,
 * attribute and system (echo suppression, I8), and the decision audit.
 */
export const optOutMigration: SqlMigration = {
  version: 2,
  name: 'opt-out',
  sql: (d) => `
CREATE TABLE opt_out_files (
  id ${d.autoId},
  name ${d.key} NOT NULL,
  path TEXT NOT NULL,
  size_bytes ${d.bigint} NOT NULL,
  checksum TEXT NOT NULL,
  modified_at ${d.bigint},
  status TEXT NOT NULL CHECK (status IN ('processing', 'processed', 'failed')),
  line_checkpoint ${d.bigint} NOT NULL DEFAULT 0,
  rows_applied ${d.bigint} NOT NULL DEFAULT 0,
  rows_quarantined ${d.bigint} NOT NULL DEFAULT 0,
  rows_skipped ${d.bigint} NOT NULL DEFAULT 0,
  started_at ${d.bigint} NOT NULL,
  finished_at ${d.bigint},
  disposition TEXT NOT NULL DEFAULT 'kept' CHECK (disposition IN ('kept', 'archived', 'deleted')),
  archived_path TEXT,
  disposed_at ${d.bigint},
  error_code TEXT,
  UNIQUE (name, size_bytes, checksum)
);
CREATE INDEX opt_out_files_name ON opt_out_files (name);
CREATE INDEX opt_out_files_disposition ON opt_out_files (disposition, disposed_at);

CREATE TABLE opt_out_quarantine (
  id ${d.autoId},
  file_name ${d.key} NOT NULL,
  line ${d.bigint} NOT NULL,
  reason TEXT NOT NULL,
  column_name TEXT,
  at ${d.bigint} NOT NULL,
  UNIQUE (file_name, line)
);

CREATE TABLE opt_out_writes (
  system TEXT NOT NULL CHECK (system IN ('dynamics', 'campaign')),
  record_key ${d.key} NOT NULL,
  attribute ${d.key} NOT NULL,
  value ${d.smallint} NOT NULL,
  at ${d.bigint} NOT NULL,
  result_version TEXT,
  PRIMARY KEY (system, record_key, attribute)
);

CREATE TABLE opt_out_decisions (
  id ${d.autoId},
  at ${d.bigint} NOT NULL,
  record_key ${d.key} NOT NULL,
  dynamics_column TEXT NOT NULL,
  campaign_attribute TEXT NOT NULL,
  dynamics_value ${d.smallint},
  dynamics_changed_at ${d.bigint},
  campaign_value ${d.smallint},
  campaign_changed_at ${d.bigint},
  winner ${d.smallint} NOT NULL,
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
