import type { FieldMapping, OptionLabels } from '../core/field-mapping.js';
import type { RecordFilter } from '../core/record-filter.js';
import type { ChangeSource } from '../core/ports/change-source.js';
import type { RecordSink } from '../core/ports/record-sink.js';

/** A Dynamics lookup that becomes a Campaign link (custom tables, F2). */
export interface LinkDefinition {
  /** Dynamics lookup column as read (`_new_parent_value`). */
  lookup: string;
  /** Campaign link name on this resource. */
  link: string;
  /** Flow id of the parent (`contacts` for the profile, or `table:<logical>`). */
  parentFlow: string;
}

/** Everything the engine needs to run one flow (one Dynamics table → one Campaign resource). */
export interface FlowDefinition {
  /** `contacts` or `table:<logical name>`. */
  id: string;
  /** Dynamics table logical name. */
  table: string;
  source: ChangeSource;
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
}

/** Flow id for a custom table. */
export function tableFlowId(logicalName: string): string {
  return `table:${logicalName}`;
}
