import { createIntentEntry } from '../../core/create-intent.js';
import type { ErrorCode } from '../../core/error-catalogue.js';
import { StoreError } from '../../core/errors.js';
import {
  workLanes,
  type AuditEntry,
  type BacklogEntry,
  type CheckpointWrite,
  type LockFence,
  type Completion,
  type CompletionEffects,
  type EnqueueOutcome,
  type FailRequest,
  type LeaseOutcome,
  type LeaseRequest,
  type ParentRef,
  type PageRequest,
  type Page,
  type PendingCountRequest,
  type ParkedState,
  type RetryingEntry,
  type RetryingItem,
  type WorkItem,
  type WorkItemHead,
  type WorkItemInput,
  type WorkLane,
  type WorkQueue,
  type KeyMapEntry,
} from '../../core/ports/state-store.js';
import { upsertCheckpoint } from './sql-checkpoint-store.js';
import { checkLockFence } from './sql-lock-store.js';
import { insertAuditEntries } from './sql-audit-store.js';
import type { SqlDialect, SqlDriver, SqlExecutor, SqlParam, SqlTransaction } from './sql-driver.js';
import {
  keyMapJoinColumns,
  readKeyMapEntries,
  toJoinedKeyMapEntry,
  writeKeyMapChanges,
  type KeyMapChange,
  type KeyMapJoinRow,
} from './sql-key-map-store.js';
import {
  chunk,
  groupBy,
  inList,
  isStoreId,
  keyOf,
  placeholders,
  whereAll,
  type SqlWhere,
} from './sql-list.js';
import { selectPage } from './page-cursor.js';
import type { SqlStoreContext } from './sql-store-context.js';
import { TableStatistics } from './table-statistics.js';
import { isOlderSourceVersion, newerSourceVersion } from '../../core/record-key.js';
import { stageChanges } from './stage-changes.js';
import { completeInOneStatement } from './one-statement-completion.js';
import { parkedOnKey, releaseParkedIn } from './sql-parked-store.js';
import { requireText, requireTime, toStagedChange } from './staged-change-input.js';
import {
  compareLeaseOrder,
  itemsOfKeys,
  laneOfRank,
  laneRankOf,
  toNumberOrNull,
  toWorkItem,
  workItemColumns,
  type WorkItemRow,
} from './work-item-row.js';

const expiredLeaseError = {
  code: 'LEASE_EXPIRED' satisfies ErrorCode,
  message: 'the previous lease expired before the item was completed',
  retryable: true,
} as const;

/** The durable inbox over `work_items`; the rules are documented on {@link WorkQueue}. */
export class SqlWorkQueue implements WorkQueue {
  private readonly statistics: TableStatistics;

  constructor(private readonly ctx: SqlStoreContext) {
    this.statistics = new TableStatistics(ctx.driver, 'work_items');
  }

  async enqueue(
    items: readonly WorkItemInput[],
    checkpoint?: CheckpointWrite,
    fence?: LockFence,
  ): Promise<EnqueueOutcome[]> {
    const now = this.ctx.clock.now();
    const changes = items.map((item, index) => toStagedChange(item, index, now));
    if (changes.length === 0 && checkpoint === undefined) return [];
    const outcomes = await this.ctx.driver.transaction('enqueue', async (tx) => {
      if (fence !== undefined) await checkLockFence(tx, fence);
      const staged = await stageChanges(tx, changes, now);
      if (checkpoint !== undefined) await upsertCheckpoint(tx, checkpoint, now);
      return staged;
    });
    this.statistics.noteInserted(outcomes.filter((outcome) => outcome === 'queued').length);
    return outcomes;
  }

