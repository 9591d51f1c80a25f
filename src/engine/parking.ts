import { isOlderSourceVersion } from '../core/record-key.js';
import { PRIVACY_HOLD_FLOW } from '../core/ports/record-guard.js';
import type {
  EnqueueOutcome,
  KeyMapEntry,
  KeyMapStore,
  ParentRef,
  ParkedState,
  StateStore,
  WorkItem,
  WorkItemInput,
} from '../core/ports/state-store.js';
import type { EngineEvents } from './engine-events.js';
import type { FlowRegistry, ParkedVerdict, ParkingPolicy } from './flow.js';
import { parkAuditEntry } from './trace/trace-audit.js';

/** Parked items of one flow read per page during a sweep. */
const sweepPageSize = 500;

/** Key-map look-ups remembered for one pass (a sweep asks about the same parents many times). */
class CachedKeyMap implements Pick<KeyMapStore, 'get'> {
  private readonly entries = new Map<string, Promise<KeyMapEntry | null>>();

  constructor(private readonly keyMap: KeyMapStore) {}

  get(flow: string, recordKey: string): Promise<KeyMapEntry | null> {
    const id = `${flow}\u0000${recordKey}`;
    let entry = this.entries.get(id);
    if (!entry) this.entries.set(id, (entry = this.keyMap.get(flow, recordKey)));
    return entry;
  }
}

/** The parent a record under a privacy request waits on; the privacy runner releases it. */
export function privacyHold(recordKey: string): ParentRef {
  return { flow: PRIVACY_HOLD_FLOW, recordKey };
}

/** End the privacy hold of a record: its held changes go back to the queue. Returns how many. */
export function releasePrivacyHold(store: Pick<StateStore, 'parked'>, recordKey: string): Promise<number> {
  return store.parked.release(privacyHold(recordKey));
}

/**
 * The one owner of parking (I6, and privacy holds for I9): a work item that must wait for a parent
 * record (a custom-table child read before its parent, or any record under a privacy request) is
 * parked on that parent and released, atomically, when it lands. Parking is judged by each flow's
 * {@link ParkingPolicy}; this module does the mechanics for every flow:
 * - {@link park} a leased item, then settle it at once (a change may have folded in meanwhile, or
 *   the parent landed between the applier's look-up and the park);
 * - {@link releaseOnLanding}: the parent's completion carries the release of its children, so both
 *   commit in one transaction (the group commit);
 * - {@link stage}: before a page of changes is staged, a parked record whose new change no longer
 *   waits for its parent leaves the parked set (or is dropped when it is a delete of a record never
 *   written) — safe without a transaction, because the page's checkpoint has not advanced yet;
 * - {@link sweep}: now and then, settle what no event will (a crash between events).
 * Holds are parks on {@link privacyHold}; {@link releasePrivacyHold} ends one.
 */
export class Parking {
  constructor(
    private readonly store: StateStore,
    private readonly flows: FlowRegistry,
    private readonly events?: EngineEvents,
  ) {}

  /**
   * Park a leased item on `parent` (an orphan: on the pseudo-parent of its empty lookup), then settle
   * it. Returns false when the lease was lost. With `at` (the time of the park), the park is
   * recorded for the record's trace in the same transaction.
   */
  async park(
    item: WorkItem,
    owner: string,
    parent: ParentRef,
    reason: string,
    options: { at?: number; state?: ParkedState | undefined } = {},
  ): Promise<boolean> {
    const state = options.state ?? 'waiting';
    const audit = options.at === undefined ? undefined : [parkAuditEntry(item, parent, reason, options.at)];
    const outcome = await this.store.queue.park(item.id, owner, parent, reason, audit, state);
    if (outcome !== 'ok') return false;
    this.events?.emit('item.parked', {
      flow: item.flow,
      lane: item.lane,
      recordKey: item.recordKey,
      parent,
      reason,
      state,
    });
    const policy = this.policyOf(item.flow);
    if (policy && this.waitsFor(policy, parent)) await this.settle(item.flow, item.recordKey);
    else {
      // A parent no policy judges (a privacy hold): release at once if it already landed.
      const landed = await this.store.keyMap.get(parent.flow, parent.recordKey);
      if (landed?.campaignPKey) await this.release(parent);
    }
    return true;
  }

  /**
   * The children a record releases when it lands: the parent to put in its completion effects, or
   * undefined when no flow's records wait for records of this flow.
   */
  releaseOnLanding(flow: string, recordKey: string): ParentRef | undefined {
    return this.flows.isParentFlow(flow) ? { flow, recordKey } : undefined;
  }

