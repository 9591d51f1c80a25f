import { StoreError } from '../../core/errors.js';
import {
  keyOrigins,
  type CompletionEffects,
  type KeyMapEntry,
  type KeyMapStore,
  type UnseenKey,
} from '../../core/ports/state-store.js';
import type { SqlExecutor } from './sql-driver.js';
import { chunk, chunkForStatements, groupBy, inList, keyOf } from './sql-list.js';
import type { SqlStoreContext } from './sql-store-context.js';
import { parseSourceVersion } from './source-version.js';
import { requireText } from './staged-change-input.js';

interface KeyMapRow {
  flow: string;
  record_key: string;
  campaign_pkey: string | null;
  origin: string;
  last_source_version: string | null;
  last_payload_hash: string | null;
  created_at: number | string;
  updated_at: number | string;
  [column: string]: unknown;
}

/** One key-map change, as `put`/`delete` or as a completion effect. */
export type KeyMapChange = NonNullable<CompletionEffects['keyMap']>;

const keyMapColumns =
  'flow, record_key, campaign_pkey, origin, last_source_version, last_payload_hash, created_at, updated_at';
const keysPerStatement = 500;
const entriesPerStatement = 200;

/** Dynamics id ↔ Campaign record, in `key_map`; re-baseline seen marks in `key_seen`. */
export class SqlKeyMapStore implements KeyMapStore {
  constructor(private readonly ctx: SqlStoreContext) {}

  async get(flow: string, recordKey: string): Promise<KeyMapEntry | null> {
    const rows = await this.ctx.driver.all<KeyMapRow>(
      `SELECT ${keyMapColumns} FROM key_map WHERE flow = ? AND record_key = ?`,
      [flow, recordKey],
    );
    return rows[0] === undefined ? null : toKeyMapEntry(rows[0]);
  }

  getMany(flow: string, recordKeys: readonly string[]): Promise<KeyMapEntry[]> {
    return readKeyMapEntries(this.ctx.driver, flow, recordKeys);
  }

  async findByCampaignPKey(campaignPKey: string): Promise<KeyMapEntry[]> {
    // Served by key_map_campaign_pkey (migration 8).
    const rows = await this.ctx.driver.all<KeyMapRow>(
      `SELECT ${keyMapColumns} FROM key_map WHERE campaign_pkey = ? ORDER BY flow, record_key`,
      [campaignPKey],
    );
    return rows.map(toKeyMapEntry);
  }

  async findByCampaignPKeys(campaignPKeys: readonly string[]): Promise<KeyMapEntry[]> {
    const entries: KeyMapEntry[] = [];
    for (const pkeys of chunk([...new Set(campaignPKeys)], keysPerStatement)) {
      // Served by key_map_campaign_pkey (migration 8).
      const list = inList(pkeys);
      const rows = await this.ctx.driver.all<KeyMapRow>(
        `SELECT ${keyMapColumns} FROM key_map WHERE campaign_pkey IN (${list.sql}) ORDER BY flow, record_key`,
        list.params,
      );
      entries.push(...rows.map(toKeyMapEntry));
    }
    return entries;
  }

  async put(entry: Omit<KeyMapEntry, 'createdAt' | 'updatedAt'>): Promise<void> {
    await writeKeyMapChanges(this.ctx.driver, [{ op: 'put', entry }], this.ctx.clock.now());
  }

  async putMany(entries: readonly Omit<KeyMapEntry, 'createdAt' | 'updatedAt'>[]): Promise<void> {
    if (entries.length === 0) return;
    const now = this.ctx.clock.now();
    const changes = entries.map((entry) => ({ op: 'put' as const, entry }));
    // Up to one statement's worth is one INSERT, atomic on its own: no BEGIN/COMMIT round trips
    // (the engine writes its key-map intents this way, a batch per event-loop turn).
    if (entries.length <= entriesPerStatement) {
      await writeKeyMapChanges(this.ctx.driver, changes, now);
      return;
    }
    await this.ctx.driver.transaction('key-map put', (tx) => writeKeyMapChanges(tx, changes, now));
  }

  async delete(flow: string, recordKey: string): Promise<boolean> {
    const removed = await this.ctx.driver.run('DELETE FROM key_map WHERE flow = ? AND record_key = ?', [
      flow,
      recordKey,
    ]);
    return removed > 0;
  }

  async listKeys(flow: string, afterKey: string | null, limit: number): Promise<string[]> {
    return this.listKeysWhere(flow, afterKey, limit, '', []);
  }

  async markSeen(flow: string, recordKeys: readonly string[], runId: string): Promise<void> {
    requireText(runId, 'markSeen runId');
    const keys = [...new Set(recordKeys)];
    for (const part of chunk(keys, keysPerStatement)) {
      await this.ctx.driver.run(
        'INSERT INTO key_seen (flow, run_id, record_key) VALUES ' +
          part.map(() => '(?, ?, ?)').join(', ') +
          ' ON CONFLICT (flow, run_id, record_key) DO NOTHING',
        part.flatMap((key) => [flow, runId, key]),
      );
    }
  }

