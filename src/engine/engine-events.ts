import type { ParentRef, ParkedState, WorkLane } from '../core/ports/state-store.js';
import type { ApplyOutcome } from './engine-stats.js';
import type { RunView } from './runs/run-view.js';

/** A long read of a flow (initial load, re-baseline, replay) moving on. */
export interface ReadProgress {
  flow: string;
  kind: 'initial' | 'rebaseline' | 'replay';
  rows: number;
  total: number | null;
  startedAt: number;
  done: boolean;
}

/**
 * What the engine tells the rest of the process, by event name. Status, metrics, alerts and the
 * CLI's progress subscribe here instead of being called from inside the engine.
 */
export interface EngineEventMap {
  /** Changes were staged durably (with their checkpoint). */
  'item.staged': { flow: string; count: number; lane: WorkLane };
  /**
   * Changes read that did not become work items of their own, by why: `stale` (the store holds a
   * newer version), `coalesced` (merged into the key's queued item, maybe of the other lane),
   * `folded-into-parked` (the parked child took the newer state), `dropped` (a delete of a parked
   * child never written). A run counts them as settled: nothing of its own is left to write.
   */
  'item.absorbed': { flow: string; lane: WorkLane; outcomes: Readonly<Record<string, number>> };
  /**
   * A work item was applied and its completion committed, with what applying it did. `lagMs`:
   * staged → applied. `lane`: the item's lane (`bulk` items belong to the flow's run).
   */
  'item.applied': { flow: string; lane: WorkLane; outcome: ApplyOutcome; elapsedMs: number; lagMs: number };
  /**
   * An event of a flow read from an event source (F6) became its row in the target: `eventLagMs`
   * is the time from the event at the source (its own time) to the row written.
   */
  'event.landed': { flow: string; eventLagMs: number };
  /** A work item now waits for `parent`. */
  /** `state` `orphan`: a child with no parent in Dynamics (an empty required lookup). */
  'item.parked': {
    flow: string;
    lane: WorkLane;
    recordKey: string;
    parent: ParentRef;
    reason: string;
    state: ParkedState;
  };
  /**
   * Items parked on `parent` went back to the queue. `count` is null when the release committed
   * with the parent's completion (every landed record of a parent flow releases its children,
   * however many — possibly none).
   */
  'item.released': { parent: ParentRef; count: number | null };
  /** Applying a work item failed: retried later, or a dead letter. */
  'item.failed': {
    flow: string;
    lane: WorkLane;
    recordKey: string;
    code: string;
    deadLettered: boolean;
    throttled: boolean;
  };
  /** A long read (of a run) started, moved on, or ended: what was READ, not written. */
  'read.started': ReadProgress;
  'read.progressed': ReadProgress;
  'read.ended': ReadProgress;
  /**
   * A run (initial load, replay, re-baseline) started, moved on (about once a second while it
   * runs), or ended — once its last record was written. Progress counts what was written.
   */
  'run.started': RunView;
  'run.progressed': RunView;
  'run.ended': RunView;
  /**
   * Waiting to become idle (`runUntilIdle`), about once a second while work remains: the inbox
   * (queued and in flight) and the rate records are written at.
   */
  'work.pending': { queued: number; leased: number; writtenPerSecond: number };
  /** The engine stopped (drained): progress displays close. */
  'engine.stopped': { at: number };
  /** The engine's view of the target's call budget changed (published by the composition root). */
  'budget.changed': { target: string; callsPerSecond: number; limit: number; reason: string | null };
}

export type EngineEventName = keyof EngineEventMap;
type Listener<K extends EngineEventName> = (event: EngineEventMap[K]) => void;

/**
 * A small typed event bus. Listeners run synchronously in registration order; one that throws is
 * reported to `onListenerError` and does not stop the others or the engine.
 */
export class EngineEvents {
  private readonly listeners = new Map<EngineEventName, Listener<never>[]>();

  constructor(
    private readonly onListenerError: (error: unknown, event: EngineEventName) => void = () => {},
  ) {}

  on<K extends EngineEventName>(name: K, listener: Listener<K>): () => void {
    const list = this.listeners.get(name) ?? [];
    list.push(listener);
    this.listeners.set(name, list);
    return () => {
      const current = this.listeners.get(name) ?? [];
      this.listeners.set(
        name,
        current.filter((l) => l !== (listener as Listener<never>)),
      );
    };
  }

  emit<K extends EngineEventName>(name: K, event: EngineEventMap[K]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        (listener as Listener<K>)(event);
      } catch (error) {
        this.onListenerError(error, name);
      }
    }
  }
}
