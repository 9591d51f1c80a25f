import type { SqlMigration } from '../../sql/sql-migration.js';

/**
 * Opt-out export files read line by line (issue #15): the file ledger gains the states `held`
 * (not whole: a cut last line or a missing trailer) and `superseded` (the file grew; a newer entry
 * of the same name carries on), a count of processing attempts, and the operator's dismissal; a
 * quarantined line gains its resolution (re-applied after a fix, or dismissed).
 */
export const optOutLinesPostgresMigration: SqlMigration = {
  version: 5,
  name: 'opt-out-lines',
  sql: `
ALTER TABLE opt_out_files DROP CONSTRAINT opt_out_files_status_check;
ALTER TABLE opt_out_files ADD CONSTRAINT opt_out_files_status_check
  CHECK (status IN ('processing', 'processed', 'held', 'failed', 'superseded'));
ALTER TABLE opt_out_files ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE opt_out_files ADD COLUMN dismissed_at BIGINT;
CREATE INDEX opt_out_files_open ON opt_out_files (id)
  WHERE status IN ('processing', 'held', 'failed') AND dismissed_at IS NULL;

ALTER TABLE opt_out_quarantine ADD COLUMN resolved_at BIGINT;
ALTER TABLE opt_out_quarantine ADD COLUMN resolution TEXT CHECK (resolution IN ('reapplied', 'dismissed'));
CREATE INDEX opt_out_quarantine_open ON opt_out_quarantine (file_name, line) WHERE resolved_at IS NULL;
`,
};
