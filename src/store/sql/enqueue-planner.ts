/**
 * The coalescing rules of the inbox as a pure function (no I/O), so both dialects share them:
 * given what the store holds for some record keys and a list of changes in source order, decide
 * each change's outcome and the rows to insert or update.
 */
import type { EnqueueOutcome } from '../../core/ports/state-store.js';
import { isOlderSourceVersion, newerSourceVersion } from '../../core/record-key.js';
import { keyOf } from './sql-list.js';

/** A validated change, ready to stage. */
export interface StagedChange {
  flow: string;
  recordKey: string;
  /** The payload as JSON text. */
  payload: string;
  sourceVersion: string | null;
  laneRank: number;
  availableAt: number;
}

/** What the store holds for one record key before the changes are staged. */
export interface KeyHoldings {
  queued: { id: string; sourceVersion: string | null; laneRank: number; availableAt: number } | null;
  /** Version of the item currently leased for the key, when there is one and it is known. */
  leasedVersion: string | null;
  parked: { sourceVersion: string | null } | null;
}

export interface QueuedItemWrite {
  /** Existing row to update; null for a new row. */
  id: string | null;
  flow: string;
  recordKey: string;
  payload: string;
  sourceVersion: string | null;
  laneRank: number;
  availableAt: number;
}

export interface ParkedItemWrite {
  flow: string;
  recordKey: string;
  payload: string;
  sourceVersion: string | null;
}

export interface EnqueuePlan {
  /** One per change, in input order. */
  outcomes: EnqueueOutcome[];
  /** New queued items, in staging order (ids follow it). */
  inserts: QueuedItemWrite[];
  /** Existing queued items whose state was replaced. */
  updates: QueuedItemWrite[];
  /** Parked items whose payload was replaced. */
  parkedUpdates: ParkedItemWrite[];
}

interface KeyPlan {
  queued: QueuedItemWrite | null;
  queuedChanged: boolean;
  parked: ParkedItemWrite | null;
  parkedChanged: boolean;
  /** The newest version the store knows for the key (queued, leased or parked). */
  newest: string | null;
}

/**
 * Per record key at most one item is queued: a newer change replaces it (`coalesced`, keeping
 * its place in line, the more urgent lane and any later `availableAt`, so a backoff holds) unless
 * the change's version is lower than one the store already holds (`stale`). A key whose item is
 * leased gets a second queued item. A parked key has its parked payload replaced.
 */
export function planEnqueue(
  holdings: ReadonlyMap<string, KeyHoldings>,
  changes: readonly StagedChange[],
): EnqueuePlan {
  const keys = new Map<string, KeyPlan>();
  const plan: EnqueuePlan = { outcomes: [], inserts: [], updates: [], parkedUpdates: [] };

  for (const change of changes) {
    const key = keyOf(change.flow, change.recordKey);
    let state = keys.get(key);
    if (state === undefined) {
      state = startKeyPlan(change, holdings.get(key));
      keys.set(key, state);
    }
    if (isOlderSourceVersion(change.sourceVersion, state.newest)) {
      plan.outcomes.push('stale');
      continue;
    }
    state.newest = newerSourceVersion(state.newest, change.sourceVersion);
    if (state.parked !== null) {
      state.parked.payload = change.payload;
      state.parked.sourceVersion = state.newest;
      state.parkedChanged = true;
      plan.outcomes.push('folded-into-parked');
    } else if (state.queued !== null) {
      const queued = state.queued;
      queued.payload = change.payload;
      queued.sourceVersion = state.newest;
      queued.laneRank = Math.min(queued.laneRank, change.laneRank);
      queued.availableAt = Math.max(queued.availableAt, change.availableAt);
      state.queuedChanged = true;
      plan.outcomes.push('coalesced');
    } else {
      state.queued = { id: null, ...change, sourceVersion: state.newest };
      plan.inserts.push(state.queued);
      plan.outcomes.push('queued');
    }
  }

  for (const state of keys.values()) {
    if (state.queued?.id != null && state.queuedChanged) plan.updates.push(state.queued);
    if (state.parked !== null && state.parkedChanged) plan.parkedUpdates.push(state.parked);
  }
  return plan;
}

function startKeyPlan(change: StagedChange, held: KeyHoldings | undefined): KeyPlan {
  const queued = held?.queued ?? null;
  const parked = held?.parked ?? null;
  return {
    queued:
      queued === null ? null : { ...queued, flow: change.flow, recordKey: change.recordKey, payload: '' },
    queuedChanged: false,
    parked:
      parked === null
        ? null
        : {
            flow: change.flow,
            recordKey: change.recordKey,
            payload: '',
            sourceVersion: parked.sourceVersion,
          },
    parkedChanged: false,
    newest: newerSourceVersion(
      newerSourceVersion(queued?.sourceVersion ?? null, held?.leasedVersion ?? null),
      parked?.sourceVersion ?? null,
    ),
  };
}
