import type { JsonObject } from '../json.js';
import type { WorkLane } from './state-store.js';

/** A Campaign record found by its key. */
export interface SinkRecord {
  /** Campaign PKey (opaque). */
  pkey: string;
  fields: JsonObject;
}

export interface SinkCallOptions {
  /** Live work is paced before bulk work. */
  lane: WorkLane;
}

/** Outcome of a write addressed to a PKey that may be gone. */
export type SinkWriteOutcome = 'ok' | 'not-found';

/**
 * Campaign records of one resource (the profile, or a custom resource) addressed by the column
 * that holds the Dynamics id (`externalId` for profiles). Failures throw SyncErrors with an honest
 * `retryable` flag; a missing target is a routine outcome, not an error.
 */
export interface RecordSink {
  /** `profile` or a custom resource name (`cus…`). */
  readonly resource: string;
  /** The Campaign field holding the Dynamics id. */
  readonly keyField: string;
  findByKey(key: string, options: SinkCallOptions): Promise<SinkRecord | null>;
  /** Create; `fields` include the key field and link objects. Returns the new PKey. */
  create(fields: JsonObject, options: SinkCallOptions): Promise<{ pkey: string }>;
  update(pkey: string, fields: JsonObject, options: SinkCallOptions): Promise<SinkWriteOutcome>;
  delete(pkey: string, options: SinkCallOptions): Promise<SinkWriteOutcome>;
}
