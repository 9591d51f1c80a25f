import type { ErrorCode } from '../error-catalogue.js';
import type { JsonObject } from '../json.js';

/** Code of the error a source throws when its delta link expired and a full re-read is needed. */
export const DELTA_EXPIRED_CODE = 'DYNAMICS_DELTA_EXPIRED' satisfies ErrorCode;

/** One source row, as read from a change-tracking page. */
export interface SourceRecord {
  /** Record key: the lower-case Dynamics id. */
  id: string;
  /** Dataverse `versionnumber` as decimal digits, when present. */
  version: string | null;
  /** Dataverse `modifiedon` (ISO-8601), when present. */
  modifiedOn: string | null;
  /** Selected column values (lookups as `_x_value`). */
  values: JsonObject;
}

/** One page of changes; the caller checkpoints `resumeLink` after staging it. */
export interface ChangePage {
  upserts: SourceRecord[];
  /** Ids of deleted records. */
  deletes: string[];
  /** Where to continue: the next page of this read, or the new delta link when `isFinal`. */
  resumeLink: string;
  /** True on the last page of a read (the link is a delta link). */
  isFinal: boolean;
}

/** Reads changes of one Dynamics table through change tracking. */
export interface ChangeSource {
  /** Dynamics table logical name, e.g. `contact`. */
  readonly table: string;
  /**
   * Read pages starting at `link` (a stored next/delta link), or a full initial read when `link`
   * is null. Throws a SyncError with code {@link DELTA_EXPIRED_CODE} when the delta link expired.
   */
  readChanges(link: string | null, options?: { signal?: AbortSignal }): AsyncIterable<ChangePage>;
  /** Approximate number of rows, for progress and ETA; null when unknown. */
  estimateCount(): Promise<number | null>;
}