  async lease(request: LeaseRequest): Promise<WorkItem[]> {
    requireText(request.owner, 'lease owner');
    if (!Number.isInteger(request.limit) || request.limit < 0) {
      throw new StoreError('STORE_INVALID_INPUT', 'lease limit must be a non-negative integer');
    }
    if (!Number.isSafeInteger(request.leaseMs) || request.leaseMs <= 0) {
      throw new StoreError('STORE_INVALID_INPUT', 'leaseMs must be a positive whole number of milliseconds');
    }
    const lanes = request.lanes ?? workLanes;
    const flows = request.flows;
    if (request.limit === 0 || lanes.length === 0 || flows?.length === 0) return [];
    const now = this.ctx.clock.now();
    const expiresAt = now + request.leaseMs;
    const owner = request.owner;

    // The common case in one statement (one round trip, no BEGIN/COMMIT): no expired lease to
    // take over, queued items to lease. Anything else (expired leases first, or nothing leased)
    // goes through the transaction below.
    const dialect = this.ctx.driver.dialect;
    const fresh = leaseFilter('q', flows, lanes, dialect);
    const direct = directLeaseStatement(this.ctx.driver, flows, lanes);
    const withKeyMap = request.withKeyMap === true;
    const intentFlows = request.createIntents ?? [];
    if (intentFlows.length > 0 && !withKeyMap) {
      throw new StoreError('STORE_INVALID_INPUT', 'lease createIntents needs withKeyMap');
    }
    const directParams = direct.params({ owner, expiresAt, now, limit: request.limit });
    if (withKeyMap && dialect === 'postgres') {
      // The lease, its key-map entries and the create intents in one statement: one round trip.
      // The join sees key_map as it was before the statement (the intents are not in it).
      const intents = intentFlows.length > 0 ? createIntentsCte(intentFlows, now) : null;
      const rows = await this.ctx.driver.all<WorkItemRow & KeyMapJoinRow & IntentJoinRow>(
        `WITH leased AS (${direct.sql})${intents?.sql ?? ''} SELECT leased.*, ${keyMapJoinColumns}, ` +
          `${intents ? 'i.record_key IS NOT NULL' : 'FALSE'} AS intent_written FROM leased ` +
          'LEFT JOIN key_map k ON k.flow = leased.flow AND k.record_key = leased.record_key' +
          (intents
            ? ' LEFT JOIN intents i ON i.flow = leased.flow AND i.record_key = leased.record_key'
            : ''),
        [...directParams, ...(intents?.params ?? [])],
      );
      if (rows.length > 0) return rows.sort(compareLeaseOrder).map(toWorkItemWithKeyMap);
    } else if (withKeyMap) {
      // SQLite: the lease, the key-map read and the intents in one transaction (one commit).
      const items = await this.ctx.driver.transaction('lease', async (tx) => {
        const leasedNow = await tx.all<WorkItemRow>(direct.sql, directParams);
        if (leasedNow.length === 0) return null;
        const leased = await this.attachKeyMap(tx, leasedNow.sort(compareLeaseOrder).map(toWorkItem));
        return writeCreateIntents(tx, leased, intentFlows, now);
      });
      if (items !== null) return items;
    } else {
      const leasedNow = await this.ctx.driver.all<WorkItemRow>(direct.sql, directParams);
      if (leasedNow.length > 0) return leasedNow.sort(compareLeaseOrder).map(toWorkItem);
    }

    return this.ctx.driver.transaction('lease', async (tx) => {
      const takenOver = await this.takeOverExpiredLeases(tx, {
        now,
        expiresAt,
        owner,
        limit: request.limit,
        flows,
        lanes,
      });
      const remaining = request.limit - takenOver.length;
      let leased: WorkItemRow[] = [];
      if (remaining > 0) {
        leased = await tx.all<WorkItemRow>(leaseFreshSql(fresh.sql, null, tx.forUpdateSkipLocked), [
          owner,
          expiresAt,
          now,
          ...fresh.params,
          remaining,
        ]);
      }
      const items = [...takenOver, ...leased].sort(compareLeaseOrder).map(toWorkItem);
      if (!withKeyMap) return items;
      return writeCreateIntents(tx, await this.attachKeyMap(tx, items), intentFlows, now);
    });
  }

  /** `items` with their key-map entries ({@link WorkItem.keyMap}). */
  private async attachKeyMap(executor: SqlExecutor, items: WorkItem[]): Promise<WorkItem[]> {
    const found = new Map<string, KeyMapEntry>();
    const byFlow = groupBy(
      items,
      (item) => item.flow,
      (item) => item.recordKey,
    );
    for (const [flow, keys] of byFlow) {
      for (const entry of await readKeyMapEntries(executor, flow, keys))
        found.set(keyOf(flow, entry.recordKey), entry);
    }
    return items.map((item) => ({ ...item, keyMap: found.get(keyOf(item.flow, item.recordKey)) ?? null }));
  }

