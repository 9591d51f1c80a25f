import { systemClock, type Clock } from '../../core/clock.js';
import { RateLimitedError, SyncError } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type {
  ActivityWriteOutcome,
  TimelineActivity,
  TimelineActivityWriter,
} from '../../core/ports/timeline-activity-writer.js';
import {
  AdaptiveBatchSize,
  type AdaptiveBatchSizeOptions,
  type ExecutionTimeView,
} from './adaptive-batch-size.js';
import { dataversePlatformCodes, readErrorBody } from './dynamics-errors.js';
import type { BatchOperationResult, DynamicsRecordWriter } from './dynamics-record-writer.js';
import type { BatchOperation } from './odata-batch-codec.js';

export interface DynamicsActivityWriterOptions {
  /**
   * Creates per `$batch`: adaptive from `initial` up to `max` ({@link AdaptiveBatchSize}).
   * @default { initial: 10, max: 200 }
   */
  batch?: AdaptiveBatchSizeOptions;
  /** Time of the batch answers when the client does not tell it (slow ones shrink the batch). @default systemClock */
  clock?: Clock;
  /** The client's execution-time window after an answer (pressure stops the growth). @default none */
  executionTime?: () => ExecutionTimeView;
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
 *
 * The batch size adapts to the answers ({@link AdaptiveBatchSize}): small at first, larger while
 * batches come back fast with no 429 and the execution-time limit has room, smaller on a 429, a
 * timeout, a slow answer or execution-time pressure. {@link preferredBatchSize} tells the caller
 * how many activities to gather for the next batch.
 */
export class DynamicsActivityWriter implements TimelineActivityWriter {
  readonly batchSize: AdaptiveBatchSize;
  private readonly clock: Clock;

  constructor(
    private readonly writer: DynamicsRecordWriter,
    private readonly options: DynamicsActivityWriterOptions = {},
  ) {
    this.batchSize = new AdaptiveBatchSize(options.batch);
    this.clock = options.clock ?? systemClock;
  }

  preferredBatchSize(): number {
    return this.batchSize.size;
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
    for (let start = 0; start < activities.length;) {
      const chunk = activities.slice(start, start + this.batchSize.size);
      const operations: BatchOperation[] = chunk.map((activity) => ({
        method: 'POST',
        path: activity.entitySetName,
        json: this.body(activity),
      }));
      let results: BatchOperationResult[];
      const sentAt = this.clock.now();
      // How long the server took: the wait for a pacing slot (the request window full) is no sign
      // that the batch is too large, and counting it would shrink batches exactly when fewer,
      // larger ones are needed.
      let elapsedMs: number | undefined;
      try {
        results = await this.writer.executeBatch(operations, {
          continueOnError: true,
          onAnswered: (ms) => (elapsedMs = ms),
        });
        this.batchSize.answered(
          chunk.length,
          elapsedMs ?? this.clock.now() - sentAt,
          this.options.executionTime?.(),
        );
      } catch (error) {
        if (!(error instanceof SyncError)) throw error;
        // The server's 429 (any limit) or a timeout: smaller batches. The client's own pacing
        // (DYNAMICS_BUDGET_EXHAUSTED) says nothing of the batch size.
        if (error.code === 'DYNAMICS_RATE_LIMITED' || error.code === 'DYNAMICS_TIMEOUT')
          this.batchSize.refused();
        // Nothing of this batch ran; the ones after it wait for the caller's retry.
        for (const activity of activities.slice(start)) outcomes.push(failedOutcome(activity.eventId, error));
        return outcomes;
      }
      chunk.forEach((activity, index) => outcomes.push(this.outcomeOf(activity, results[index])));
      start += chunk.length;
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
