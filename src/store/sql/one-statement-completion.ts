import type { Completion, LeaseOutcome } from '../../core/ports/state-store.js';
import { auditRowValues } from './sql-audit-store.js';
import type { SqlDialect, SqlExecutor } from './sql-driver.js';
import { lastKeyMapChanges } from './sql-key-map-store.js';
import { isStoreId, keyOf } from './sql-list.js';

/**
 * Completions whose effects are key-map changes, audit entries and resolved dead letters — the
 * common case: no parked children to release or orphan — as ONE PostgreSQL statement (data-modifying
 * CTEs): the leased items are deleted and only the removed ones' effects are written, atomically, in
 * one round trip instead of BEGIN, four statements and COMMIT, each a round trip that the worker
 * waited for (bench sync-throughput: the PostgreSQL path was round-trip bound). `null` when the
 * batch needs the general path (another dialect, parked children, a key changed twice).
 *
 * Every list travels as an array parameter, so the statement text is one and is prepared once per
 * connection. Key-map rows are written in key order, as `writeKeyMapChanges` does, so concurrent
 * writers lock them in the same order.
 */
export async function completeInOneStatement(
  executor: SqlExecutor & { readonly dialect: SqlDialect },
  completions: readonly Completion[],
  now: number,
): Promise<LeaseOutcome[] | null> {
  if (executor.dialect !== 'postgres') return null;
  const owners = new Set(completions.map((c) => c.owner));
  if (owners.size !== 1) return null;
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const { id, effects } of completions) {
    if (!isStoreId(id) || ids.has(id)) return null;
    ids.add(id);
    if (effects?.releaseParked !== undefined || effects?.orphanParked !== undefined) return null;
    const change = effects?.keyMap;
    if (change === undefined) continue;
    const key =
      change.op === 'put'
        ? keyOf(change.entry.flow, change.entry.recordKey)
        : keyOf(change.flow, change.recordKey);
    // Two changes of one key in a batch: the last one wins only if it was not lost; the general path knows.
    if (keys.has(key)) return null;
    keys.add(key);
  }

  const itemOfChange = new Map<object, string>();
  for (const { id, effects } of completions) if (effects?.keyMap) itemOfChange.set(effects.keyMap, id);
  const changes = lastKeyMapChanges(
    completions.flatMap((c) => (c.effects?.keyMap ? [c.effects.keyMap] : [])),
  );
  const put = {
    item: [] as string[],
    flow: [] as string[],
    key: [] as string[],
    pkey: [] as (string | null)[],
    origin: [] as string[],
    version: [] as (string | null)[],
    hash: [] as (string | null)[],
  };
  for (const entry of changes.puts) {
    put.item.push(itemOfChange.get(entry.change)!);
    put.flow.push(entry.entry.flow);
    put.key.push(entry.entry.recordKey);
    put.pkey.push(entry.entry.campaignPKey);
    put.origin.push(entry.entry.origin);
    put.version.push(entry.entry.lastSourceVersion);
    put.hash.push(entry.entry.lastPayloadHash);
  }
  const del = { item: [] as string[], flow: [] as string[], key: [] as string[] };
  for (const change of changes.deletes) {
    del.item.push(itemOfChange.get(change)!);
    del.flow.push(change.flow);
    del.key.push(change.recordKey);
  }
  const audit = {
    item: [] as string[],
    columns: Array.from({ length: 9 }, () => [] as (string | number | null)[]),
  };
  let index = 0;
  for (const { id, effects } of completions) {
    for (const entry of effects?.audit ?? []) {
      audit.item.push(id);
      auditRowValues(entry, index++).forEach((value, column) => audit.columns[column]!.push(value));
    }
  }
  const resolving = completions.filter((c) => c.effects?.resolveDeadLetters === true).map((c) => c.id);

  const rows = await executor.all<{ id: string | number }>(completionStatement, [
    [...owners][0]!,
    [...ids],
    put.item,
    put.flow,
    put.key,
    put.pkey,
    put.origin,
    put.version,
    put.hash,
    now,
    del.item,
    del.flow,
    del.key,
    audit.item,
    ...audit.columns,
    resolving,
  ]);
  const removed = new Set(rows.map((row) => String(row.id)));
  return completions.map(({ id }) => (removed.has(id) ? 'ok' : 'lost'));
}

const completionStatement = `
WITH removed AS (
  DELETE FROM work_items WHERE state = 'leased' AND lease_owner = ? AND id = ANY(?::bigint[])
  RETURNING id, flow, record_key
), key_map_puts AS (
  INSERT INTO key_map (flow, record_key, campaign_pkey, origin, last_source_version, last_payload_hash, created_at, updated_at)
  SELECT v.flow, v.record_key, v.campaign_pkey, v.origin, v.last_source_version, v.last_payload_hash, n.now, n.now
  FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
    WITH ORDINALITY AS v(item_id, flow, record_key, campaign_pkey, origin, last_source_version, last_payload_hash, ord)
  CROSS JOIN (SELECT ?::bigint AS now) n
  WHERE v.item_id IN (SELECT id FROM removed)
  ORDER BY v.ord
  ON CONFLICT (flow, record_key) DO UPDATE SET campaign_pkey = excluded.campaign_pkey, origin = excluded.origin,
    last_source_version = excluded.last_source_version, last_payload_hash = excluded.last_payload_hash,
    updated_at = excluded.updated_at
), key_map_deletes AS (
  DELETE FROM key_map k USING unnest(?::bigint[], ?::text[], ?::text[]) AS v(item_id, flow, record_key)
  WHERE k.flow = v.flow AND k.record_key = v.record_key AND v.item_id IN (SELECT id FROM removed)
), audit AS (
  INSERT INTO audit_entries (at, actor, action, flow, record_key, fields, outcome, detail, trace)
  SELECT v.at, v.actor, v.action, v.flow, v.record_key, v.fields, v.outcome, v.detail, v.trace
  FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
    WITH ORDINALITY AS v(item_id, at, actor, action, flow, record_key, fields, outcome, detail, trace, ord)
  WHERE v.item_id IN (SELECT id FROM removed)
  ORDER BY v.ord
), resolved AS (
  DELETE FROM dead_letters d USING removed r
  WHERE d.flow = r.flow AND d.record_key = r.record_key AND r.id = ANY(?::bigint[])
)
SELECT id FROM removed`;
