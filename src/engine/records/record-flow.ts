import type { FieldMapping, OptionLabels } from '../../core/field-mapping.js';
import type { RecordFilter } from '../../core/record-filter.js';
import type { ChangeFeed } from '../../core/ports/change-feed.js';
import type { RecordSink } from '../../core/ports/record-sink.js';
import type { UpsertChange } from '../../core/record-change.js';
import type { JsonObject } from '../../core/json.js';
import type { WorkItem, WorkLane } from '../../core/ports/state-store.js';

/** A Dynamics lookup that becomes a Campaign link (custom tables, F2). */
export interface LinkDefinition {
  /** Dynamics lookup column as read (`_new_parent_value`). */
  lookup: string;
  /** Campaign link name on this resource. */
  link: string;
  /** Flow id of the parent (`contacts` for the profile, or `table:<logical>`). */
  parentFlow: string;
  /**
   * The Campaign link has cardinality `1`: a record without this parent would be hidden in
   * Campaign, so a record with an empty lookup waits instead of being written. @default false
   */
  required?: boolean | undefined;
}

/**
 * A record flow (F1 contacts, F2 custom tables): one Dynamics table's rows kept as records of one
 * Campaign resource, addressed by the key field that holds the Dynamics id. `recordFlow()` turns it
 * into an engine `Flow` (feed, applier, payload schema, parking).
 */
export interface RecordFlowSettings {
  /** `contacts` or `table:<logical name>`. */
  id: string;
  /** Dynamics table logical name. */
  table: string;
  feed: ChangeFeed;
  sink: RecordSink;
  mapping: FieldMapping;
  optionLabels: OptionLabels;
  filter: RecordFilter | null;
  /** Propagate source deletes as Campaign deletes (a regular delete, not a privacy delete). */
  deletes: boolean;
  /** Delete Campaign records whose source record no longer passes the filter. */
  deleteWhenFilteredOut: boolean;
  /** Links to parent records; empty for contacts. */
  links: readonly LinkDefinition[];
  /** Adjusts an upsert at apply time (opt-out resolution against Campaign's current values). */
  upsertHook?: UpsertHook | undefined;
}

/** An upsert as a hook changed it, with what to do once it was applied. */
export interface PreparedUpsert {
  /** The change to apply instead (e.g. opt-out columns holding the resolved winners). */
  change: UpsertChange;
  /** Write even when the mapped values hash as unchanged (Campaign holds a different opt-out). */
  forceWrite: boolean;
  /**
   * Fields written with the record but left out of the unchanged check, so values that Campaign
   * already holds never make the next change look different (resolved opt-out winners).
   */
  extraFields: JsonObject;
  /** Called with the apply outcome (`created`, `updated`, `unchanged`…) before the item completes. */
  afterApplied(outcome: string): Promise<void>;
}

/** Sees every upsert of a flow before it is mapped; null leaves the change as it is. */
export interface UpsertHook {
  prepare(input: { item: WorkItem; change: UpsertChange; lane: WorkLane }): Promise<PreparedUpsert | null>;
}

/** Flow id for a custom table. */
export function tableFlowId(logicalName: string): string {
  return `table:${logicalName}`;
}
