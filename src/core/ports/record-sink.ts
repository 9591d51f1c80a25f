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
  /**
   * Whether Campaign enforces the key field as a unique identification key. Then a create of a
   * key that already exists fails with `duplicate` instead of making a second record, so a create
   * needs no look-up first (one call instead of two).
   */
  readonly keyIsUnique: boolean;
  /**
   * Create; `fields` include the key field and link objects. Returns the new PKey, or `duplicate`
   * when the key exists already (only when {@link keyIsUnique}).
   */
  create(fields: JsonObject, options: SinkCallOptions): Promise<{ pkey: string } | { duplicate: true }>;
  update(pkey: string, fields: JsonObject, options: SinkCallOptions): Promise<SinkWriteOutcome>;
  delete(pkey: string, options: SinkCallOptions): Promise<SinkWriteOutcome>;
}
