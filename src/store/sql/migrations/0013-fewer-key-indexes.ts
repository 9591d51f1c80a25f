import type { SqlMigration } from '../sql-migration.js';

/**
 * Fewer random-keyed index writes per record (the same SQL in both dialects). Record keys are
 * GUIDs: every index led by one takes a write on a random page per row, and a large load (the bulk
 * lane's 1,000,000 rows, docs/bulk-loads.md) is paid mostly in those pages.
 * - `work_items_by_key` goes: the two partial unique indexes per state (`…_one_queued_per_key`,
 *   `…_one_leased_per_key`) hold every item (an item is either queued or leased), so a look-up of a
 *   key's items reads both (`(state = 'queued' AND …) OR (state = 'leased' AND …)`, a multi-index
 *   OR in SQLite, a BitmapOr in PostgreSQL). Staging, leasing and completing an item each wrote
 *   this index too.
 * - `audit_entries_key` (flow, record_key) goes, `audit_entries_flow` (flow, id) comes: a record's
 *   entries are read through `audit_entries_record` (record_key, id); a flow's entries are listed
 *   in id order, which (flow, id) serves without a sort and appends at the end of each flow's range
 *   instead of writing a random page per entry.
 */
export const fewerKeyIndexesMigration: SqlMigration = {
  version: 13,
  name: 'fewer-key-indexes',
  sql: () => `
DROP INDEX work_items_by_key;
DROP INDEX audit_entries_key;
CREATE INDEX audit_entries_flow ON audit_entries (flow, id);
`,
};
