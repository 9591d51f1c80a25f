import { ConnectorError, SyncError } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type { KeyMapStore, ParentRef, WorkLane } from '../../core/ports/state-store.js';
import type { RecordFlowSettings } from './record-flow.js';
import { resolveLinks } from './link-resolver.js';

/** A remote "not found": for a write with links, possibly the linked parent rather than the record. */
export function isNotFoundError(error: unknown): boolean {
  return error instanceof ConnectorError && error.status === 404;
}

/**
 * After a write with links failed with "not found", find out whether a linked parent vanished from
 * Campaign behind the key map's back — typically deleted by a cascade when its own parent was
 * deleted, before the parent's Dynamics delete reached us. The parent's stale key-map entry is
 * dropped (only if it still names the PKey we linked to) so the key map matches Campaign again,
 * and the parent is returned: the child parks on it instead of failing. Returns null when every
 * parent is still there (the failure is about something else).
 *
 * A parent found under a different PKey (re-created meanwhile) gets its key-map entry corrected and
 * the write is retried.
 */
export async function findVanishedParent(
  keyMap: KeyMapStore,
  flows: ReadonlyMap<string, RecordFlowSettings>,
  flow: RecordFlowSettings,
  values: JsonObject,
  lane: WorkLane,
): Promise<ParentRef | null> {
  const links = await resolveLinks(keyMap, flow, values);
  if (links.kind === 'missing') return links.parent; // its entry went away meanwhile
  for (const parent of links.parents) {
    const parentFlow = flows.get(parent.flow);
    if (!parentFlow) continue;
    const found = await parentFlow.sink.findByKey(parent.recordKey, { lane });
    if (found?.pkey === parent.pkey) continue;
    const entry = await keyMap.get(parent.flow, parent.recordKey);
    if (entry?.campaignPKey !== parent.pkey) continue; // someone already corrected it
    if (found) {
      await keyMap.put({ ...entry, campaignPKey: found.pkey });
      throw new SyncError(
        'LINK_PARENT_MOVED',
        `parent ${parent.flow}/${parent.recordKey} of a ${flow.id} record has a new Campaign record; retrying with it`,
      );
    }
    await keyMap.delete(parent.flow, parent.recordKey);
    return { flow: parent.flow, recordKey: parent.recordKey };
  }
  return null;
}
