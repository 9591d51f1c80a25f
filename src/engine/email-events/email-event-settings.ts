import { z } from 'zod';
import {
  bounceKinds,
  emailEventTypes,
  type EmailEvent,
  type EmailEventType,
} from '../../core/ports/email-event-source.js';

/**
 * How long the journal keeps events: Adobe I/O Events' Journaling API retains them 7 days
 * (older positions answer 410 Gone), so a replay can start no earlier.
 */
export const journalRetentionMs = 7 * 86_400_000;

/** The id of flow F6's work items: Campaign e-mail events → Dynamics contact timeline activities. */
export const emailEventsFlowId = 'emailEvents';

/** Flow F6 as the engine needs it (built from `flows.emailEvents` by the composition root). */
export interface EmailEventSettings {
  /** Which event types are written; events of the others are counted and never staged. */
  types: Record<EmailEventType, boolean>;
  /** The custom activity table of each type, with its Web API entity set. */
  tables: Record<EmailEventType, { table: string; entitySetName: string }>;
  /** Columns of the activity tables. */
  fields: {
    eventId: string;
    campaignName: string;
    deliveryName: string;
    trackingUrl: string;
    mirrorPageUrl: string;
  };
  /** The flow whose key map holds Campaign PKey → contact id (`contacts`). */
  contactsFlow: string;
}

const ref = z.object({ id: z.string().min(1), label: z.string() });

/**
 * A staged e-mail event: what the applier needs, and nothing personal (the profile's e-mail address
 * is never stored). The work item's record key is the event id.
 */
export const emailEventPayloadSchema = z.object({
  type: z.enum(emailEventTypes),
  bounceKind: z.enum(bounceKinds).nullable(),
  occurredAt: z.string().min(1),
  profile: z.object({ pkey: z.string().min(1), externalId: z.string().nullable() }),
  campaign: ref,
  delivery: ref,
  trackingUrl: z.string().nullable(),
  mirrorPageUrl: z.string().nullable(),
});
export type EmailEventPayload = z.infer<typeof emailEventPayloadSchema>;

/** The payload of an event (the e-mail address left out). */
export function emailEventPayload(event: EmailEvent): EmailEventPayload {
  return {
    type: event.type,
    bounceKind: event.bounceKind,
    occurredAt: event.occurredAt,
    profile: { pkey: event.profile.pkey, externalId: event.profile.externalId },
    campaign: { id: event.campaign.id, label: event.campaign.label },
    delivery: { id: event.delivery.id, label: event.delivery.label },
    trackingUrl: event.trackingUrl,
    mirrorPageUrl: event.mirrorPageUrl,
  };
}

/**
 * Why an event read from the source is not staged: its type is switched off, or it is a soft
 * bounce (only hard bounces become activities, as in the integration this replaces).
 */
export type EmailEventFilterReason = `type-${EmailEventType}-disabled` | 'soft-bounce';

/** Null when the event is staged, else why not. */
export function filterReasonOf(
  settings: Pick<EmailEventSettings, 'types'>,
  event: Pick<EmailEvent, 'type' | 'bounceKind'>,
): EmailEventFilterReason | null {
  if (!settings.types[event.type]) return `type-${event.type}-disabled`;
  if (event.type === 'bounce' && event.bounceKind !== 'hard') return 'soft-bounce';
  return null;
}
