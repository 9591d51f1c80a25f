import type { z } from 'zod';
import type { JsonValue } from '../core/json.js';
import type { ChangeFeed } from '../core/ports/change-feed.js';
import type {
  CompletionEffects,
  KeyMapStore,
  ParentRef,
  ParkedState,
  WorkItem,
} from '../core/ports/state-store.js';
import type { ApplyOutcome } from './engine-stats.js';

/** Which way a flow's data travels. */
export const flowDirections = ['dynamics-to-campaign', 'campaign-to-dynamics'] as const;
export type FlowDirection = (typeof flowDirections)[number];

/** What applying one work item came to. */
export type ApplyResult =
  /**
   * Applied (or nothing to do): complete the item with these effects. `landed`: the record is now
   * in the target, so children waiting for it are released. `outOfScope`: the record is outside its
   * flow's scope (its filter), so children waiting for it become orphans.
   */
  | {
      kind: 'done';
      outcome: ApplyOutcome;
      effects: CompletionEffects;
      landed: boolean;
      outOfScope?: boolean | undefined;
    }
  /**
   * Not yet: park the item until `parent` lands (a child before its parent, a privacy hold). With
   * `state: 'orphan'` the record has no parent in Dynamics at all (an empty required lookup): it is
   * counted and shown apart, and only a later change of the record itself can move it on.
   */
  | { kind: 'park'; parent: ParentRef; reason: string; state?: ParkedState | undefined };

/**
 * Applies the work items of one flow. It gets the item and its payload already validated against
 * the flow's payload schema; it writes the target and returns what the completion must commit. It
 * throws a SyncError (with an honest `retryable`) when the write failed.
 */
export interface Applier<P> {
  apply(item: WorkItem, payload: P): Promise<ApplyResult>;
}

/**
 * What a parked child should do, judged on its newest state:
 * - `keep`: it still waits for the parent it is parked on;
 * - `drop`: nothing to do, ever (a delete of a record never written to the target);
 * - `unpark`: it no longer waits for that parent.
 */
export const parkedVerdicts = ['keep', 'drop', 'unpark'] as const;
export type ParkedVerdict = (typeof parkedVerdicts)[number];

/** How the parked items of a flow whose records wait for parents are judged (see `Parking`). */
export interface ParkingPolicy {
  /** Flows whose records this flow's records wait for. */
  readonly parentFlows: readonly string[];
  /** Judge a parked record on its newest state (a payload of this flow). */
  judge(
    recordKey: string,
    payload: JsonValue,
    parent: ParentRef,
    keyMap: Pick<KeyMapStore, 'get'>,
  ): Promise<ParkedVerdict>;
}

/**
 * A flow, as data (graphile-worker's task list is the model): where its changes come from, how one
 * of its work items is applied, what a work item's payload holds, and which lanes it uses. The
 * engine's runner finds the applier by flow id and knows nothing of what it does; direction is a
 * property of the flow. ARCHITECTURE.md, "Adding a flow", has the recipe.
 */
export interface Flow<P = unknown> {
  /** Work items carry it; e.g. `contacts`, `table:new_order`, `optout:dynamics`. */
  readonly id: string;
  readonly direction: FlowDirection;
  /** What it reads and writes, for people: `Dynamics contact → Campaign profile`. */
  readonly description: string;
  /** The work-item payload: validated on every read back from the store. */
  readonly payload: z.ZodType<P>;
  readonly applier: Applier<P>;
  /** A change feed the engine polls for this flow; absent for flows fed by another source (a file ingestor, another flow). */
  readonly feed?: ChangeFeed | undefined;
  /** Present when the flow's records may wait for parents. */
  readonly parking?: ParkingPolicy | undefined;
  /**
   * The applier writes a create intent before it creates a record, and accepts one written by the
   * lease instead ({@link WorkItem.intentWritten}; it removes the intent when it does not create):
   * the runner then asks the lease to write intents for keys without a key-map entry. @default false
   */
  readonly intentsAtLease?: boolean | undefined;
}

/** The flows of this process, by id: the runner's task list. */
export class FlowRegistry {
  private readonly byId: ReadonlyMap<string, Flow<unknown>>;

  constructor(flows: readonly Flow<unknown>[]) {
    const byId = new Map<string, Flow<unknown>>();
    for (const flow of flows) {
      if (byId.has(flow.id)) throw new Error(`flow "${flow.id}" is registered twice`);
      byId.set(flow.id, flow);
    }
    this.byId = byId;
  }

  get(id: string): Flow<unknown> | undefined {
    return this.byId.get(id);
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  get all(): Flow<unknown>[] {
    return [...this.byId.values()];
  }

  /** Flows with a change feed, in registration order. */
  get fed(): (Flow<unknown> & { feed: ChangeFeed })[] {
    return this.all.filter((f): f is Flow<unknown> & { feed: ChangeFeed } => f.feed !== undefined);
  }

  /** Of `ids`, the flows whose create intents the lease writes ({@link Flow.intentsAtLease}). */
  intentsAtLease(ids: readonly string[]): string[] {
    return ids.filter((id) => this.byId.get(id)?.intentsAtLease === true);
  }

  /** Whether records of `id` are parents some flow's records wait for. */
  isParentFlow(id: string): boolean {
    return this.all.some((f) => f.parking?.parentFlows.includes(id) === true);
  }
}
