import { parseJson, type JsonValue } from '../../core/json.js';
import { workLanes, type WorkItem, type WorkLane, type WorkState } from '../../core/ports/state-store.js';
import { inList } from './sql-list.js';

/** Columns of `work_items` as a driver returns them (PostgreSQL gives `bigint` as a string). */
export interface WorkItemRow {
  id: string | number;
  flow: string;
  record_key: string;
  payload: string;
  source_version: string | null;
  lane_rank: number | string;
  state: string;
  attempts: number | string;
  enqueued_at: number | string;
  available_at: number | string;
  lease_owner: string | null;
  lease_expires_at: number | string | null;
  last_error_code: string | null;
  last_error_message: string | null;
  last_error_retryable: number | string | null;
  first_failed_at: number | string | null;
  [column: string]: unknown;
}

export const workItemColumns =
  'id, flow, record_key, payload, source_version, lane_rank, state, attempts, enqueued_at, available_at, ' +
  'lease_owner, lease_expires_at, last_error_code, last_error_message, last_error_retryable, first_failed_at';

/** Lanes are stored as their rank in `workLanes`, so `ORDER BY lane_rank` puts `live` first. */
export function laneRankOf(lane: WorkLane): number {
  return workLanes.indexOf(lane);
}

export function laneOfRank(rank: number | string): WorkLane {
  return workLanes[Number(rank)] ?? 'bulk';
}

export function toNumberOrNull(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

export function parsePayload(text: string): JsonValue {
  // JSON text the store wrote from a JsonValue; the flow's payload schema checks its shape.
  return parseJson(text);
}

export function toWorkItem(row: WorkItemRow): WorkItem {
  return {
    id: String(row.id),
    flow: row.flow,
    recordKey: row.record_key,
    payload: parsePayload(row.payload),
    sourceVersion: row.source_version,
    lane: laneOfRank(row.lane_rank),
    state: row.state as WorkState,
    attempts: Number(row.attempts),
    enqueuedAt: Number(row.enqueued_at),
    availableAt: Number(row.available_at),
    leaseOwner: row.lease_owner,
    leaseExpiresAt: toNumberOrNull(row.lease_expires_at),
    lastError:
      row.last_error_code === null
        ? null
        : {
            code: row.last_error_code,
            message: row.last_error_message ?? '',
            retryable: Number(row.last_error_retryable) === 1,
          },
    firstFailedAt: toNumberOrNull(row.first_failed_at),
  };
}

/** Staging order: the lane first, then the id (numerically: ids are decimal strings). */
export function compareLeaseOrder(a: WorkItemRow, b: WorkItemRow): number {
  return Number(a.lane_rank) - Number(b.lane_rank) || Number(a.id) - Number(b.id);
}

/**
 * The items (queued and leased) of `keys` of one flow: a WHERE term over `work_items` and its
 * parameters. Read through the partial unique index of each state (an item is one or the other;
 * there is no plain (flow, record_key) index since migration 13), so it is written OR-ed per state.
 */
export function itemsOfKeys(
  flow: string,
  keys: readonly string[],
  alias = '',
): { sql: string; params: string[] } {
  const t = alias === '' ? '' : `${alias}.`;
  const list = inList(keys);
  const ofKeys =
    keys.length === 1
      ? `${t}flow = ? AND ${t}record_key = ?`
      : `${t}flow = ? AND ${t}record_key IN (${list.sql})`;
  return {
    sql: `((${t}state = 'queued' AND ${ofKeys}) OR (${t}state = 'leased' AND ${ofKeys}))`,
    params: [flow, ...list.params, flow, ...list.params],
  };
}
