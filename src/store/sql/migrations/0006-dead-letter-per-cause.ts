import type { SqlMigration } from '../sql-migration.js';

/**
 * One dead letter per flow, record key and error code (the same SQL in both dialects). Every
 * re-baseline or replay used to add another dead letter for a record that kept failing for the
 * same reason; now a repeat failure updates the one there is. Existing duplicates are merged into
 * the newest row (its id, payload, version and message stay): attempts summed, the earliest first
 * failure, the latest last failure. The unique index also serves the look-ups by flow and key, so
 * the old `dead_letters_key` index goes.
 */
export const deadLetterPerCauseMigration: SqlMigration = {
  version: 6,
  name: 'dead-letter-per-cause',
  sql: () => `
UPDATE dead_letters SET
  attempts = (SELECT SUM(d.attempts) FROM dead_letters d
    WHERE d.flow = dead_letters.flow AND d.record_key = dead_letters.record_key AND d.code = dead_letters.code),
  first_failed_at = (SELECT MIN(d.first_failed_at) FROM dead_letters d
    WHERE d.flow = dead_letters.flow AND d.record_key = dead_letters.record_key AND d.code = dead_letters.code),
  last_failed_at = (SELECT MAX(d.last_failed_at) FROM dead_letters d
    WHERE d.flow = dead_letters.flow AND d.record_key = dead_letters.record_key AND d.code = dead_letters.code)
WHERE id IN (SELECT MAX(id) FROM dead_letters GROUP BY flow, record_key, code HAVING COUNT(*) > 1);
DELETE FROM dead_letters WHERE id NOT IN (SELECT MAX(id) FROM dead_letters GROUP BY flow, record_key, code);
DROP INDEX dead_letters_key;
CREATE UNIQUE INDEX dead_letters_one_per_cause ON dead_letters (flow, record_key, code);
`,
};
