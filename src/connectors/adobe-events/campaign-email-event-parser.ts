import { z } from 'zod';
import { formatIso } from '../../core/clock.js';
import {
  bounceKinds,
  emailEventTypes,
  type EmailEvent,
  type UnreadableEmailEvent,
} from '../../core/ports/email-event-source.js';

const ref = z.object({ id: z.string().min(1), label: z.string() });

/**
 * Campaign's e-mail event as the journal carries it: a CloudEvents 1.0 envelope whose `data` holds
 * the event. Campaign does not document this egress; the shape is the emulator's (see
 * emulators/campaign/README.md "E-mail events journal"), so it is checked field by field and an
 * entry that does not fit is reported as unreadable, never dropped silently.
 */
const cloudEvent = z.object({
  id: z.string().min(1),
  type: z.string(),
  time: z.string().optional(),
  data: z.object({
    eventType: z.enum(emailEventTypes),
    bounceType: z.enum(bounceKinds).optional(),
    profile: z.object({
      PKey: z.string().min(1),
      email: z.string().optional(),
      externalId: z.string().optional(),
    }),
    campaign: ref,
    delivery: ref,
    eventDate: z.string().refine((text) => !Number.isNaN(Date.parse(text)), 'not a date-time'),
    trackingUrl: z.string().optional(),
    mirrorPageUrl: z.string().optional(),
  }),
});

/** Read one journal entry's `event` as an e-mail event, or say (without personal data) why not. */
export function parseCampaignEmailEvent(
  position: string,
  event: unknown,
): { ok: true; event: EmailEvent } | { ok: false; unreadable: UnreadableEmailEvent } {
  const parsed = cloudEvent.safeParse(event);
  if (!parsed.success) {
    const id = (event as { id?: unknown } | null)?.id;
    const where = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`)
      .join('; ');
    return {
      ok: false,
      unreadable: { position, eventId: typeof id === 'string' ? id : null, reason: where },
    };
  }
  const { id, data } = parsed.data;
  return {
    ok: true,
    event: {
      eventId: id,
      position,
      type: data.eventType,
      bounceKind: data.eventType === 'bounce' ? (data.bounceType ?? null) : null,
      occurredAt: formatIso(Date.parse(data.eventDate)),
      profile: {
        pkey: data.profile.PKey,
        email: data.profile.email ?? null,
        externalId:
          data.profile.externalId === undefined || data.profile.externalId === ''
            ? null
            : data.profile.externalId,
      },
      campaign: data.campaign,
      delivery: data.delivery,
      trackingUrl: data.trackingUrl ?? null,
      mirrorPageUrl: data.mirrorPageUrl ?? null,
    },
  };
}
