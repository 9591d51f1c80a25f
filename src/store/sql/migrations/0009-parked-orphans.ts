import type { SqlMigration } from '../sql-migration.js';

/**
 * Orphans are not parked children (the same SQL in both dialects). A parked item gets a `state`:
 * `waiting` for a parent that has not landed, or `orphan` — a child with no parent in Dynamics (an
 * empty lookup on a cardinality-1 link), which no landing will ever release. Items already parked
 * on the pseudo-parent of an empty lookup (record key `(empty lookup)`, which no Dynamics id can
 * be) become orphans. The index serves the counts per flow and state, and "since when".
 */
export const parkedOrphansMigration: SqlMigration = {
  version: 9,
  name: 'parked-orphans',
  sql: () => `
ALTER TABLE parked_items ADD COLUMN state TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'orphan'));
UPDATE parked_items SET state = 'orphan' WHERE parent_key = '(empty lookup)';
CREATE INDEX parked_items_state ON parked_items (flow, state, parked_at);
`,
};
