import type { SqlMigration } from '../sql-migration.js';

/**
 * The audit trail's flow index in append order (the same SQL in both dialects):
 * `audit_entries_flow (flow, id)` replaces `audit_entries_key (flow, record_key)`. Entries are
 * appended in id order, so within a flow every new entry lands at the end of the new index, where
 * the old one put it at a random place of the whole trail (record keys such as e-mail event ids are
 * random): each group commit of a flow that writes one entry per record dirtied about one page of
 * it per entry, a page that went to the WAL and again to the database. A record's entries are found
 * through `audit_entries_record (record_key, id)` (migration 4), with or without a flow; a flow's
 * entries in id order, as the audit list pages them, through the new index.
 */
export const auditFlowIndexMigration: SqlMigration = {
  version: 15,
  name: 'audit-flow-index',
  sql: () => `
DROP INDEX audit_entries_key;
CREATE INDEX audit_entries_flow ON audit_entries (flow, id);
`,
};
