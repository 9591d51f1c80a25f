import type { JsonObject } from '../json.js';

/**
 * Code of the error a feed throws when its stored cursor can no longer be followed (a Dataverse
 * delta link expired; later, a Campaign journal position older than its retention): the engine then
 * re-baselines the flow with a full read.
 */
export const CURSOR_EXPIRED_CODE = 'SOURCE_CURSOR_EXPIRED';

/**
 * Code of the error a feed throws when the source refused its stored cursor with an answer it does
 * not document as an expiry (a Dataverse delta link refused with an unknown 4xx): the engine
 * re-baselines as for an expired cursor, and its alert says the answer was unexpected.
 */
export const CURSOR_REFUSED_CODE = 'SOURCE_CURSOR_REFUSED';

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

export interface ReadChangesOptions {
  signal?: AbortSignal;
  /**
   * The caller's cursor says `link` continues a delta read (a delta link, or a next page of one).
   * Every page of the read is then a delta page whatever it says of itself, and a refused link is
   * given up ({@link CURSOR_REFUSED_CODE}). Absent: judged from the link alone.
   */
  delta?: boolean;
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
   * null. Throws a SyncError with code {@link CURSOR_EXPIRED_CODE} when the cursor expired, or
   * {@link CURSOR_REFUSED_CODE} when the source refused it with an answer it does not document.
   */
  readChanges(link: string | null, options?: ReadChangesOptions): AsyncIterable<ChangePage>;
  /** Approximate number of records, for progress and ETA; null when unknown. */
  estimateCount(): Promise<number | null>;
}
