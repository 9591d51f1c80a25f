import type { SqlMigration } from '../sql-migration.js';

/**
 * The record trace (the same SQL in both dialects):
 * - `audit_entries.trace`: the structured facts of an engine entry about a record (source version,
 *   staging time, attempts, PKey, parents, error code), JSON, written in the entry's own insert;
 *   nullable, so adding it rewrites nothing;
 * - `key_map_campaign_pkey`: the look-up a trace starts from when given a Campaign PKey (the key
 *   map was only indexed by flow and record key). Partial: create intents have no PKey yet.
 */
export const recordTraceMigration: SqlMigration = {
  version: 8,
  name: 'record-trace',
  sql: () => `
ALTER TABLE audit_entries ADD COLUMN trace TEXT;
CREATE INDEX key_map_campaign_pkey ON key_map (campaign_pkey) WHERE campaign_pkey IS NOT NULL;
`,
};
