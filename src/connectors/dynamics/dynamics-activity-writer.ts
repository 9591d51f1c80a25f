import { RateLimitedError, SyncError } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type {
  ActivityWriteOutcome,
  TimelineActivity,
  TimelineActivityWriter,
} from '../../core/ports/timeline-activity-writer.js';
import { dataversePlatformCodes, readErrorBody } from './dynamics-errors.js';
import type { BatchOperationResult, DynamicsRecordWriter } from './dynamics-record-writer.js';
import type { BatchOperation } from './odata-batch-codec.js';

export interface DynamicsActivityWriterOptions {
  /** Creates per `$batch`. Microsoft advises starting small (10). @default 10 */
  batchSize?: number;
  /** The contact's role as activity party (activityparty `participationtypemask`). @default 11 (Customer) */
  participationTypeMask?: number;
  /** Create rows as completed (`statecode` 1, `statuscode` 2), as timeline events of the past. @default true */
  completed?: boolean;
}

/** Platform codes that say "this row exists already". */
const duplicateCodes: ReadonlySet<string> = new Set([
  dataversePlatformCodes.duplicateRecord,
  dataversePlatformCodes.duplicateEntityKey,
]);

/**
 * Creates custom activity rows on contacts' timelines through `$batch` with
 * `Prefer: odata.continue-on-error`, one POST per activity: the row with its `activityid`, the
 * regarding contact (`regardingobjectid_contact_<table>@odata.bind`) and the contact as activity
 * party (`<table>_activity_parties` deep insert). Each activity gets its own outcome: created,
 * duplicate (the row exists: the activity id or an alternate key on the event id is taken), or
 * failed with its code. A batch refused as a whole (429, 5xx, timeout) fails its activities and the
 * ones after it with that error, without sending more.
 */
export class DynamicsActivityWriter implements TimelineActivityWriter {
  private readonly batchSize: number;

  constructor(
    private readonly writer: DynamicsRecordWriter,
    private readonly options: DynamicsActivityWriterOptions = {},
  ) {
    this.batchSize = Math.max(1, Math.min(options.batchSize ?? 10, 1000));
  }

  /** The POST body of one activity. */
  body(activity: TimelineActivity): JsonObject {
    const contact = `/contacts(${activity.contactId})`;
    return {
      ...activity.values,
      activityid: activity.activityId,
      [`regardingobjectid_contact_${activity.table}@odata.bind`]: contact,
      [`${activity.table}_activity_parties`]: [
        {
          'partyid_contact@odata.bind': contact,
          participationtypemask: this.options.participationTypeMask ?? 11,
        },
      ],
      ...(this.options.completed === false ? {} : { statecode: 1, statuscode: 2 }),
    };
  }

  async writeActivities(activities: readonly TimelineActivity[]): Promise<ActivityWriteOutcome[]> {
    const outcomes: ActivityWriteOutcome[] = [];
    for (let start = 0; start < activities.length; start += this.batchSize) {
      const chunk = activities.slice(start, start + this.batchSize);
      const operations: BatchOperation[] = chunk.map((activity) => ({
        method: 'POST',
        path: activity.entitySetName,
        json: this.body(activity),
      }));
      let results: BatchOperationResult[];
      try {
        results = await this.writer.executeBatch(operations, { continueOnError: true });
      } catch (error) {
        if (!(error instanceof SyncError)) throw error;
        // Nothing of this batch ran; the ones after it wait for the caller's retry.
        for (const activity of activities.slice(start)) outcomes.push(failedOutcome(activity.eventId, error));
        return outcomes;
      }
      chunk.forEach((activity, index) => outcomes.push(this.outcomeOf(activity, results[index])));
    }
    return outcomes;
  }

  private outcomeOf(
    activity: TimelineActivity,
    result: BatchOperationResult | undefined,
  ): ActivityWriteOutcome {
    if (result?.ok) return { eventId: activity.eventId, outcome: 'created', activityId: activity.activityId };
    const remote = readErrorBody(result?.body);
    if (remote && duplicateCodes.has(remote.code)) return { eventId: activity.eventId, outcome: 'duplicate' };
    if (result?.error) return failedOutcome(activity.eventId, result.error);
    return {
      eventId: activity.eventId,
      outcome: 'failed',
      code: 'DYNAMICS_BATCH_NOT_EXECUTED',
      message: `The batch answered no part for event ${activity.eventId}`,
      retryable: true,
      retryAfterMs: null,
    };
  }
}

function failedOutcome(eventId: string, error: SyncError): ActivityWriteOutcome {
  return {
    eventId,
    outcome: 'failed',
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    retryAfterMs: error instanceof RateLimitedError ? (error.retryAfterMs ?? null) : null,
  };
}
