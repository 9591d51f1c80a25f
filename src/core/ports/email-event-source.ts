/** The e-mail events Campaign reports; bounces carry their kind. */
export const emailEventTypes = ['send', 'open', 'click', 'bounce'] as const;
export type EmailEventType = (typeof emailEventTypes)[number];
export const bounceKinds = ['hard', 'soft'] as const;
export type BounceKind = (typeof bounceKinds)[number];

/** A Campaign campaign or delivery as an event names it. */
export interface CampaignItemRef {
  id: string;
  label: string;
}

/** One e-mail event, whatever source read it. Personal data: never log `profile.email`. */
export interface EmailEvent {
  /** The source's unique event id (what makes a write of the event idempotent). */
  eventId: string;
  /**
   * Where the source holds it (the journal entry's position), when the source has positions: a
   * replay knows by it when it reaches the events it had not read before.
   */
  position?: string | undefined;
  type: EmailEventType;
  /** Bounces only; null otherwise. */
  bounceKind: BounceKind | null;
  /** When it happened at the source (ISO-8601). */
  occurredAt: string;
  profile: {
    /** Campaign PKey (never stored as a key of ours; ids in logs only). */
    pkey: string;
    email: string | null;
    /** The profile's `externalId` (a Dynamics contactid when the sync owns it); null when it has none. */
    externalId: string | null;
  };
  campaign: CampaignItemRef;
  delivery: CampaignItemRef;
  /** Clicks: the URL clicked. */
  trackingUrl: string | null;
  mirrorPageUrl: string | null;
}

/** An entry of a page the source could not read as an e-mail event (counted, never silently lost). */
export interface UnreadableEmailEvent {
  /** The entry's position in the source. */
  position: string;
  /** The event id when the entry had one. */
  eventId: string | null;
  /** What is wrong, without personal data. */
  reason: string;
}

/** Where to start reading. */
export type EmailEventCursor =
  | { position: string }
  /** No stored position yet: the oldest retained event, or only events from now on. */
  | { start: 'oldest' | 'latest' };

/** One read of the source. */
export type EmailEventPage =
  | {
      kind: 'events';
      events: EmailEvent[];
      unreadable: UnreadableEmailEvent[];
      /** The position to store once these events are staged (the next read starts after it). */
      position: string;
    }
  | {
      /**
       * Nothing newer yet: store `position` (it may differ from the one asked, e.g. after `latest`)
       * and wait; null when the source gave none (read with the same cursor again).
       */
      kind: 'empty';
      position: string | null;
      /** How long the source asks to wait before reading again. */
      retryAfterMs: number;
    }
  | {
      /**
       * The position is older than the source's retention: events between it and the oldest retained
       * one are lost. An operator alert, never silence; read again from `{ start: 'oldest' }`.
       */
      kind: 'expired';
      position: string;
      /** How many events were lost, when the source can tell; null when it cannot. */
      lostEvents: number | null;
      message: string;
    };

/**
 * Where e-mail events (flow F6) come from, read forward from a stored position: Adobe I/O Events'
 * journal today; another source (a file export) can implement the same port. Transport failures
 * throw SyncErrors of the source's area; a page is the unit to stage with its position.
 */
export interface EmailEventSource {
  /** What is read, for status and messages (no secrets). */
  readonly name: string;
  readPage(
    cursor: EmailEventCursor,
    options?: { limit?: number; signal?: AbortSignal },
  ): Promise<EmailEventPage>;
}
