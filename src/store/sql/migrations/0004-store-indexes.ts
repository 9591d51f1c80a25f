import type { SqlMigration } from '../sql-migration.js';

/**
 * Indexes the store was missing (the same SQL in both dialects).
 * - `work_items_by_key`: a record's items (queued and leased). Only partial indexes per state
 *   existed, which a look-up by key alone cannot use, so every park, failure and staging look-up
 *   scanned the whole inbox (parking 100,000 children slowed from ~900/s to under 100/s).
 * - `work_items_failing`: the items waiting for a retry, counted per flow and error code by the
 *   status without scanning the inbox.
 * - `key_map_synced`: "synced" counts only records with a Campaign PKey, from this index alone.
 * - `audit_entries_record` and `audit_entries_action`: a record's history and the operator actions
 *   (`/api/audit?recordKey=…`, `?action=…`, paged by id) without reading the whole audit trail,
 *   which grows by one entry per write.
 */
export const storeIndexesMigration: SqlMigration = {
  version: 4,
  name: 'store-indexes',
  sql: () => `
CREATE INDEX work_items_by_key ON work_items (flow, record_key);
CREATE INDEX work_items_failing ON work_items (flow, last_error_code, first_failed_at) WHERE last_error_code IS NOT NULL;
CREATE INDEX key_map_synced ON key_map (flow) WHERE campaign_pkey IS NOT NULL;
CREATE INDEX audit_entries_record ON audit_entries (record_key, id);
CREATE INDEX audit_entries_action ON audit_entries (action, id);
`,
};
