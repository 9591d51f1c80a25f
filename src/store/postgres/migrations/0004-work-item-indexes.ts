import type { SqlMigration } from '../../sql/sql-migration.js';

/**
 * Indexes the inbox was missing:
 * - `work_items_by_key`: a record's items (queued and leased). Only partial indexes per state
 *   existed, which a look-up by key alone cannot use, so every park, failure and staging look-up
 *   scanned the whole inbox (parking 100,000 children slowed from ~900/s to under 100/s).
 * - `work_items_failing`: the items waiting for a retry, counted per flow and error code by the
 *   status without scanning the inbox.
 */
export const workItemIndexesPostgresMigration: SqlMigration = {
  version: 4,
  name: 'work-item-indexes',
  sql: `
CREATE INDEX work_items_by_key ON work_items (flow, record_key);
CREATE INDEX work_items_failing ON work_items (flow, last_error_code, first_failed_at) WHERE last_error_code IS NOT NULL;
`,
};
