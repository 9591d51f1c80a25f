import { createHash } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { describeErrorCode, type ThrottledRemoteCode } from '../../core/error-catalogue.js';
import { RateLimitedError, SyncError } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type { EmailEventType } from '../../core/ports/email-event-source.js';
import type { RecordGuard } from '../../core/ports/record-guard.js';
import type { AuditEntry, KeyMapStore, WorkItem } from '../../core/ports/state-store.js';
import type {
  ActivityWriteOutcome,
  TimelineActivity,
  TimelineActivityWriter,
} from '../../core/ports/timeline-activity-writer.js';
import { isDynamicsId } from '../../core/record-key.js';
import type { EngineEvents } from '../engine-events.js';
import type { ApplyOutcome } from '../engine-stats.js';
import type { ApplyResult, Flow } from '../flow.js';
import { privacyHold } from '../parking.js';
import { DemandBatcher } from '../demand-batcher.js';
import { TickBatcher } from '../tick-batcher.js';
import {
  emailEventPayloadSchema,
  emailEventsFlowId,
  filterReasonOf,
  type EmailEventPayload,
  type EmailEventSettings,
} from './email-event-settings.js';

/** Which of these contacts exist in Dynamics (lower-case ids); asked only when a write says "not found". */
export interface ContactPresence {
  existing(contactIds: readonly string[]): Promise<Set<string>>;
}

export interface EmailEventApplierOptions {
  settings: EmailEventSettings;
  writer: TimelineActivityWriter;
  store: { keyMap: Pick<KeyMapStore, 'findByCampaignPKeys'> };
  /** Privacy holds and tombstones of contacts (I9). */
  guard: RecordGuard;
  contacts: ContactPresence;
  clock: Clock;
  /** Told each event written, with its lag from the event's time (status and metrics show it). */
  events?: Pick<EngineEvents, 'emit'> | undefined;
}

const subjectVerbs: Record<EmailEventType, string> = {
  send: 'E-mail sent',
  open: 'E-mail opened',
  click: 'E-mail link clicked',
  bounce: 'E-mail bounced',
};

/** Dataverse `subject` is at most 200 characters. */
const subjectMaxLength = 200;

function named(ref: { id: string; label: string }): string {
  return ref.label.trim() === '' || ref.label === ref.id ? ref.id : `${ref.label} (${ref.id})`;
}

/**
 * The activity id of an event: a name-based UUID (version 5 layout over SHA-1) of the event id, so
 * every write of one event — retry, replay, another worker after a crash — addresses the same row,
 * and a second create is refused as a duplicate even without an alternate key on the event column.
 */