  /**
   * One indexed range read per table that can hold a key (each stops after `limit` distinct
   * unseen keys), merged: the first `limit` keys of the union are complete up to the last of them,
   * because a table whose list was cut holds `limit` keys below anything it left out.
   */
  async listUnseen(
    flow: string,
    runId: string,
    afterKey: string | null,
    limit: number,
  ): Promise<UnseenKey[]> {
    requireText(runId, 'listUnseen runId');
    const mapped = await this.listKeysWhere(flow, afterKey, limit, unseenIn('key_map'), [runId]);
    const found = new Map<string, boolean>(mapped.map((key) => [key, true]));
    for (const { table, where } of pendingWorkTables) {
      const after = afterKey === null ? '' : ' AND t.record_key > ?';
      const rows = await this.ctx.driver.all<{ record_key: string }>(
        `SELECT DISTINCT t.record_key FROM ${table} t WHERE ${where}t.flow = ?${after}${unseenIn('t')} ORDER BY t.record_key LIMIT ?`,
        [flow, ...(afterKey === null ? [] : [afterKey]), runId, limit],
      );
      for (const row of rows) if (!found.has(row.record_key)) found.set(row.record_key, false);
    }
    return [...found]
      .sort(([a], [b]) => compareBytewise(a, b))
      .slice(0, limit)
      .map(([recordKey, isMapped]) => ({ recordKey, mapped: isMapped }));
  }

  async clearSeen(flow: string, runId: string): Promise<void> {
    await this.ctx.driver.run('DELETE FROM key_seen WHERE flow = ? AND run_id = ?', [flow, runId]);
  }

  async count(flow?: string): Promise<number> {
    const rows = await this.ctx.driver.all<{ n: number | string }>(
      flow === undefined
        ? 'SELECT COUNT(*) AS n FROM key_map WHERE campaign_pkey IS NOT NULL'
        : 'SELECT COUNT(*) AS n FROM key_map WHERE flow = ? AND campaign_pkey IS NOT NULL',
      flow === undefined ? [] : [flow],
    );
    return Number(rows[0]?.n ?? 0);
  }

  private async listKeysWhere(
    flow: string,
    afterKey: string | null,
    limit: number,
    extraSql: string,
    extraParams: string[],
  ): Promise<string[]> {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new StoreError('STORE_INVALID_INPUT', 'key map listing: limit must be a non-negative integer');
    }
    const after = afterKey === null ? '' : ' AND record_key > ?';
    const rows = await this.ctx.driver.all<{ record_key: string }>(
      `SELECT record_key FROM key_map WHERE flow = ?${after}${extraSql} ORDER BY record_key LIMIT ?`,
      [flow, ...(afterKey === null ? [] : [afterKey]), ...extraParams, limit],
    );
    return rows.map((row) => row.record_key);
  }
}

/**
 * Tables holding work for a record that may not have reached Campaign yet, each read in key order
 * through an index led by (flow, record_key): the work items once per state (their partial indexes).
 */
const pendingWorkTables = [
  { table: 'work_items', where: "t.state = 'queued' AND " },
  { table: 'work_items', where: "t.state = 'leased' AND " },
  { table: 'parked_items', where: '' },
  { table: 'dead_letters', where: '' },
] as const;

/** `AND` the row of `alias` (a table with flow and record_key) was not seen in the run bound next. */
function unseenIn(alias: string): string {
  return ` AND NOT EXISTS (SELECT 1 FROM key_seen s WHERE s.flow = ${alias}.flow AND s.run_id = ? AND s.record_key = ${alias}.record_key)`;
}

/** The entries of `recordKeys` in `flow`, in key order. */
export async function readKeyMapEntries(
  executor: SqlExecutor,
  flow: string,
  recordKeys: readonly string[],
): Promise<KeyMapEntry[]> {
  const entries: KeyMapEntry[] = [];
  for (const keys of chunk([...new Set(recordKeys)], keysPerStatement)) {
    const list = inList(keys);
    const rows = await executor.all<KeyMapRow>(
      `SELECT ${keyMapColumns} FROM key_map WHERE flow = ? AND record_key IN (${list.sql}) ORDER BY record_key`,
      [flow, ...list.params],
    );
    entries.push(...rows.map(toKeyMapEntry));
  }
  return entries;
}

/** A key-map entry joined to another row (`LEFT JOIN key_map k`) as {@link keyMapJoinColumns}. */
export interface KeyMapJoinRow {
  km_record_key: string | null;
  km_campaign_pkey: string | null;
  km_origin: string | null;
  km_last_source_version: string | null;
  km_last_payload_hash: string | null;
  km_created_at: number | string | null;
  km_updated_at: number | string | null;
  km_flow: string | null;
}

/** The columns of a `LEFT JOIN key_map k`, prefixed `km_`. */
export const keyMapJoinColumns =
  'k.flow AS km_flow, k.record_key AS km_record_key, k.campaign_pkey AS km_campaign_pkey, k.origin AS km_origin, ' +
  'k.last_source_version AS km_last_source_version, k.last_payload_hash AS km_last_payload_hash, ' +
  'k.created_at AS km_created_at, k.updated_at AS km_updated_at';

