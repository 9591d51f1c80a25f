import type { ErrorCode } from '../error-catalogue.js';
import type { JsonObject } from '../json.js';

/** One activity row to put on a contact's timeline (flow F6: one per e-mail event). */
export interface TimelineActivity {
  /** The event the row records (its id is also written to the row's event-id column). */
  eventId: string;
  /** Logical name of the custom activity table, e.g. `adobe_emailopen`. */
  table: string;
  /** Its entity set, e.g. `adobe_emailopens`. */
  entitySetName: string;
  /**
   * The row's `activityid`. Derive it from the event id, so that creating the same event again is
   * refused as a duplicate even where the table has no alternate key on the event-id column.
   */
  activityId: string;
  /** The contact: regarding object and activity party. */
  contactId: string;
  /** Other columns by logical name (subject, actualend, the event-id column, campaign and delivery names…). */
  values: JsonObject;
}

/** What became of one activity. */
export type ActivityWriteOutcome =
  | { eventId: string; outcome: 'created'; activityId: string }
  /** A row for this event exists already (alternate key or activity id): nothing to do. */
  | { eventId: string; outcome: 'duplicate' }
  | {
      eventId: string;
      outcome: 'failed';
      code: ErrorCode;
      message: string;
      retryable: boolean;
      /** The server's Retry-After, when the failure carried one. */
      retryAfterMs: number | null;
    };

/** Writes timeline activities to Dynamics, reporting each one's outcome (continue on error). */
export interface TimelineActivityWriter {
  writeActivities(activities: readonly TimelineActivity[]): Promise<ActivityWriteOutcome[]>;
  /**
   * How many activities the writer would like in its next call (an adaptive batch size); the
   * caller gathers up to that many. Absent: whatever is at hand.
   */
  preferredBatchSize?(): number;
}