  /**
   * The children a record orphans when it is out of its flow's scope (its filter): they wait for a
   * parent the sync will never write. Undefined when no flow's records wait for records of this flow.
   * Children parked on it later still wait (nothing remembers the parent's scope); they become
   * orphans at its next change out of scope, and go back to the queue if it lands after all.
   */
  orphanOnLeavingScope(flow: string, recordKey: string): { parent: ParentRef; reason: string } | undefined {
    if (!this.flows.isParentFlow(flow)) return undefined;
    return {
      parent: { flow, recordKey },
      reason: `no parent in scope: parent ${flow}/${recordKey} is outside flow ${flow}'s filter; bring it into the filter or change the lookup in Dynamics`,
    };
  }

  /** Release everything parked on `parent` (outside a completion). Returns how many. */
  async release(parent: ParentRef): Promise<number> {
    const released = await this.store.parked.release(parent);
    if (released > 0) this.events?.emit('item.released', { parent, count: released });
    return released;
  }

  /**
   * Stage `items` of `flow` through `enqueue`, settling parked records they touch. Returns the
   * outcomes of what was staged (dropped deletes are not staged).
   */
  async stage(
    flow: string,
    items: readonly WorkItemInput[],
    enqueue: (items: readonly WorkItemInput[]) => Promise<EnqueueOutcome[]>,
  ): Promise<EnqueueOutcome[]> {
    const policy = this.policyOf(flow);
    if (!policy || items.length === 0) return enqueue(items);
    const judged = new Set<string>();
    const staged: WorkItemInput[] = [];
    const anyParked = (await this.store.parked.count(flow)) > 0;
    const keyMap = new CachedKeyMap(this.store.keyMap);
    for (const item of items) {
      const parked = anyParked ? await this.store.parked.get(flow, item.recordKey) : null;
      if (!parked || !this.waitsFor(policy, parked.parent)) {
        staged.push(item);
        continue;
      }
      judged.add(item.recordKey);
      if (isOlderSourceVersion(item.sourceVersion ?? null, parked.sourceVersion)) {
        staged.push(item); // the store reports it stale
        continue;
      }
      const verdict = await policy.judge(item.recordKey, item.payload, parked.parent, keyMap);
      if (verdict === 'keep') staged.push(item);
      else {
        // The new change supersedes the parked state; if we crash before staging it, the page is
        // read again because its checkpoint commits with the staging.
        await this.store.parked.remove(flow, item.recordKey);
        if (verdict === 'unpark') staged.push(item);
      }
    }
    const outcomes = await enqueue(staged);
    for (let i = 0; i < staged.length; i++) {
      const item = staged[i]!;
      // Parked between our look-up and the staging (a worker parked its leased item): settle now.
      if (outcomes[i] === 'folded-into-parked' && !judged.has(item.recordKey))
        await this.settle(flow, item.recordKey);
    }
    return outcomes;
  }

  /** Judge the parked item of `recordKey` and act: drop it, release it, or leave it. */
  async settle(flow: string, recordKey: string): Promise<ParkedVerdict> {
    const policy = this.policyOf(flow);
    const parked = await this.store.parked.get(flow, recordKey);
    if (!policy || !parked || !this.waitsFor(policy, parked.parent)) return 'keep';
    const verdict = await policy.judge(recordKey, parked.payload, parked.parent, this.store.keyMap);
    if (verdict === 'drop') await this.store.parked.remove(flow, recordKey);
    // Release is atomic (the item moves back to the queue in one transaction); siblings parked on
    // the same parent come along and simply park again if their parent is still missing.
    if (verdict === 'unpark') await this.release(parked.parent);
    return verdict;
  }

  /**
   * Settle every parked item of a flow: catches what no event will (a crash between a parent's
   * completion and the release of its children in an older version, a parent deleted meanwhile).
   */
  async sweep(flow: string): Promise<{ dropped: number; released: number }> {
    const result = { dropped: 0, released: 0 };
    const policy = this.policyOf(flow);
    if (!policy || (await this.store.parked.count(flow)) === 0) return result;
    const keyMap = new CachedKeyMap(this.store.keyMap);
    const toRelease = new Map<string, ParentRef>();
    let cursor: string | undefined;
    do {
      const page = await this.store.parked.list({ flow }, { cursor, limit: sweepPageSize });
      for (const item of page.items) {
        if (!this.waitsFor(policy, item.parent)) continue;
        const verdict = await policy.judge(item.recordKey, item.payload, item.parent, keyMap);
        if (verdict === 'drop' && (await this.store.parked.remove(flow, item.recordKey))) result.dropped++;
        if (verdict === 'unpark')
          toRelease.set(`${item.parent.flow}\u0000${item.parent.recordKey}`, item.parent);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    for (const parent of toRelease.values()) result.released += await this.release(parent);
    return result;
  }

  private policyOf(flow: string): ParkingPolicy | undefined {
    return this.flows.get(flow)?.parking;
  }

  private waitsFor(policy: ParkingPolicy, parent: ParentRef): boolean {
    return policy.parentFlows.includes(parent.flow);
  }
}
