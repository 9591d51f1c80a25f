import { RecordRejectedError } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type { KeyMapStore, ParentRef, ParkedState } from '../../core/ports/state-store.js';
import type { RecordFlowSettings } from './record-flow.js';

/**
 * Record key of the pseudo-parent an orphan is parked on: a child whose lookup is empty while the
 * Campaign link has cardinality `1` (a record without that parent would be hidden in Campaign). It
 * has no parent in Dynamics, so it is parked in state `orphan`, not `waiting`. No record has this
 * key (record keys are GUIDs), so only a later change that sets the lookup moves the child on.
 */
export const NO_PARENT_KEY = '(empty lookup)';

/** A parent the record links to, as the key map knows it. */
export interface LinkedParent {
  flow: string;
  recordKey: string;
  /** Campaign PKey written into the link. */
  pkey: string;
}

/** The links of one record: ready to write, or the first parent that has not landed. */
export type LinkResolution =
  | { kind: 'resolved'; fields: JsonObject; parents: LinkedParent[] }
  | { kind: 'missing'; parent: ParentRef; reason: string; state: ParkedState };

/**
 * Turn each lookup of a record into its Campaign link (`{ <link>: { PKey } }`) from the parent's
 * key-map entry. The first parent (in link order) without a Campaign PKey is reported missing: the
 * record must wait for it (I6). An empty lookup writes an empty link, unless the link is required
 * (cardinality `1`), where the record waits on {@link NO_PARENT_KEY} instead of being hidden.
 */
export async function resolveLinks(
  keyMap: Pick<KeyMapStore, 'get'>,
  flow: RecordFlowSettings,
  values: JsonObject,
): Promise<LinkResolution> {
  const fields: JsonObject = {};
  const parents: LinkedParent[] = [];
  for (const link of flow.links) {
    const raw = values[link.lookup];
    if (raw === null || raw === undefined || raw === '') {
      if (link.required)
        return {
          kind: 'missing',
          parent: { flow: link.parentFlow, recordKey: NO_PARENT_KEY },
          reason: `no parent in Dynamics: lookup ${link.lookup} is empty and Campaign link ${link.link} (cardinality 1) needs a parent; set the lookup in Dynamics`,
          state: 'orphan',
        };
      fields[link.link] = null;
      continue;
    }
    if (typeof raw !== 'string') {
      throw new RecordRejectedError(
        '',
        'LINK_INVALID',
        `lookup ${link.lookup} of flow ${flow.id} does not hold an id`,
      );
    }
    const parentKey = raw.toLowerCase();
    const parent = await keyMap.get(link.parentFlow, parentKey);
    if (!parent?.campaignPKey)
      return {
        kind: 'missing',
        parent: { flow: link.parentFlow, recordKey: parentKey },
        reason: `parent ${link.parentFlow}/${parentKey} not in Campaign yet`,
        state: 'waiting',
      };
    fields[link.link] = { PKey: parent.campaignPKey };
    parents.push({ flow: link.parentFlow, recordKey: parentKey, pkey: parent.campaignPKey });
  }
  return { kind: 'resolved', fields, parents };
}

/** Whether two parent references name the same record. */
export function isSameParent(a: ParentRef, b: ParentRef): boolean {
  return a.flow === b.flow && a.recordKey === b.recordKey;
}
