import type { JsonValue } from '../../core/json.js';
import { matchesFilter } from '../../core/record-filter.js';
import { recordChangeSchema } from '../../core/record-change.js';
import type { KeyMapStore, ParentRef } from '../../core/ports/state-store.js';
import type { ParkedVerdict, ParkingPolicy } from '../flow.js';
import { isSameParent, resolveLinks } from './link-resolver.js';
import type { RecordFlowSettings } from './record-flow.js';

/**
 * How a record flow's parked children are judged (I6). The store folds any change of a parked
 * record into the parked item; that is right while the record still waits for the same parent, and
 * wrong when the change is a delete (a child created and deleted before its parent arrived must
 * never be written, nor wait forever for a parent that may never come) or moves the record to
 * another parent or out of the filter.
 */
export class RecordParkingPolicy implements ParkingPolicy {
  readonly parentFlows: readonly string[];

  constructor(
    private readonly flow: RecordFlowSettings,
    private readonly keyMap: Pick<KeyMapStore, 'get'>,
  ) {
    this.parentFlows = [...new Set(flow.links.map((link) => link.parentFlow))];
  }

  async judge(
    recordKey: string,
    payload: JsonValue,
    parent: ParentRef,
    keyMap: Pick<KeyMapStore, 'get'>,
  ): Promise<ParkedVerdict> {
    const parsed = recordChangeSchema.safeParse(payload);
    // The applier dead-letters what it cannot read, with the reason.
    if (!parsed.success) return 'unpark';
    const change = parsed.data;
    if (change.op === 'delete') {
      // Any key-map entry (even a create intent) means Campaign may hold the record.
      return (await this.keyMap.get(this.flow.id, recordKey)) ? 'unpark' : 'drop';
    }
    if (!matchesFilter(this.flow.filter, change.values)) return 'unpark';
    try {
      const links = await resolveLinks(keyMap, this.flow, change.values);
      return links.kind === 'missing' && isSameParent(links.parent, parent) ? 'keep' : 'unpark';
    } catch {
      return 'unpark';
    }
  }
}
