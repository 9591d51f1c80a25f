import { SeededRandom } from '../../shared/seeded-random.js';
import type { StoredRecord } from '../campaign-record-store.js';
import {
  emailEventTypes,
  type CampaignEmailEvent,
  type CampaignRef,
  type EmailEventType,
} from './campaign-event-journal.js';

/** A profile an event is about: the fields an event carries. */
export interface EventProfile {
  PKey: string;
  email: string;
  externalId?: string | undefined;
}

/** What "send a delivery" does (admin API). Rates are shares of the profiles targeted. */
export interface DeliveryRequest {
  campaign?: CampaignRef | undefined;
  delivery?: CampaignRef | undefined;
  /** Share of profiles whose message bounces (no send, no open). @default 0.02 */
  bounceRate?: number | undefined;
  /** Share of bounces that are hard. @default 0.5 */
  hardBounceShare?: number | undefined;
  /** Share of delivered messages opened. @default 0.3 */
  openRate?: number | undefined;
  /** Share of opened messages clicked. @default 0.3 */
  clickRate?: number | undefined;
  /** Give events the delivery's mirror page URL. @default true */
  mirrorPage?: boolean | undefined;
  seed?: number | undefined;
}

/** What a burst generates (benchmarks): `count` events cycling through the profiles. */
export interface BurstRequest {
  count: number;
  /** Relative weights of the event types. @default { open: 6, click: 3, send: 0, bounce: 1 } */
  mix?: { [T in EmailEventType]?: number | undefined } | undefined;
  campaign?: CampaignRef | undefined;
  delivery?: CampaignRef | undefined;
  seed?: number | undefined;
}

export interface GeneratedCounts {
  send: number;
  open: number;
  click: number;
  bounce: number;
}

/** A stored profile as an event names it; profiles without an e-mail address get no mail. */
export function eventProfileOf(record: StoredRecord): EventProfile | undefined {
  const email = record.values.email;
  if (typeof email !== 'string' || email === '') return undefined;
  const externalId = record.values.externalId;
  return {
    PKey: record.pkey,
    email,
    ...(typeof externalId === 'string' && externalId !== '' ? { externalId } : {}),
  };
}

/**
 * Builds Campaign e-mail events on the emulator clock: a delivery sent to profiles (sends, a share
 * of bounces, opens and clicks), or a fast burst of events for benchmarks. Ids and choices come from
 * a seeded stream, so a seed reproduces the same events.
 */
export class CampaignEmailEventGenerator {
  private deliveries = 0;

  constructor(private readonly baseUrl: string) {}

  private defaults(n: number): { campaign: CampaignRef; delivery: CampaignRef } {
    const tag = String(n).padStart(4, '0');
    return {
      campaign: { id: `OP${tag}`, label: `Campaign ${tag}` },
      delivery: { id: `DM${tag}`, label: `Newsletter ${tag}` },
    };
  }

  private mirrorPageUrl(delivery: CampaignRef, profile: EventProfile): string {
    return `${this.baseUrl}/mirror/${encodeURIComponent(delivery.id)}/${encodeURIComponent(profile.PKey)}`;
  }

  /** The events of one delivery sent to `profiles` at `now`. */
  delivery(
    profiles: readonly EventProfile[],
    request: DeliveryRequest,
    now: number,
  ): { events: CampaignEmailEvent[]; counts: GeneratedCounts; campaign: CampaignRef; delivery: CampaignRef } {
    const n = ++this.deliveries;
    const random = new SeededRandom(request.seed ?? n);
    const fallback = this.defaults(n);
    const campaign = request.campaign ?? fallback.campaign;
    const delivery = request.delivery ?? fallback.delivery;
    const counts: GeneratedCounts = { send: 0, open: 0, click: 0, bounce: 0 };
    const events: CampaignEmailEvent[] = [];
    const base = (profile: EventProfile, type: EmailEventType): CampaignEmailEvent => ({
      id: random.guid(),
      type,
      occurredAt: now,
      profile,
      campaign,
      delivery,
      ...(request.mirrorPage === false ? {} : { mirrorPageUrl: this.mirrorPageUrl(delivery, profile) }),
    });
    for (const profile of profiles) {
      if (random.chance(request.bounceRate ?? 0.02)) {
        events.push({
          ...base(profile, 'bounce'),
          bounceType: random.chance(request.hardBounceShare ?? 0.5) ? 'hard' : 'soft',
        });
        counts.bounce++;
        continue;
      }
      events.push(base(profile, 'send'));
      counts.send++;
      if (!random.chance(request.openRate ?? 0.3)) continue;
      events.push(base(profile, 'open'));
      counts.open++;
      if (!random.chance(request.clickRate ?? 0.3)) continue;
      events.push({
        ...base(profile, 'click'),
        trackingUrl: `https://www.example.com/offers/${random.int(1, 20)}?utm_campaign=${encodeURIComponent(campaign.id)}`,
      });
      counts.click++;
    }
    return { events, counts, campaign, delivery };
  }

  /** `count` events cycling through `profiles`, types drawn by the mix's weights. */
  burst(
    profiles: readonly EventProfile[],
    request: BurstRequest,
    now: number,
  ): { events: CampaignEmailEvent[]; counts: GeneratedCounts } {
    if (profiles.length === 0) throw new Error('a burst needs at least one profile with an e-mail address');
    const n = ++this.deliveries;
    const random = new SeededRandom(request.seed ?? n);
    const fallback = this.defaults(n);
    const campaign = request.campaign ?? fallback.campaign;
    const delivery = request.delivery ?? fallback.delivery;
    const mix: Record<EmailEventType, number> = { open: 6, click: 3, send: 0, bounce: 1 };
    for (const type of emailEventTypes) mix[type] = request.mix?.[type] ?? mix[type];
    const weights = emailEventTypes.map((type) => Math.max(0, mix[type]));
    const total = weights.reduce((a, b) => a + b, 0);
    if (total <= 0) throw new Error('the burst mix needs a positive weight');
    const counts: GeneratedCounts = { send: 0, open: 0, click: 0, bounce: 0 };
    const events: CampaignEmailEvent[] = new Array<CampaignEmailEvent>(request.count);
    for (let i = 0; i < request.count; i++) {
      let draw = random.next() * total;
      let type: EmailEventType = 'open';
      for (let t = 0; t < emailEventTypes.length; t++) {
        draw -= weights[t] as number;
        if (draw < 0) {
          type = emailEventTypes[t] as EmailEventType;
          break;
        }
      }
      const profile = profiles[i % profiles.length] as EventProfile;
      counts[type]++;
      events[i] = {
        id: random.guid(),
        type,
        occurredAt: now,
        profile,
        campaign,
        delivery,
        ...(type === 'bounce' ? { bounceType: 'hard' as const } : {}),
        ...(type === 'click' ? { trackingUrl: 'https://www.example.com/offers/1' } : {}),
      };
    }
    return { events, counts };
  }
}