  /**
   * Expired leases go first: they are the oldest work. One superseded by a queued newer item of
   * its key is dropped (the newer item inherits its attempts); any other is leased again.
   */
  private async takeOverExpiredLeases(
    tx: SqlTransaction,
    lease: {
      now: number;
      expiresAt: number;
      owner: string;
      limit: number;
      flows: readonly string[] | undefined;
      lanes: readonly string[];
    },
  ): Promise<WorkItemRow[]> {
    const filter = leaseFilter('e', lease.flows, lease.lanes, this.ctx.driver.dialect);
    const expired = await tx.all<{
      id: string | number;
      attempts: number | string;
      first_failed_at: number | string | null;
      successor_id: string | number | null;
    }>(
      'SELECT e.id, e.attempts, e.first_failed_at, ' +
        "(SELECT s.id FROM work_items s WHERE s.state = 'queued' AND s.flow = e.flow AND s.record_key = e.record_key) AS successor_id " +
        `FROM work_items e WHERE e.state = 'leased' AND e.lease_expires_at <= ?${filter.sql} ` +
        `ORDER BY e.lane_rank, e.id LIMIT ? ${tx.forUpdateSkipLocked}`,
      [lease.now, ...filter.params, lease.limit],
    );
    if (expired.length === 0) return [];

    const superseded = expired.filter((row) => row.successor_id !== null);
    for (const row of superseded) {
      await tx.run('DELETE FROM work_items WHERE id = ?', [String(row.id)]);
      await carryIntoSuccessor(tx, String(row.successor_id), {
        attempts: Number(row.attempts),
        error: expiredLeaseError,
        firstFailedAt: toNumberOrNull(row.first_failed_at) ?? lease.now,
        availableAt: lease.now,
      });
    }
    const stranded = expired.filter((row) => row.successor_id === null).map((row) => String(row.id));
    if (stranded.length === 0) return [];
    return tx.all<WorkItemRow>(
      'UPDATE work_items SET lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1, ' +
        'last_error_code = ?, last_error_message = ?, last_error_retryable = 1, first_failed_at = COALESCE(first_failed_at, ?) ' +
        `WHERE id IN (${placeholders(stranded.length)}) RETURNING ${workItemColumns}`,
      [
        lease.owner,
        lease.expiresAt,
        expiredLeaseError.code,
        expiredLeaseError.message,
        lease.now,
        ...stranded,
      ],
    );
  }

  async extendLease(id: string, owner: string, leaseMs: number): Promise<LeaseOutcome> {
    requireTime(leaseMs, 'leaseMs');
    if (!isStoreId(id)) return 'lost';
    const changed = await this.ctx.driver.run(
      "UPDATE work_items SET lease_expires_at = ? WHERE id = ? AND state = 'leased' AND lease_owner = ?",
      [this.ctx.clock.now() + leaseMs, id, owner],
    );
    return changed > 0 ? 'ok' : 'lost';
  }

  async extendLeases(ids: readonly string[], owner: string, leaseMs: number): Promise<number> {
    requireTime(leaseMs, 'leaseMs');
    const valid = ids.filter(isStoreId);
    const expiresAt = this.ctx.clock.now() + leaseMs;
    let extended = 0;
    for (let start = 0; start < valid.length; start += 500) {
      const list = inList(valid.slice(start, start + 500));
      extended += await this.ctx.driver.run(
        `UPDATE work_items SET lease_expires_at = ? WHERE id IN (${list.sql}) AND state = 'leased' AND lease_owner = ?`,
        [expiresAt, ...list.params, owner],
      );
    }
    return extended;
  }

  async expireLeases(request: { flow: string; lane: WorkLane; heldPast: number }): Promise<number> {
    requireText(request.flow, 'expireLeases flow');
    requireTime(request.heldPast, 'expireLeases heldPast');
    if (!workLanes.includes(request.lane)) {
      throw new StoreError('STORE_INVALID_INPUT', `expireLeases lane must be among ${workLanes.join(', ')}`);
    }
    // Through the partial index work_items_one_leased_per_key (flow, record_key) WHERE leased.
    const lane = this.ctx.driver.dialect === 'sqlite' ? '+lane_rank' : 'lane_rank';
    return this.ctx.driver.run(
      `UPDATE work_items SET lease_expires_at = ? WHERE flow = ? AND state = 'leased' AND ${lane} = ? AND lease_expires_at > ?`,
      [this.ctx.clock.now(), request.flow, laneRankOf(request.lane), request.heldPast],
    );
  }

  async leasedHeads(ids: readonly string[], owner: string): Promise<WorkItemHead[]> {
    const heads: WorkItemHead[] = [];
    for (const part of chunk(ids.filter(isStoreId), 500)) {
      const list = inList(part);
      const rows = await this.ctx.driver.all<{
        id: string | number;
        flow: string;
        record_key: string;
        source_version: string | null;
        lane_rank: number | string;
        enqueued_at: number | string;
      }>(
        'SELECT id, flow, record_key, source_version, lane_rank, enqueued_at FROM work_items ' +
          `WHERE id IN (${list.sql}) AND state = 'leased' AND lease_owner = ?`,
        [...list.params, owner],
      );
      for (const row of rows) {
        heads.push({
          id: String(row.id),
          flow: row.flow,
          recordKey: row.record_key,
          sourceVersion: row.source_version,
          lane: laneOfRank(row.lane_rank),
          enqueuedAt: Number(row.enqueued_at),
        });
      }
    }
    return heads;
  }

  async complete(id: string, owner: string, effects?: CompletionEffects): Promise<LeaseOutcome> {
    const [outcome] = await this.completeMany([{ id, owner, effects }]);
    return outcome ?? 'lost';
  }