/** The joined entry, or null when the join found none. */
export function toJoinedKeyMapEntry(row: KeyMapJoinRow): KeyMapEntry | null {
  if (row.km_flow === null || row.km_record_key === null || row.km_origin === null) return null;
  return toKeyMapEntry({
    flow: row.km_flow,
    record_key: row.km_record_key,
    campaign_pkey: row.km_campaign_pkey,
    origin: row.km_origin,
    last_source_version: row.km_last_source_version,
    last_payload_hash: row.km_last_payload_hash,
    created_at: row.km_created_at ?? 0,
    updated_at: row.km_updated_at ?? 0,
  });
}

/** The order of `ORDER BY record_key` in both dialects (SQLite BINARY, PostgreSQL `COLLATE "C"`). */
function compareBytewise(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The changes to write for `changes` applied in order: the last change of each key, puts checked
 * and in key order (concurrent upserts of overlapping keys — PostgreSQL, no transaction around a
 * one-statement put — lock their rows in the same order, so they never deadlock).
 */
export function lastKeyMapChanges(changes: readonly KeyMapChange[]): {
  puts: { change: KeyMapChange; entry: Omit<KeyMapEntry, 'createdAt' | 'updatedAt'> }[];
  deletes: Extract<KeyMapChange, { op: 'delete' }>[];
} {
  const last = new Map<string, KeyMapChange>();
  for (const change of changes) {
    const [flow, recordKey] =
      change.op === 'put' ? [change.entry.flow, change.entry.recordKey] : [change.flow, change.recordKey];
    const key = keyOf(flow, recordKey);
    last.delete(key); // keep the map in order of each key's last change
    last.set(key, change);
  }
  const puts: { change: KeyMapChange; entry: Omit<KeyMapEntry, 'createdAt' | 'updatedAt'> }[] = [];
  const deletes: Extract<KeyMapChange, { op: 'delete' }>[] = [];
  for (const change of last.values()) {
    if (change.op === 'put') puts.push({ change, entry: checkKeyMapEntry(change.entry) });
    else deletes.push(change);
  }
  // Each key encoded once (a comparator that encodes both sides allocated ~50 buffers an entry).
  const ordered = puts
    .map((put) => ({ put, bytes: Buffer.from(keyOf(put.entry.flow, put.entry.recordKey), 'utf8') }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map(({ put }) => put);
  return { puts: ordered, deletes };
}

/**
 * Apply key-map changes in order (the last change of a key wins); also used inside a
 * completion's transaction. `put` keeps `createdAt` of an existing entry.
 */
export async function writeKeyMapChanges(
  executor: SqlExecutor,
  changes: readonly KeyMapChange[],
  now: number,
): Promise<void> {
  const planned = lastKeyMapChanges(changes);
  const deletes = groupBy(
    planned.deletes,
    (change) => change.flow,
    (change) => change.recordKey,
  );
  for (const [flow, keys] of deletes) {
    for (const part of chunk(keys, keysPerStatement)) {
      const list = inList(part);
      await executor.run(`DELETE FROM key_map WHERE flow = ? AND record_key IN (${list.sql})`, [
        flow,
        ...list.params,
      ]);
    }
  }
  for (const part of chunkForStatements(
    planned.puts.map((p) => p.entry),
    entriesPerStatement,
  )) {
    await executor.run(
      `INSERT INTO key_map (${keyMapColumns}) VALUES ` +
        part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ') +
        ' ON CONFLICT (flow, record_key) DO UPDATE SET campaign_pkey = excluded.campaign_pkey, origin = excluded.origin, ' +
        'last_source_version = excluded.last_source_version, last_payload_hash = excluded.last_payload_hash, ' +
        'updated_at = excluded.updated_at',
      part.flatMap((e) => [
        e.flow,
        e.recordKey,
        e.campaignPKey,
        e.origin,
        e.lastSourceVersion,
        e.lastPayloadHash,
        now,
        now,
      ]),
    );
  }
}

function checkKeyMapEntry(
  entry: Omit<KeyMapEntry, 'createdAt' | 'updatedAt'>,
): Omit<KeyMapEntry, 'createdAt' | 'updatedAt'> {
  requireText(entry.flow, 'key map flow');
  requireText(entry.recordKey, 'key map recordKey');
  const where = `key map ${entry.flow}/${entry.recordKey}`;
  if (!keyOrigins.includes(entry.origin)) {
    throw new StoreError('STORE_INVALID_INPUT', `${where}: origin must be one of ${keyOrigins.join(', ')}`);
  }
  return {
    ...entry,
    campaignPKey: entry.campaignPKey ?? null,
    lastSourceVersion: parseSourceVersion(entry.lastSourceVersion, where),
    lastPayloadHash: entry.lastPayloadHash ?? null,
  };
}

function toKeyMapEntry(row: KeyMapRow): KeyMapEntry {
  return {
    flow: row.flow,
    recordKey: row.record_key,
    campaignPKey: row.campaign_pkey,
    origin: row.origin as KeyMapEntry['origin'],
    lastSourceVersion: row.last_source_version,
    lastPayloadHash: row.last_payload_hash,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