export function activityIdOf(eventId: string): string {
  const hex = createHash('sha1').update(`dcsync:email-event:${eventId}`).digest('hex');
  const variant = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The contact an event's profile belongs to: the contact flow's key map by the profile's Campaign
 * PKey, else its `externalId` when that is a Dynamics id; null for a profile the sync does not own.
 */
export async function contactOfEvent(
  keyMap: Pick<KeyMapStore, 'findByCampaignPKeys'>,
  contactsFlow: string,
  profile: { pkey: string; externalId: string | null },
): Promise<string | null> {
  const [contact] = await contactsOfEvents(keyMap, contactsFlow, [profile]);
  return contact ?? null;
}

/** {@link contactOfEvent} for many events' profiles with one key-map read; answers in order. */
export async function contactsOfEvents(
  keyMap: Pick<KeyMapStore, 'findByCampaignPKeys'>,
  contactsFlow: string,
  profiles: readonly { pkey: string; externalId: string | null }[],
): Promise<(string | null)[]> {
  const entries = await keyMap.findByCampaignPKeys(profiles.map((profile) => profile.pkey));
  const mapped = new Map<string, string>();
  for (const entry of entries)
    if (entry.flow === contactsFlow && entry.campaignPKey !== null && !mapped.has(entry.campaignPKey))
      mapped.set(entry.campaignPKey, entry.recordKey.toLowerCase());
  return profiles.map((profile) => {
    const contact = mapped.get(profile.pkey);
    if (contact !== undefined) return contact;
    const externalId = profile.externalId;
    return externalId !== null && isDynamicsId(externalId) ? externalId.toLowerCase() : null;
  });
}

/**
 * Flow F6's applier: one e-mail event → one completed activity row on its contact's timeline.
 *
 * The contact is the key map's (the profile's Campaign PKey, synced by the contact flow), else the
 * event's `externalId` when it is a Dynamics id; a profile with neither is not ours (`skipped-foreign`).
 * A contact under a privacy request parks the event until the request ends (then a tombstone skips
 * it: `tombstoned`); a contact deleted in Dynamics is `absent`. The write is a create with the
 * activity id derived from the event id and the event id in its own column: a "duplicate" answer
 * means the row is there, so the event is done (`unchanged`) — exactly one row per event.
 *
 * The runner hands items over one at a time; the events in flight together (up to `engine.workers`)
 * are gathered into `$batch` calls of the writer's preferred (adaptive) size ({@link DemandBatcher}):
 * a full batch leaves at once, a short one when no other short one is in flight — so while one
 * batch is at Dynamics the next one fills up.
 */
export class EmailEventApplier {
  private readonly batcher: DemandBatcher<TimelineActivity, ActivityWriteOutcome>;
  /** The events applied in one turn of the event loop look their contacts up with one read. */
  private readonly contacts: TickBatcher<EmailEventPayload['profile'], string | null>;

  constructor(private readonly options: EmailEventApplierOptions) {
    const { writer } = options;
    this.contacts = new TickBatcher((profiles) =>
      contactsOfEvents(options.store.keyMap, options.settings.contactsFlow, profiles),
    );
    this.batcher = new DemandBatcher((activities) => writer.writeActivities(activities), {
      size: () => writer.preferredBatchSize?.() ?? Number.POSITIVE_INFINITY,
    });
  }

  flow(): Flow<EmailEventPayload> {
    return {
      id: emailEventsFlowId,
      direction: 'campaign-to-dynamics',
      description: 'Campaign e-mail events → Dynamics contact timeline activities',
      payload: emailEventPayloadSchema,
      applier: { apply: (item, payload) => this.apply(item, payload) },
    };
  }

  /** The contact an event belongs to, or null for a profile the sync does not own. */
  contactOf(payload: EmailEventPayload): Promise<string | null> {
    return this.contacts.submit(payload.profile);
  }

  /** The activity row of an event. */
  activityOf(eventId: string, contactId: string, payload: EmailEventPayload): TimelineActivity {
    const { tables, fields } = this.options.settings;
    const target = tables[payload.type];
    const subject = `${subjectVerbs[payload.type]}: ${named(payload.campaign)} / ${named(payload.delivery)}`;
    const values: JsonObject = {
      subject: subject.length > subjectMaxLength ? `${subject.slice(0, subjectMaxLength - 1)}…` : subject,
      actualend: payload.occurredAt,
      [fields.eventId]: eventId,
      [fields.campaignName]: payload.campaign.label || payload.campaign.id,
      [fields.deliveryName]: payload.delivery.label || payload.delivery.id,
    };
    if (payload.type === 'click' && payload.trackingUrl !== null)
      values[fields.trackingUrl] = payload.trackingUrl;
    if (payload.mirrorPageUrl !== null) values[fields.mirrorPageUrl] = payload.mirrorPageUrl;
    return {
      eventId,
      table: target.table,
      entitySetName: target.entitySetName,
      activityId: activityIdOf(eventId),
      contactId,
      values,
    };
  }

  async apply(item: WorkItem, payload: EmailEventPayload): Promise<ApplyResult> {
    const { settings, guard, clock } = this.options;
    // Staging filters these; a type switched off since then is not written either.
    if (filterReasonOf(settings, payload) !== null) return done('filtered');
    const contactId = await this.contactOf(payload);
    if (contactId === null) return done('skipped-foreign');
    const verdict = await guard.check(settings.contactsFlow, contactId);
    if (verdict === 'hold')
      return {
        kind: 'park',
        parent: privacyHold(contactId),
        reason: 'held: a privacy request is in progress',
      };
    if (verdict === 'tombstone') return done('tombstoned');
    const activity = this.activityOf(item.recordKey, contactId, payload);
    const outcome = await this.batcher.submit(activity);
    switch (outcome.outcome) {
      case 'created': {
        const at = Date.parse(payload.occurredAt);
        if (!Number.isNaN(at))
          this.options.events?.emit('event.landed', {
            flow: item.flow,
            eventLagMs: Math.max(0, clock.now() - at),
          });
        return done('created', {
          at: clock.now(),
          actor: 'engine',
          action: 'contact.activity.create',
          flow: item.flow,
          recordKey: item.recordKey,
          fields: [activity.table],
          outcome: 'ok',
          detail: `activity ${activity.activityId} on contact ${contactId}`,
        });
      }
      case 'duplicate':
        return done('unchanged');
      case 'failed':
        if (outcome.code === 'DYNAMICS_NOT_FOUND') {
          // The contact was deleted, or the activity table is missing: only the first is a skip.
          const present = await this.options.contacts.existing([contactId]);
          if (!present.has(contactId)) return done('absent');
          throw new SyncError(
            outcome.code,
            `${outcome.message} (contact ${contactId} exists: is the activity table ${activity.table} (entity set ${activity.entitySetName}) created in Dynamics? See docs/email-events.md)`,
          );
        }
        throw failureOf(outcome);
    }
  }
}

function done(outcome: ApplyOutcome, audit?: Omit<AuditEntry, 'id'>): ApplyResult {
  return {
    kind: 'done',
    outcome,
    effects: audit ? { audit: [audit], resolveDeadLetters: true } : {},
    landed: false,
  };
}

/** The failure of one activity as the error the runner retries or dead-letters by its code. */
function failureOf(outcome: Extract<ActivityWriteOutcome, { outcome: 'failed' }>): SyncError {
  if (describeErrorCode(outcome.code)?.kind === 'throttled') {
    const area = describeErrorCode(outcome.code)?.area ?? 'dynamics';
    return new RateLimitedError(area, outcome.message, {
      code: outcome.code as ThrottledRemoteCode,
      ...(outcome.retryAfterMs === null ? {} : { retryAfterMs: outcome.retryAfterMs }),
    });
  }
  return new SyncError(outcome.code, outcome.message);
}