  async completeMany(completions: readonly Completion[]): Promise<LeaseOutcome[]> {
    const valid = completions.filter((c) => isStoreId(c.id));
    if (valid.length === 0) return completions.map(() => 'lost');
    const idsByOwner = groupBy(
      valid,
      (c) => c.owner,
      (c) => c.id,
    );
    const deletes = [...idsByOwner].flatMap(([owner, ids]) =>
      chunk([...new Set(ids)], 500).map((part) => ({ owner, ids: part })),
    );
    const hasEffects = valid.some(
      ({ effects }) =>
        effects !== undefined &&
        (effects.keyMap !== undefined ||
          (effects.audit?.length ?? 0) > 0 ||
          effects.resolveDeadLetters === true ||
          effects.releaseParked !== undefined ||
          effects.orphanParked !== undefined),
    );
    const now = this.ctx.clock.now();

    const completeAll = async (tx: SqlExecutor | SqlTransaction): Promise<LeaseOutcome[]> => {
      const removed = new Map<string, { flow: string; record_key: string }>();
      for (const { owner, ids } of deletes) {
        const list = inList(ids);
        const rows = await tx.all<{ id: string | number; flow: string; record_key: string }>(
          `DELETE FROM work_items WHERE state = 'leased' AND lease_owner = ? AND id IN (${list.sql}) RETURNING id, flow, record_key`,
          [owner, ...list.params],
        );
        for (const row of rows) removed.set(keyOf(owner, String(row.id)), row);
      }
      const outcomes: LeaseOutcome[] = [];
      const applied: { item: { flow: string; record_key: string }; effects: CompletionEffects }[] = [];
      for (const { id, owner, effects } of completions) {
        const item = removed.get(keyOf(owner, id));
        // A completion listed twice counts once: the second finds nothing left to remove.
        removed.delete(keyOf(owner, id));
        outcomes.push(item === undefined ? 'lost' : 'ok');
        if (item !== undefined && effects !== undefined) applied.push({ item, effects });
      }
      await applyCompletionEffects(tx, applied, now);
      return outcomes;
    };
    // One DELETE is atomic on its own; anything more shares one transaction (one commit).
    if (deletes.length === 1 && !hasEffects) return completeAll(this.ctx.driver);
    const inOneStatement = await completeInOneStatement(this.ctx.driver, completions, now);
    if (inOneStatement !== null) return inOneStatement;
    return this.ctx.driver.transaction('complete', completeAll);
  }

  async fail(request: FailRequest): Promise<LeaseOutcome> {
    requireText(request.error?.code, 'fail error code');
    if (request.retryAt !== null) requireTime(request.retryAt, 'fail retryAt');
    const now = this.ctx.clock.now();
    return this.withOwnLeasedItem('fail', request.id, request.owner, async (tx, item, successor) => {
      const error = request.error;
      const firstFailedAt = toNumberOrNull(item.first_failed_at) ?? now;
      // A try that does not count gives back the attempt its lease took.
      const attempts = Number(item.attempts) - (request.countsAttempt === false ? 1 : 0);
      if (request.audit !== undefined && request.audit.length > 0)
        await insertAuditEntries(tx, request.audit);
      if (request.retryAt === null) {
        await writeDeadLetter(tx, item, error, firstFailedAt, now);
        await tx.run('DELETE FROM work_items WHERE id = ?', [String(item.id)]);
      } else if (successor !== null) {
        await tx.run('DELETE FROM work_items WHERE id = ?', [String(item.id)]);
        await carryIntoSuccessor(tx, String(successor.id), {
          attempts,
          error,
          firstFailedAt,
          availableAt: request.retryAt,
        });
      } else {
        await tx.run(
          "UPDATE work_items SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, available_at = ?, " +
            'attempts = ?, last_error_code = ?, last_error_message = ?, last_error_retryable = ?, first_failed_at = ? WHERE id = ?',
          [
            request.retryAt,
            attempts,
            error.code,
            error.message,
            error.retryable ? 1 : 0,
            firstFailedAt,
            String(item.id),
          ],
        );
      }
      return 'ok';
    });
  }

