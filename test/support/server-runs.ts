import Database from 'better-sqlite3';

/**
 * Volume for the dashboard bench: copies `count` ended runs (initial loads, replays, re-baselines,
 * opt-out files, privacy requests, round-robin over `flows`) with `eventsPerRun` events each into
 * the SQLite store's `runs` and `run_events` tables in one transaction, oldest first, the way the
 * run tracker leaves them. Returns the id of the newest run.
 */
export function bulkSeedRuns(
  sqlitePath: string,
  options: { count: number; flows: readonly string[]; eventsPerRun: number; at: number },
): string {
  const kinds = ['initial', 'replay', 'rebaseline', 'opt-out-file', 'privacy'] as const;
  const db = new Database(sqlitePath);
  let last = '';
  try {
    db.pragma('busy_timeout = 5000');
    const insertRun = db.prepare(
      'INSERT INTO runs (flow, kind, trigger, subject, started_at, ended_at, outcome, phase, total, total_source, counts, updated_at) ' +
        "VALUES (?, ?, ?, NULL, ?, ?, ?, 'ended', ?, 'count', ?, ?)",
    );
    const insertEvent = db.prepare('INSERT INTO run_events (run_id, at, kind, detail) VALUES (?, ?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < options.count; i++) {
        const kind = kinds[i % kinds.length]!;
        const flow = options.flows[i % options.flows.length]!;
        const startedAt = options.at + i * 60_000;
        const endedAt = startedAt + 45_000;
        const total = 1000 + (i % 97);
        const counts = JSON.stringify({
          read: total,
          created: total - 20,
          updated: 10,
          adopted: 5,
          deleted: 0,
          unchanged: 3,
          skipped: { filtered: 2 },
          parked: 0,
          deadLettered: 0,
          campaignCalls: 2 * total,
        });
        const outcome = i % 50 === 0 ? 'failed' : 'succeeded';
        const trigger =
          kind === 'replay' ? 'operator' : kind === 'rebaseline' ? 'cursor-expired' : 'first-start';
        const id = insertRun.run(
          flow,
          kind,
          trigger,
          startedAt,
          endedAt,
          outcome,
          total,
          counts,
          endedAt,
        ).lastInsertRowid;
        last = String(id);
        for (let e = 0; e < options.eventsPerRun; e++)
          insertEvent.run(id, startedAt + e * 1000, e === 0 ? 'read-complete' : 'paused', null);
      }
    })();
  } finally {
    db.close();
  }
  return last;
}
