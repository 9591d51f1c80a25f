import Database from 'better-sqlite3';
import { syntheticKey } from './server-dead-letters.js';

/**
 * Volume for the trace bench and tests: copies `count` audit entries into the SQLite store's
 * `audit_entries` table in one transaction, spread round-robin over `keys` record keys
 * ({@link syntheticKey}(0…keys-1)), the way the engine writes them: per key a create, then updates
 * and skipped re-reads, each with its trace facts (source version, staging time, attempts, PKey).
 * Every key gets a key-map entry with the PKey `pkey-<n>`. Returns the PKey of key `n`.
 */
export function bulkSeedAuditTrail(
  sqlitePath: string,
  options: { flow: string; count: number; keys: number; at: number },
): (n: number) => string {
  const pkeyOf = (n: number): string => `@pkey-${String(n).padStart(12, '0')}`;
  const db = new Database(sqlitePath);
  try {
    db.pragma('busy_timeout = 5000');
    const insert = db.prepare(
      'INSERT INTO audit_entries (at, actor, action, flow, record_key, fields, outcome, detail, trace) ' +
        "VALUES (?, 'engine', ?, ?, ?, ?, ?, NULL, ?)",
    );
    const keyMap = db.prepare(
      'INSERT INTO key_map (flow, record_key, campaign_pkey, origin, last_source_version, last_payload_hash, created_at, updated_at) ' +
        "VALUES (?, ?, ?, 'created', ?, NULL, ?, ?) ON CONFLICT (flow, record_key) DO NOTHING",
    );
    const fields = JSON.stringify(['email', 'externalId', 'firstName', 'lastName']);
    db.transaction(() => {
      for (let i = 0; i < options.count; i++) {
        const n = i % options.keys;
        const round = Math.floor(i / options.keys);
        const action = round === 0 ? 'profile.create' : round % 3 === 2 ? 'record.skipped' : 'profile.update';
        const at = options.at + i;
        const trace = JSON.stringify({
          sourceVersion: String(1000 + i),
          stagedAt: at - 50,
          attempts: 1,
          lane: round === 0 ? 'bulk' : 'live',
          campaignPKey: pkeyOf(n),
        });
        insert.run(
          at,
          action,
          options.flow,
          syntheticKey(n),
          action === 'record.skipped' ? '[]' : fields,
          action === 'record.skipped' ? 'unchanged' : 'ok',
          trace,
        );
        if (round === 0) keyMap.run(options.flow, syntheticKey(n), pkeyOf(n), String(1000 + i), at, at);
      }
    })();
  } finally {
    db.close();
  }
  return pkeyOf;
}
