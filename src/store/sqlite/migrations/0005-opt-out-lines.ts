import type { SqlMigration } from '../../sql/sql-migration.js';

/**
 * Opt-out export files read line by line (issue #15): the file ledger gains the states `held`
 * (not whole: a cut last line or a missing trailer) and `superseded` (the file grew; a newer entry
 * of the same name carries on), a count of processing attempts, and the operator's dismissal; a
 * quarantined line gains its resolution (re-applied after a fix, or dismissed). SQLite cannot
 * change a CHECK constraint, so `opt_out_files` is rebuilt (ids kept) and its indexes made again.
 */
export const optOutLinesSqliteMigration: SqlMigration = {
  version: 5,
  name: 'opt-out-lines',
  sql: `
CREATE TABLE opt_out_files_v5 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  checksum TEXT NOT NULL,
  modified_at INTEGER,
  status TEXT NOT NULL CHECK (status IN ('processing', 'processed', 'held', 'failed', 'superseded')),
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
  attempts INTEGER NOT NULL DEFAULT 0,
  dismissed_at INTEGER,
  UNIQUE (name, size_bytes, checksum)
);
INSERT INTO opt_out_files_v5 (id, name, path, size_bytes, checksum, modified_at, status, line_checkpoint,
  rows_applied, rows_quarantined, rows_skipped, started_at, finished_at, disposition, archived_path,
  disposed_at, error_code)
SELECT id, name, path, size_bytes, checksum, modified_at, status, line_checkpoint, rows_applied,
  rows_quarantined, rows_skipped, started_at, finished_at, disposition, archived_path, disposed_at,
  error_code
FROM opt_out_files;
DROP TABLE opt_out_files;
ALTER TABLE opt_out_files_v5 RENAME TO opt_out_files;
CREATE INDEX opt_out_files_name ON opt_out_files (name);
CREATE INDEX opt_out_files_disposition ON opt_out_files (disposition, disposed_at);
CREATE INDEX opt_out_files_open ON opt_out_files (id)
  WHERE status IN ('processing', 'held', 'failed') AND dismissed_at IS NULL;

ALTER TABLE opt_out_quarantine ADD COLUMN resolved_at INTEGER;
ALTER TABLE opt_out_quarantine ADD COLUMN resolution TEXT CHECK (resolution IN ('reapplied', 'dismissed'));
CREATE INDEX opt_out_quarantine_open ON opt_out_quarantine (file_name, line) WHERE resolved_at IS NULL;
`,
};
