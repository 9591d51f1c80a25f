import type { EnqueueOutcome } from '../../core/ports/state-store.js';
import { planEnqueue, type KeyHoldings, type StagedChange } from './enqueue-planner.js';
import type { SqlTransaction } from './sql-driver.js';
import { chunk, chunkForStatements, inList, keyOf } from './sql-list.js';
import { itemsOfKeys, laneRankOf } from './work-item-row.js';

const keysPerStatement = 500;
const insertRowsPerStatement = 400;
const updateRowsPerStatement = 200;

/**
 * Stage changes inside an open transaction: lock their keys, read what the store holds for them,
 * apply the coalescing plan. Shared by `enqueue`, parked release and dead-letter retry.
 */
export async function stageChanges(
  tx: SqlTransaction,
  changes: readonly StagedChange[],
  now: number,
  options: { keysLocked?: boolean } = {},
): Promise<EnqueueOutcome[]> {
  if (changes.length === 0) return [];
  const byFlow = groupKeysByFlow(changes);
  if (options.keysLocked !== true) {
    await tx.lockKeys([...byFlow].flatMap(([flow, keys]) => [...keys].map((key) => keyOf(flow, key))));
  }
  const holdings = await loadHoldings(tx, byFlow);
  const plan = planEnqueue(holdings, changes);

  for (const rows of chunkForStatements(plan.inserts, insertRowsPerStatement)) {
    await tx.run(
      'INSERT INTO work_items (flow, record_key, payload, source_version, lane_rank, state, attempts, enqueued_at, available_at) VALUES ' +
        rows.map(() => "(?, ?, ?, ?, ?, 'queued', 0, ?, ?)").join(', '),
      rows.flatMap((r) => [r.flow, r.recordKey, r.payload, r.sourceVersion, r.laneRank, now, r.availableAt]),
    );
  }
  for (const rows of chunkForStatements(plan.updates, updateRowsPerStatement)) {
    // One statement per chunk (UPDATE … FROM VALUES works in both dialects); the casts tell
    // PostgreSQL the parameter types.
    await tx.run(
      'UPDATE work_items SET payload = v.column2, source_version = v.column3, lane_rank = v.column4, available_at = v.column5 ' +
        'FROM (VALUES ' +
        rows
          .map(
            () =>
              '(CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS BIGINT))',
          )
          .join(', ') +
        ") AS v WHERE work_items.id = v.column1 AND work_items.state = 'queued'",
      rows.flatMap((r) => [r.id, r.payload, r.sourceVersion, r.laneRank, r.availableAt]),
    );
  }
  for (const row of plan.parkedUpdates) {
    await tx.run(
      'UPDATE parked_items SET payload = ?, source_version = ?, updated_at = ? WHERE flow = ? AND record_key = ?',
      [row.payload, row.sourceVersion, now, row.flow, row.recordKey],
    );
  }
  return plan.outcomes;
}

/**
 * Put stored states (parked items, dead letters) back in the queue: live lane, available now,
 * coalescing like any change. The caller already holds their key locks.
 */
export async function restageStoredStates(
  tx: SqlTransaction,
  rows: readonly { flow: string; record_key: string; payload: string; source_version: string | null }[],
  now: number,
): Promise<void> {
  const changes = rows.map((row) => ({
    flow: row.flow,
    recordKey: row.record_key,
    payload: row.payload,
    sourceVersion: row.source_version,
    laneRank: laneRankOf('live'),
    availableAt: now,
  }));
  await stageChanges(tx, changes, now, { keysLocked: true });
}

function groupKeysByFlow(changes: readonly StagedChange[]): Map<string, Set<string>> {
  const byFlow = new Map<string, Set<string>>();
  for (const change of changes) {
    let keys = byFlow.get(change.flow);
    if (keys === undefined) byFlow.set(change.flow, (keys = new Set()));
    keys.add(change.recordKey);
  }
  return byFlow;
}

interface HeldItemRow {
  id: string | number;
  record_key: string;
  state: string;
  source_version: string | null;
  lane_rank: number | string;
  available_at: number | string;
  [column: string]: unknown;
}

async function loadHoldings(
  tx: SqlTransaction,
  byFlow: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<Map<string, KeyHoldings>> {
  const holdings = new Map<string, KeyHoldings>();
  const holdingOf = (flow: string, recordKey: string): KeyHoldings => {
    const key = keyOf(flow, recordKey);
    let held = holdings.get(key);
    if (held === undefined) holdings.set(key, (held = { queued: null, leasedVersion: null, parked: null }));
    return held;
  };
  for (const [flow, keySet] of byFlow) {
    for (const keys of chunk([...keySet], keysPerStatement)) {
      // Ordered by id so every writer locks one key's rows in the same order (the leased item first).
      const held = itemsOfKeys(flow, keys);
      const items = await tx.all<HeldItemRow>(
        `SELECT id, record_key, state, source_version, lane_rank, available_at FROM work_items WHERE ${held.sql} ORDER BY id ${tx.forUpdate}`,
        held.params,
      );
      for (const item of items) {
        const held = holdingOf(flow, item.record_key);
        if (item.state === 'queued') {
          held.queued = {
            id: String(item.id),
            sourceVersion: item.source_version,
            laneRank: Number(item.lane_rank),
            availableAt: Number(item.available_at),
          };
        } else {
          held.leasedVersion = item.source_version;
        }
      }
      const list = inList(keys);
      const parked = await tx.all<{ record_key: string; source_version: string | null }>(
        `SELECT record_key, source_version FROM parked_items WHERE flow = ? AND record_key IN (${list.sql}) ${tx.forUpdate}`,
        [flow, ...list.params],
      );
      for (const row of parked)
        holdingOf(flow, row.record_key).parked = { sourceVersion: row.source_version };
    }
  }
  return holdings;
}
