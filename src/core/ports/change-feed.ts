import type { JsonObject } from '../json.js';

/**
 * Code of the error a feed throws when its stored cursor can no longer be followed (a Dataverse
 * delta link expired; later, a Campaign journal position older than its retention): the engine then
 * re-baselines the flow with a full read.
 */
export const CURSOR_EXPIRED_CODE = 'SOURCE_CURSOR_EXPIRED';

/** One record as a feed page carries it. */
export interface FeedRecord {
  /** Record key within the flow (for Dynamics rows: the lower-case row id). */
  id: string;
  /** Source version (Dataverse `versionnumber`, decimal digits), when known. */
  version: string | null;
  /** Record-level change time at the source (ISO-8601), when known. */
  modifiedOn: string | null;
  /** Column values as read. */
  values: JsonObject;
}

/** One page of changes; the caller checkpoints `resumeLink` after staging it. */
export interface ChangePage {
  upserts: FeedRecord[];
  /** Keys of records that are gone. */
  deletes: string[];
  /** Where to continue: the next page of this read, or the new cursor when `isFinal`. */
  resumeLink: string;
  /** True on the last page of a read (`resumeLink` then follows changes from here on). */
  isFinal: boolean;
}

/**
 * Where a flow's changes come from, read from a stored cursor: Dataverse change tracking for a
 * table today (full read, then delta links), an event journal tomorrow. The engine's feed poller
 * stages each page with its cursor in one transaction, whatever the feed reads.
 */
export interface ChangeFeed {
  /** What the feed reads, for status and messages: a Dynamics table's logical name, e.g. `contact`. */
  readonly table: string;
  /**
   * Read pages starting at `link` (a stored cursor), or a full read from the start when `link` is
   * null. Throws a SyncError with code {@link CURSOR_EXPIRED_CODE} when the cursor expired.
   */
  readChanges(link: string | null, options?: { signal?: AbortSignal }): AsyncIterable<ChangePage>;
  /** Approximate number of records, for progress and ETA; null when unknown. */
  estimateCount(): Promise<number | null>;
}
