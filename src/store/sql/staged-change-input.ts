import { StoreError } from '../../core/errors.js';
import { workLanes, type WorkItemInput } from '../../core/ports/state-store.js';
import type { StagedChange } from './enqueue-planner.js';
import { parseSourceVersion } from './source-version.js';
import { laneRankOf } from './work-item-row.js';

/** Check one `enqueue` input and give it the store's defaults (lane `live`, available now). */
export function toStagedChange(input: WorkItemInput, index: number, now: number): StagedChange {
  const where = `enqueue item ${index}`;
  requireText(input.flow, `${where}: flow`);
  requireText(input.recordKey, `${where} (flow ${input.flow}): recordKey`);
  const lane = input.lane ?? 'live';
  if (!workLanes.includes(lane)) {
    throw new StoreError('STORE_INVALID_INPUT', `${where}: lane must be one of ${workLanes.join(', ')}`);
  }
  const availableAt = input.availableAt ?? now;
  requireTime(availableAt, `${where}: availableAt`);
  if (input.payload === undefined) {
    throw new StoreError(
      'STORE_INVALID_INPUT',
      `${where} (${input.flow}/${input.recordKey}): payload is missing`,
    );
  }
  return {
    flow: input.flow,
    recordKey: input.recordKey,
    payload: JSON.stringify(input.payload),
    sourceVersion: parseSourceVersion(input.sourceVersion, where),
    laneRank: laneRankOf(lane),
    availableAt,
  };
}

/** A non-empty string, or a StoreError naming the field. */
export function requireText(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new StoreError('STORE_INVALID_INPUT', `${field} must be a non-empty string`);
  }
}

/**
 * A whole number of milliseconds, or a StoreError naming the field. Times are 64-bit integers in
 * both dialects; PostgreSQL would refuse a fraction that SQLite stores, so both refuse it here.
 */
export function requireTime(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new StoreError('STORE_INVALID_INPUT', `${field} must be a whole number of milliseconds`);
  }
}
