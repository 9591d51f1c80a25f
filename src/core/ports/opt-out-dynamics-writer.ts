import type { ErrorCode } from '../error-catalogue.js';

/**
 * Reads and writes of Dynamics opt-out columns, in batches (the Campaign→Dynamics path).
 * Implemented over the Web API by `DynamicsOptOutWriter`.
 */

/** The opt-out columns of one contact as Dynamics holds them now. */
export interface ContactOptOutState {
  /** Contact id, lower case. */
  id: string;
  /** Column values by logical name; null when empty. */
  values: Record<string, boolean | null>;
  /** `modifiedon` (ms). */
  modifiedOn: number | null;
  /** `W/"<versionnumber>"`, for If-Match. */
  etag: string | null;
  /** `versionnumber`, decimal. */
  version: string | null;
}

export interface ContactOptOutUpdate {
  id: string;
  values: Record<string, boolean>;
  /** Only write when the row is still at this etag (null: whatever it is, but never create). */
  ifMatch: string | null;
}

/** Result of one update of a batch; a failure's kind and retryability follow from its code. */
export type ContactOptOutWriteResult =
  | { id: string; outcome: 'ok'; version: string | null; modifiedOn: number | null }
  | { id: string; outcome: 'conflict' | 'not-found' }
  | { id: string; outcome: 'failed'; code: ErrorCode; message: string };

export interface OptOutDynamicsWriter {
  /** Current values of `columns` for these contacts; absent ids are missing from the map. */
  readContacts(ids: readonly string[], columns: readonly string[]): Promise<Map<string, ContactOptOutState>>;
  /** Write a batch of updates; one result per update, in order. */
  writeContacts(updates: readonly ContactOptOutUpdate[]): Promise<ContactOptOutWriteResult[]>;
}