  async park(
    id: string,
    owner: string,
    parent: ParentRef,
    reason: string,
    audit?: readonly Omit<AuditEntry, 'id'>[],
    state: ParkedState = 'waiting',
  ): Promise<LeaseOutcome> {
    requireText(parent?.flow, 'park parent flow');
    requireText(parent.recordKey, 'park parent recordKey');
    if (typeof reason !== 'string') requireText(reason, 'park reason');
    const now = this.ctx.clock.now();
    return this.withOwnLeasedItem('park', id, owner, async (tx, item, successor) => {
      // Ordered with a concurrent release of the same parent (see releaseParkedIn).
      await tx.lockKeys([parkedOnKey(parent)]);
      // The queued newer state is folded in: the parked item is the newest state of the record.
      const newest = successor ?? item;
      await tx.run(
        'INSERT INTO parked_items (flow, record_key, parent_flow, parent_key, payload, source_version, reason, state, parked_at, updated_at) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (flow, record_key) DO UPDATE SET parent_flow = excluded.parent_flow, ' +
          'parent_key = excluded.parent_key, payload = excluded.payload, source_version = excluded.source_version, ' +
          'reason = excluded.reason, state = excluded.state, updated_at = excluded.updated_at',
        [
          item.flow,
          item.record_key,
          parent.flow,
          parent.recordKey,
          newest.payload,
          newerSourceVersion(item.source_version, successor?.source_version ?? null),
          reason,
          state,
          now,
          now,
        ],
      );
      const ids = successor === null ? [String(item.id)] : [String(item.id), String(successor.id)];
      await tx.run(`DELETE FROM work_items WHERE id IN (${placeholders(ids.length)})`, ids);
      if (audit !== undefined && audit.length > 0) await insertAuditEntries(tx, audit);
      return 'ok';
    });
  }

  /**
   * Run `fn` with the item `id` when `owner` still holds its lease, and the queued newer item of
   * the same key if any; otherwise the lease is `lost`.
   */
  private async withOwnLeasedItem(
    label: string,
    id: string,
    owner: string,
    fn: (tx: SqlTransaction, item: WorkItemRow, successor: WorkItemRow | null) => Promise<LeaseOutcome>,
  ): Promise<LeaseOutcome> {
    if (!isStoreId(id)) return 'lost';
    return this.ctx.driver.transaction(label, async (tx) => {
      const heads = await tx.all<{ flow: string; record_key: string }>(
        "SELECT flow, record_key FROM work_items WHERE id = ? AND state = 'leased' AND lease_owner = ?",
        [id, owner],
      );
      const head = heads[0];
      if (head === undefined) return 'lost';
      await tx.lockKeys([keyOf(head.flow, head.record_key)]);
      const items = itemsOfKeys(head.flow, [head.record_key]);
      const rows = await tx.all<WorkItemRow>(
        `SELECT ${workItemColumns} FROM work_items WHERE ${items.sql} ORDER BY id ${tx.forUpdate}`,
        items.params,
      );
      const item = rows.find(
        (row) => String(row.id) === id && row.state === 'leased' && row.lease_owner === owner,
      );
      if (item === undefined) return 'lost';
      return fn(tx, item, rows.find((row) => row.state === 'queued') ?? null);
    });
  }

  async backlog(): Promise<BacklogEntry[]> {
    const rows = await this.ctx.driver.all<{
      flow: string;
      lane_rank: number | string;
      queued: number | string;
      leased: number | string;
    }>(
      "SELECT flow, lane_rank, SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END) AS queued, " +
        "SUM(CASE WHEN state = 'leased' THEN 1 ELSE 0 END) AS leased FROM work_items GROUP BY flow, lane_rank ORDER BY flow, lane_rank",
    );
    return rows.map((row) => ({
      flow: row.flow,
      lane: laneOfRank(row.lane_rank),
      queued: Number(row.queued),
      leased: Number(row.leased),
    }));
  }

  async countPending(request: PendingCountRequest): Promise<number> {
    requireText(request.flow, 'pending count flow');
    if (!Number.isSafeInteger(request.atMost) || request.atMost < 0) {
      throw new StoreError('STORE_INVALID_INPUT', 'pending count atMost must be a non-negative whole number');
    }
    if (!workLanes.includes(request.lane)) {
      throw new StoreError('STORE_INVALID_INPUT', `pending count lane must be among ${workLanes.join(', ')}`);
    }
    const states = request.includeLeased === true ? (['queued', 'leased'] as const) : (['queued'] as const);
    // On SQLite the lane is an expression so that the flow's partial index is walked (not the lease
    // order index, which would read other flows' bulk backlogs too).
    const lane = this.ctx.driver.dialect === 'sqlite' ? '+lane_rank' : 'lane_rank';
    let counted = 0;
    for (const state of states) {
      if (counted >= request.atMost) break;
      // One literal state per query: the partial indexes on (flow, record_key) WHERE state = … serve
      // it, and LIMIT stops the walk at the count asked for, however large the inbox is.
      const rows = await this.ctx.driver.all<{ n: number | string }>(
        `SELECT COUNT(*) AS n FROM (SELECT 1 FROM work_items WHERE flow = ? AND state = '${state}' AND ${lane} = ? LIMIT ?) pending`,
        [request.flow, laneRankOf(request.lane), request.atMost - counted],
      );
      counted += Number(rows[0]?.n ?? 0);
    }
    return counted;
  }

