import type { JsonValue } from '../../core/json.js';
import { matchesFilter } from '../../core/record-filter.js';
import { parseRecordChange } from '../../core/record-change.js';
import type {
  EnqueueOutcome,
  KeyMapEntry,
  KeyMapStore,
  ParentRef,
  StateStore,
  WorkItemInput,
} from '../../core/ports/state-store.js';
import type { FlowDefinition } from '../flow-definition.js';
import { isSameParent, resolveLinks } from './link-resolver.js';

/**
 * What a parked child should do, judged on its newest state:
 * - `keep`: it still waits for the parent it is parked on;
 * - `drop`: a delete of a record that was never written to Campaign (created and deleted before
 *   its parent arrived) — nothing to do, ever;
 * - `unpark`: it no longer waits for that parent (the parent landed, its lookup now points
 *   elsewhere or is empty, it left the filter, or it is a delete of a record Campaign may hold).
 */
export const parkedVerdicts = ['keep', 'drop', 'unpark'] as const;
export type ParkedVerdict = (typeof parkedVerdicts)[number];

/** Parked items of one flow read per page during a sweep. */
const sweepPageSize = 500;

function isOlderVersion(candidate: string | null | undefined, current: string | null): boolean {
  if (!candidate || !current) return false;
  return BigInt(candidate) < BigInt(current);
}

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

/**
 * Keeps parked children honest when later changes fold into them (I6). The store folds any change
 * of a parked record into the parked item; that is right while the record still waits for the same
 * parent, and wrong when the change is a delete (a child created and deleted before its parent
 * arrived must never be written, nor wait forever for a parent that may never come) or moves the
 * record to another parent. This class judges parked items against their newest state:
 * - before a page is staged ({@link stage}): a parked record whose new change no longer waits for
 *   its parent is taken out of the parked set, so the change is staged as a normal work item — safe
 *   without a transaction because the page's checkpoint has not advanced yet (a crash re-reads it);
 * - after staging, after a park ({@link settle}) and on a periodic {@link sweep}: anything that
 *   folded in meanwhile is settled with an atomic release, or dropped when never written.
 * Items parked for another reason (privacy holds) are left alone.
 */
export class ParkedChildSettler {
  constructor(private readonly store: StateStore) {}

  /**
   * Stage `items` of `flow` through `enqueue`, settling parked records they touch. Returns the
   * outcomes of what was staged (dropped deletes are not staged).
   */
  async stage(
    flow: FlowDefinition,
    items: readonly WorkItemInput[],
    enqueue: (items: readonly WorkItemInput[]) => Promise<EnqueueOutcome[]>,
  ): Promise<EnqueueOutcome[]> {
    if (flow.links.length === 0 || items.length === 0) return enqueue(items);
    const judged = new Set<string>();
    const staged: WorkItemInput[] = [];
    const anyParked = (await this.store.parked.count(flow.id)) > 0;
    const keyMap = new CachedKeyMap(this.store.keyMap);
    for (const item of items) {
      const parked = anyParked ? await this.store.parked.get(flow.id, item.recordKey) : null;
      if (!parked || !this.isLinkParent(flow, parked.parent)) {
        staged.push(item);
        continue;
      }
      judged.add(item.recordKey);
      if (isOlderVersion(item.sourceVersion, parked.sourceVersion)) {
        staged.push(item); // the store reports it stale
        continue;
      }
      const verdict = await this.judge(flow, item.recordKey, item.payload, parked.parent, keyMap);
      if (verdict === 'keep') staged.push(item);
      else {
        // The new change supersedes the parked state; if we crash before staging it, the page is
        // read again because its checkpoint commits with the staging.
        await this.store.parked.remove(flow.id, item.recordKey);
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

  /**
   * Settle one parked record after a worker parked it: a queued change may have folded in, or its
   * parent may have landed between the look-up and the park. Items parked on something that is not
   * one of the flow's link parents (a privacy hold) are released only when that parent landed.
   */
  async afterPark(flow: FlowDefinition | null, recordKey: string, parent: ParentRef): Promise<void> {
    if (flow && this.isLinkParent(flow, parent)) {
      await this.settle(flow, recordKey);
      return;
    }
    const landed = await this.store.keyMap.get(parent.flow, parent.recordKey);
    if (landed?.campaignPKey) await this.store.parked.release(parent);
  }

  /** Judge the parked item of `recordKey` and act: drop it, release it, or leave it. */
  async settle(flow: FlowDefinition, recordKey: string): Promise<ParkedVerdict> {
    const parked = await this.store.parked.get(flow.id, recordKey);
    if (!parked || !this.isLinkParent(flow, parked.parent)) return 'keep';
    const verdict = await this.judge(flow, recordKey, parked.payload, parked.parent, this.store.keyMap);
    if (verdict === 'drop') await this.store.parked.remove(flow.id, recordKey);
    // Release is atomic (the item moves back to the queue in one transaction); siblings parked on
    // the same parent come along and simply park again if their parent is still missing.
    if (verdict === 'unpark') await this.store.parked.release(parked.parent);
    return verdict;
  }

  /**
   * Settle every parked item of a flow: catches what no event will (a crash between a parent's
   * completion and the release of its children). Returns how many items were dropped or released.
   */
  async sweep(flow: FlowDefinition): Promise<{ dropped: number; released: number }> {
    const result = { dropped: 0, released: 0 };
    if (flow.links.length === 0 || (await this.store.parked.count(flow.id)) === 0) return result;
    const keyMap = new CachedKeyMap(this.store.keyMap);
    const toRelease = new Map<string, ParentRef>();
    let cursor: string | undefined;
    do {
      const page = await this.store.parked.list({ flow: flow.id }, { cursor, limit: sweepPageSize });
      for (const item of page.items) {
        if (!this.isLinkParent(flow, item.parent)) continue;
        const verdict = await this.judge(flow, item.recordKey, item.payload, item.parent, keyMap);
        if (verdict === 'drop' && (await this.store.parked.remove(flow.id, item.recordKey))) result.dropped++;
        if (verdict === 'unpark')
          toRelease.set(`${item.parent.flow}\u0000${item.parent.recordKey}`, item.parent);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    for (const parent of toRelease.values()) result.released += await this.store.parked.release(parent);
    return result;
  }

  private isLinkParent(flow: FlowDefinition, parent: ParentRef): boolean {
    return flow.links.some((link) => link.parentFlow === parent.flow);
  }

  private async judge(
    flow: FlowDefinition,
    recordKey: string,
    payload: JsonValue,
    parent: ParentRef,
    keyMap: Pick<KeyMapStore, 'get'>,
  ): Promise<ParkedVerdict> {
    let change;
    try {
      change = parseRecordChange(payload);
    } catch {
      return 'unpark'; // the applier dead-letters what it cannot read
    }
    if (change.op === 'delete') {
      // Any key-map entry (even a create intent) means Campaign may hold the record.
      return (await this.store.keyMap.get(flow.id, recordKey)) ? 'unpark' : 'drop';
    }
    if (!matchesFilter(flow.filter, change.values)) return 'unpark';
    try {
      const links = await resolveLinks(keyMap, flow, change.values);
      return links.kind === 'missing' && isSameParent(links.parent, parent) ? 'keep' : 'unpark';
    } catch {
      return 'unpark';
    }
  }
}
