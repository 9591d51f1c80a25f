import type { Clock } from '../../core/clock.js';
import { recordChangeSchema, type RecordChange } from '../../core/record-change.js';
import { noRecordGuard, type RecordGuard } from '../../core/ports/record-guard.js';
import type { StateStore } from '../../core/ports/state-store.js';
import type { Flow } from '../flow.js';
import { RecordApplier } from './record-applier.js';
import type { RecordFlowSettings } from './record-flow.js';
import { RecordParkingPolicy } from './record-parking.js';

/**
 * The engine flows of the record flows (F1, F2): each reads its table's change feed, stages record
 * changes ({@link recordChangeSchema}), applies them to its Campaign resource, and — with links —
 * parks children until their parents land.
 */
export function recordFlows(
  settings: readonly RecordFlowSettings[],
  deps: { store: StateStore; clock: Clock; guard?: RecordGuard | undefined },
): Flow<RecordChange>[] {
  const byId = new Map(settings.map((s) => [s.id, s]));
  return settings.map((s) => ({
    id: s.id,
    direction: 'dynamics-to-campaign',
    description: `Dynamics ${s.table} → Campaign ${s.sink.resource}`,
    payload: recordChangeSchema,
    applier: new RecordApplier(deps.store, s, byId, deps.clock, deps.guard ?? noRecordGuard),
    feed: s.feed,
    parking: s.links.length > 0 ? new RecordParkingPolicy(s, deps.store.keyMap) : undefined,
    intentsAtLease: true,
  }));
}
