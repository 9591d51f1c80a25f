import { perDialect, type MigrationDialect } from '../migration-dialect.js';
import type { SqlMigration } from '../sql-migration.js';

/**
 * The dialect-specific step of migration 5: widen the `status` CHECK of `opt_out_files` and add
 * `attempts` and `dismissed_at`. SQLite cannot change a CHECK constraint, so it rebuilds the table
 * (ids kept) and makes its indexes again; PostgreSQL alters the table in place.
 */
const widenOptOutFiles = (d: MigrationDialect): string =>
  perDialect(d, {
    sqlite: `
CREATE TABLE opt_out_files_v5 (
  id ${d.autoId},
  name ${d.key} NOT NULL,
  path TEXT NOT NULL,
  size_bytes ${d.bigint} NOT NULL,
  checksum TEXT NOT NULL,
  modified_at ${d.bigint},
  status TEXT NOT NULL CHECK (status IN ('processing', 'processed', 'held', 'failed', 'superseded')),
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
  attempts ${d.bigint} NOT NULL DEFAULT 0,
  dismissed_at ${d.bigint},
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
CREATE INDEX opt_out_files_disposition ON opt_out_files (disposition, disposed_at);`,
    postgres: `
ALTER TABLE opt_out_files DROP CONSTRAINT opt_out_files_status_check;
ALTER TABLE opt_out_files ADD CONSTRAINT opt_out_files_status_check
  CHECK (status IN ('processing', 'processed', 'held', 'failed', 'superseded'));
ALTER TABLE opt_out_files ADD COLUMN attempts ${d.bigint} NOT NULL DEFAULT 0;
ALTER TABLE opt_out_files ADD COLUMN dismissed_at ${d.bigint};`,
  });

/**
 * Opt-out export files read line by line (issue #15): the file ledger gains the states `held`
 * (not whole: a cut last line or a missing trailer) and `superseded` (the file grew; a newer entry
 * of the same name carries on), a count of processing attempts, and the operator's dismissal; a
 * quarantined line gains its resolution (re-applied after a fix, or dismissed).
 */
export const optOutLinesMigration: SqlMigration = {
  version: 5,
  name: 'opt-out-lines',
  sql: (d) => `${widenOptOutFiles(d)}
CREATE INDEX opt_out_files_open ON opt_out_files (id)
  WHERE status IN ('processing', 'held', 'failed') AND dismissed_at IS NULL;

ALTER TABLE opt_out_quarantine ADD COLUMN resolved_at ${d.bigint};
ALTER TABLE opt_out_quarantine ADD COLUMN resolution TEXT CHECK (resolution IN ('reapplied', 'dismissed'));
CREATE INDEX opt_out_quarantine_open ON opt_out_quarantine (file_name, line) WHERE resolved_at IS NULL;
`,
};