  async retrying(): Promise<RetryingEntry[]> {
    // Served by the partial index work_items_failing (migration 4): cheap with a large backlog.
    const rows = await this.ctx.driver.all<{
      flow: string;
      code: string;
      count: number | string;
      oldest: number | string | null;
    }>(
      'SELECT flow, last_error_code AS code, COUNT(*) AS count, MIN(first_failed_at) AS oldest FROM work_items ' +
        'WHERE last_error_code IS NOT NULL GROUP BY flow, last_error_code ORDER BY flow, last_error_code',
    );
    return rows.map((row) => ({
      flow: row.flow,
      code: row.code,
      count: Number(row.count),
      oldestFailedAt: toNumberOrNull(row.oldest),
    }));
  }

  listRetrying(filter: { flow?: string | undefined }, page: PageRequest): Promise<Page<RetryingItem>> {
    return selectPage(
      this.ctx.driver,
      {
        label: 'retrying list',
        table: 'work_items',
        columns: workItemColumns,
        where: retryingWhere(filter),
        // Through the partial index work_items_failing: a few failing items in a large inbox.
        idExpression: '+id',
      },
      page,
      toRetryingItem,
    );
  }

  async countRetrying(filter: { flow?: string | undefined }): Promise<number> {
    // Served by the partial index work_items_failing (migration 4).
    const where = retryingWhere(filter);
    const rows = await this.ctx.driver.all<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM work_items WHERE ${where.sql}`,
      where.params,
    );
    return Number(rows[0]?.n ?? 0);
  }

  async oldestQueuedAt(flow: string): Promise<number | null> {
    const rows = await this.ctx.driver.all<{ oldest: number | string | null }>(
      "SELECT MIN(enqueued_at) AS oldest FROM work_items WHERE flow = ? AND state = 'queued'",
      [flow],
    );
    return toNumberOrNull(rows[0]?.oldest ?? null);
  }

  async itemsForKey(flow: string, recordKey: string): Promise<WorkItem[]> {
    const items = itemsOfKeys(flow, [recordKey]);
    const rows = await this.ctx.driver.all<WorkItemRow>(
      `SELECT ${workItemColumns} FROM work_items WHERE ${items.sql} ORDER BY id`,
      items.params,
    );
    return rows.map(toWorkItem);
  }
}

interface IntentJoinRow {
  intent_written: boolean | null;
}

function toWorkItemWithKeyMap(row: WorkItemRow & KeyMapJoinRow & IntentJoinRow): WorkItem {
  const item: WorkItem = { ...toWorkItem(row), keyMap: toJoinedKeyMapEntry(row) };
  return row.intent_written === true ? { ...item, intentWritten: true } : item;
}

/**
 * Write create intents for the leased `items` of `flows` whose key has no key-map entry, in the
 * lease's transaction (the keys are leased by it, so no one else writes their entries).
 */
async function writeCreateIntents(
  tx: SqlTransaction,
  items: WorkItem[],
  flows: readonly string[],
  now: number,
): Promise<WorkItem[]> {
  if (flows.length === 0) return items;
  const wanted = (item: WorkItem): boolean => item.keyMap === null && flows.includes(item.flow);
  const intents = items
    .filter(wanted)
    .map((item): KeyMapChange => ({ op: 'put', entry: createIntentEntry(item.flow, item.recordKey) }));
  if (intents.length === 0) return items;
  await writeKeyMapChanges(tx, intents, now);
  return items.map((item) => (wanted(item) ? { ...item, intentWritten: true } : item));
}

/**
 * PostgreSQL: the create intents of a one-statement lease, as a CTE after `leased` (see
 * {@link writeCreateIntents}); keys in order, like every key-map write. Parameters follow the lease's.
 */
function createIntentsCte(flows: readonly string[], now: number): { sql: string; params: SqlParam[] } {
  return {
    sql:
      `, intents AS (INSERT INTO key_map (flow, record_key, campaign_pkey, origin, last_source_version, last_payload_hash, created_at, updated_at) ` +
      `SELECT l.flow, l.record_key, NULL, 'created', NULL, NULL, CAST(? AS BIGINT), CAST(? AS BIGINT) FROM leased l ` +
      `WHERE l.flow IN (${placeholders(flows.length)}) ` +
      'AND NOT EXISTS (SELECT 1 FROM key_map x WHERE x.flow = l.flow AND x.record_key = l.record_key) ' +
      'ORDER BY l.flow, l.record_key ON CONFLICT (flow, record_key) DO NOTHING RETURNING flow, record_key)',
    params: [now, now, ...flows],
  };
}

function retryingWhere(filter: { flow?: string | undefined }): SqlWhere {
  return whereAll([
    ['last_error_code IS NOT NULL'],
    filter.flow === undefined ? null : ['flow = ?', filter.flow],
  ]);
}

function toRetryingItem(row: WorkItemRow): RetryingItem {
  return {
    id: String(row.id),
    flow: row.flow,
    recordKey: row.record_key,
    code: row.last_error_code ?? '',
    message: row.last_error_message ?? '',
    attempts: Number(row.attempts),
    firstFailedAt: toNumberOrNull(row.first_failed_at),
    nextAttemptAt: row.state === 'leased' ? null : Number(row.available_at),
  };
}

/** The store changes that commit with completed items: key map, audit, resolved dead letters. */
async function applyCompletionEffects(
  tx: SqlExecutor | SqlTransaction,
  applied: readonly { item: { flow: string; record_key: string }; effects: CompletionEffects }[],
  now: number,
): Promise<void> {
  const keyMapChanges: KeyMapChange[] = [];
  const audit: NonNullable<CompletionEffects['audit']>[number][] = [];
  const resolved = new Map<string, Set<string>>();
  for (const { item, effects } of applied) {
    if (effects.keyMap !== undefined) keyMapChanges.push(effects.keyMap);
    if (effects.audit !== undefined) audit.push(...effects.audit);
    if (effects.resolveDeadLetters === true) {
      const keys = resolved.get(item.flow) ?? new Set<string>();
      resolved.set(item.flow, keys.add(item.record_key));
    }
  }
  if (keyMapChanges.length > 0) await writeKeyMapChanges(tx, keyMapChanges, now);
  if (audit.length > 0) await insertAuditEntries(tx, audit);
  // After the key map: a released child that leases at once finds its parent's PKey.
  for (const { effects } of applied) {
    if (effects.releaseParked === undefined) continue;
    // Completions with effects always run in a transaction (see completeMany).
    if (!('lockKeys' in tx)) throw new Error('releasing parked items needs a transaction');
    await releaseParkedIn(tx, effects.releaseParked, now);
  }
  for (const { effects } of applied) {
    const orphaned = effects.orphanParked;
    if (orphaned === undefined) continue;
    await tx.run(
      "UPDATE parked_items SET state = 'orphan', reason = ?, updated_at = ? WHERE parent_flow = ? AND parent_key = ? AND state = 'waiting'",
      [orphaned.reason, now, orphaned.parent.flow, orphaned.parent.recordKey],
    );
  }
  for (const [flow, keys] of resolved) {
    for (const part of chunk([...keys], 500)) {
      const list = inList(part);
      await tx.run(`DELETE FROM dead_letters WHERE flow = ? AND record_key IN (${list.sql})`, [
        flow,
        ...list.params,
      ]);
    }
  }
}

/**
 * Dead-letter a failed item: one dead letter per flow, record key and error code. A repeat failure
 * of the same cause updates the existing one (rules on {@link DeadLetter}); the caller holds the
 * key's lock, so no other writer adds one meanwhile (the unique index makes sure of it anyway).
 */
async function writeDeadLetter(
  tx: SqlTransaction,
  item: WorkItemRow,
  error: { code: string; message: string },
  firstFailedAt: number,
  now: number,
): Promise<void> {
  const existing = await tx.all<{
    id: string | number;
    source_version: string | null;
    first_failed_at: number | string;
  }>(
    `SELECT id, source_version, first_failed_at FROM dead_letters WHERE flow = ? AND record_key = ? AND code = ? ${tx.forUpdate}`,
    [item.flow, item.record_key, error.code],
  );
  const held = existing[0];
  if (held === undefined) {
    await tx.run(
      'INSERT INTO dead_letters (flow, record_key, payload, source_version, code, message, attempts, first_failed_at, last_failed_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        item.flow,
        item.record_key,
        item.payload,
        item.source_version,
        error.code,
        error.message,
        Number(item.attempts),
        firstFailedAt,
        now,
      ],
    );
    return;
  }
  // The newer state of the record wins; a repeat failure of an older state keeps the held one.
  const state = isOlderSourceVersion(item.source_version, held.source_version)
    ? { sql: '', params: [] }
    : { sql: 'payload = ?, source_version = ?, ', params: [item.payload, item.source_version] };
  await tx.run(
    `UPDATE dead_letters SET ${state.sql}message = ?, attempts = attempts + ?, first_failed_at = ?, last_failed_at = ? WHERE id = ?`,
    [
      ...state.params,
      error.message,
      Number(item.attempts),
      Math.min(Number(held.first_failed_at), firstFailedAt),
      now,
      String(held.id),
    ],
  );
}

/**
 * Lease queued items in lease order, skipping keys that have a leased item (one lease per key).
 * Parameters: owner, lease expiry, now, the `q` filter's, [now, the `e` filter's,] limit. With
 * `expiredFilter`, it leases nothing while an expired lease in the same flows and lanes waits to be
 * taken over (they go first; the caller's transaction does that).
 */
function leaseFreshSql(freshFilter: string, expiredFilter: string | null, skipLocked: string): string {
  const noExpired =
    expiredFilter === null
      ? ''
      : `AND NOT EXISTS (SELECT 1 FROM work_items e WHERE e.state = 'leased' AND e.lease_expires_at <= ?${expiredFilter}) `;
  return (
    `UPDATE work_items SET state = 'leased', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1 ` +
    `WHERE id IN (SELECT q.id FROM work_items q WHERE q.state = 'queued' AND q.available_at <= ?${freshFilter} ` +
    `AND NOT EXISTS (SELECT 1 FROM work_items l WHERE l.state = 'leased' AND l.flow = q.flow AND l.record_key = q.record_key) ` +
    noExpired +
    `ORDER BY q.lane_rank, q.id LIMIT ? ${skipLocked}) RETURNING ${workItemColumns}`
  );
}

/**
 * The lease's common case, one statement (see {@link SqlWorkQueue.lease}): queued items in lease
 * order while no expired lease in the same flows and lanes waits to be taken over.
 */
export function directLeaseStatement(
  driver: Pick<SqlDriver, 'dialect' | 'forUpdateSkipLocked'>,
  flows: readonly string[] | undefined,
  lanes: readonly string[],
): {
  sql: string;
  params: (lease: { owner: string; expiresAt: number; now: number; limit: number }) => SqlParam[];
} {
  const fresh = leaseFilter('q', flows, lanes, driver.dialect);
  const expired = leaseFilter('e', flows, lanes, driver.dialect);
  return {
    sql: leaseFreshSql(fresh.sql, expired.sql, driver.forUpdateSkipLocked),
    params: ({ owner, expiresAt, now, limit }) => [
      owner,
      expiresAt,
      now,
      ...fresh.params,
      now,
      ...expired.params,
      limit,
    ],
  };
}

/** Extra WHERE terms for the lease filters on table alias `alias`. */
function leaseFilter(
  alias: string,
  flows: readonly string[] | undefined,
  lanes: readonly string[],
  dialect: SqlDialect,
): { sql: string; params: SqlParam[] } {
  let sql = '';
  const params: SqlParam[] = [];
  if (flows !== undefined) {
    // On SQLite an expression, not the bare column: otherwise it reads every queued item of the
    // flow through the (flow, record_key) index and sorts them, per lease (O(backlog)); this way
    // it walks the (lane_rank, id) lease-order index and stops at the limit. PostgreSQL estimates
    // the bare column from its statistics, where an expression gets a fixed 0.5 % selectivity and
    // makes a large backlog look small enough to sort (O(backlog) again).
    const column = dialect === 'sqlite' ? `(${alias}.flow || '')` : `${alias}.flow`;
    sql += ` AND ${column} IN (${placeholders(flows.length)})`;
    params.push(...flows);
  }
  const ranks = [...new Set(lanes)].map((lane) => {
    if (!workLanes.includes(lane as (typeof workLanes)[number])) {
      throw new StoreError('STORE_INVALID_INPUT', `lease lanes must be among ${workLanes.join(', ')}`);
    }
    return laneRankOf(lane as (typeof workLanes)[number]);
  });
  if (ranks.length < workLanes.length) {
    sql += ` AND ${alias}.lane_rank IN (${placeholders(ranks.length)})`;
    params.push(...ranks);
  }
  return { sql, params };
}

/**
 * A newer queued item supersedes a failed or expired one: it inherits the attempts (so a record
 * that keeps changing during an outage still reaches the dead letters) and waits out the backoff.
 */
async function carryIntoSuccessor(
  tx: SqlTransaction,
  successorId: string,
  carried: {
    attempts: number;
    error: { code: string; message: string; retryable: boolean };
    firstFailedAt: number;
    availableAt: number;
  },
): Promise<void> {
  await tx.run(
    'UPDATE work_items SET attempts = CASE WHEN attempts < ? THEN ? ELSE attempts END, ' +
      'last_error_code = ?, last_error_message = ?, last_error_retryable = ?, first_failed_at = COALESCE(first_failed_at, ?), ' +
      "available_at = CASE WHEN available_at < ? THEN ? ELSE available_at END WHERE id = ? AND state = 'queued'",
    [
      carried.attempts,
      carried.attempts,
      carried.error.code,
      carried.error.message,
      carried.error.retryable ? 1 : 0,
      carried.firstFailedAt,
      carried.availableAt,
      carried.availableAt,
      successorId,
    ],
  );
}
