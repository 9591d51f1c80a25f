import type { SqlMigration } from '../../sql/sql-migration.js';

/**
 * Work items that failed and wait for a retry, found without scanning the whole inbox: the status
 * (API, dashboard, `dcsync status`, /metrics) counts them per flow and last error code.
 */
export const failingIndexSqliteMigration: SqlMigration = {
  version: 4,
  name: 'failing-index',
  sql: `
CREATE INDEX work_items_failing ON work_items (flow, last_error_code, first_failed_at) WHERE last_error_code IS NOT NULL;
`,
};
