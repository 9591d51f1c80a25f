import { z } from 'zod';
import type { ChangePage } from '../core/ports/change-feed.js';
import type { WorkItemInput, WorkLane } from '../core/ports/state-store.js';
import { recordChangePayload, type ChangeOrigin, type RecordChange } from '../core/record-change.js';
import { defineCheckpoint } from './checkpoints.js';

/** Phases of a flow's read cursor. */
export const cursorPhases = ['initial', 'delta', 'rebaseline', 'rebaseline-finish'] as const;
export type CursorPhase = (typeof cursorPhases)[number];

const cursorStateSchema = z.object({
  phase: z.enum(cursorPhases),
  /** Next page or delta link; null = start a full read. */
  link: z.string().nullable(),
  /** Identifies the current read run (breaker counts and re-baseline seen marks belong to it). */
  runId: z.string().nullable(),
  runRows: z.number().int().nonnegative(),
  runDeletes: z.number().int().nonnegative(),
  runOverwrites: z.number().int().nonnegative(),
  startedAt: z.number(),
  /** When the last read reached its final page. */
  caughtUpAt: z.number().nullable(),
  /**
   * Re-baselines started because the source refused a delta link with an undocumented answer,
   * since the last delta read that completed. One more refusal then pauses the flow rather than
   * re-read the table again and again. Absent = 0 (cursors written before it existed).
   */
  refusedRebaselines: z.number().int().nonnegative().optional(),
});

/** The persisted read position of a flow. */
export type CursorState = z.infer<typeof cursorStateSchema>;

/** Checkpoint `flow:<id>:cursor`: where a flow's feed is read from, and the read run in progress. */
export const cursorCheckpoint = defineCheckpoint<CursorState>({
  description: 'read cursor of a flow',
  name: (flowId) => `flow:${flowId}:cursor`,
  schema: cursorStateSchema,
  initial: (now) => ({
    phase: 'initial',
    link: null,
    runId: null,
    runRows: 0,
    runDeletes: 0,
    runOverwrites: 0,
    startedAt: now,
    caughtUpAt: null,
  }),
});

const replayStateSchema = z.object({
  link: z.string().nullable(),
  rows: z.number().int().nonnegative(),
  startedAt: z.number(),
  total: z.number().nullable(),
});

/** An operator replay in progress. */
export type ReplayState = z.infer<typeof replayStateSchema>;

/** Checkpoint `flow:<id>:replay`: absent when no replay runs. */
export const replayCheckpoint = defineCheckpoint<ReplayState | null>({
  description: 'replay of a flow',
  name: (flowId) => `flow:${flowId}:replay`,
  schema: replayStateSchema,
  initial: () => null,
});

/** Where the records of a read phase come from, as their changes say. */
export function originOf(phase: CursorPhase): ChangeOrigin {
  return phase === 'delta' ? 'delta' : phase === 'initial' ? 'initial' : 'rebaseline';
}

/** Live changes lease before loads (initial, re-baseline, replay). */
export function laneOf(phase: CursorPhase): WorkLane {
  return phase === 'delta' ? 'live' : 'bulk';
}

/** One page of a feed as work items of `flow` (record changes, the payload schema of record flows). */
export function pageItems(
  flow: string,
  page: ChangePage,
  origin: ChangeOrigin,
  lane: WorkLane,
): WorkItemInput[] {
  const items: WorkItemInput[] = [];
  for (const row of page.upserts) {
    const change: RecordChange = { op: 'upsert', origin, values: row.values, modifiedOn: row.modifiedOn };
    items.push({
      flow,
      recordKey: row.id,
      payload: recordChangePayload(change),
      sourceVersion: row.version ?? undefined,
      lane,
    });
  }
  for (const id of page.deletes) {
    const change: RecordChange = { op: 'delete', origin, reason: 'deleted' };
    items.push({ flow, recordKey: id, payload: recordChangePayload(change), lane });
  }
  return items;
}
