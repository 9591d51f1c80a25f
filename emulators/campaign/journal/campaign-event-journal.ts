import type { EmulatorClock } from '../../shared/emulator-clock.js';

/** The e-mail events Campaign reports (bounces carry their kind). */
export const emailEventTypes = ['send', 'open', 'click', 'bounce'] as const;
export type EmailEventType = (typeof emailEventTypes)[number];
export const bounceTypes = ['hard', 'soft'] as const;
export type BounceType = (typeof bounceTypes)[number];

/** A Campaign campaign or delivery as an event names it. */
export interface CampaignRef {
  id: string;
  label: string;
}

/** One Campaign e-mail event, as the journal keeps it (rendered on read). */
export interface CampaignEmailEvent {
  /** Unique event id (the CloudEvents `id`). */
  id: string;
  type: EmailEventType;
  /** Bounces only. */
  bounceType?: BounceType | undefined;
  /** When the event happened (ms, emulator clock). */
  occurredAt: number;
  profile: { PKey: string; email: string; externalId?: string | undefined };
  campaign: CampaignRef;
  delivery: CampaignRef;
  /** Clicks only: the URL clicked. */
  trackingUrl?: string | undefined;
  /** The delivery's mirror page, when it has one. */
  mirrorPageUrl?: string | undefined;
}

/** Knobs of the journal where the documentation is silent (see README). */
export interface JournalSettings {
  /** How long events are kept. @default 7 days (documented) */
  retentionMs: number;
  /** `retry-after` of a 204 (no newer events). @default 10 (the documented example) */
  emptyRetryAfterSec: number;
  /** Events per answer without `limit`. @default 100 (assumed: "no upper limit" is documented) */
  defaultBatchSize: number;
  /** Largest `limit` honoured; larger ones are capped. @default 10_000 (assumed) */
  maxBatchSize: number;
}

export const defaultJournalSettings: JournalSettings = {
  retentionMs: 7 * 24 * 3_600_000,
  emptyRetryAfterSec: 10,
  defaultBatchSize: 100,
  maxBatchSize: 10_000,
};

interface JournalEntry {
  seq: number;
  publishedAt: number;
  event: CampaignEmailEvent;
}

/** What a journal read answers, before it becomes HTTP. */
export type JournalAnswer =
  | { kind: 'events'; entries: { position: string; event: CampaignEmailEvent }[]; next: string }
  | { kind: 'empty'; next: string; retryAfterSec: number }
  | { kind: 'expired'; position: string }
  | { kind: 'invalid'; message: string };

/** The CloudEvents `type` of each event (assumed names: Campaign's egress is not documented). */
export function cloudEventTypeOf(event: CampaignEmailEvent): string {
  return `com.adobe.campaign.standard.email.${event.type}`;
}

/**
 * Adobe I/O Events' journal of one event registration: an ordered ledger read forward from a
 * position (`since`), from the oldest retained event (no parameter) or from the end
 * (`latest=true`). Events older than the retention leave the head of the ledger; a position whose
 * event has left it is expired (410). Positions are opaque to readers: here `<prefix>.<seq>`.
 */
export class CampaignEventJournal {
  private entries: JournalEntry[] = [];
  private head = 0;
  private lastSeq = 0;
  /** Highest sequence number that left the journal (expired or cleared). */
  private removedThrough = 0;
  settings: JournalSettings;

  constructor(
    private readonly clock: EmulatorClock,
    private readonly prefix: string,
    settings: Partial<JournalSettings> = {},
  ) {
    this.settings = { ...defaultJournalSettings, ...settings };
  }

  configure(patch: Partial<JournalSettings>): JournalSettings {
    this.settings = { ...this.settings, ...patch };
    return { ...this.settings };
  }

  /** Append events, published now. Returns the position of the last one. */
  append(events: readonly CampaignEmailEvent[]): string {
    const publishedAt = this.clock.now();
    for (const event of events) this.entries.push({ seq: ++this.lastSeq, publishedAt, event });
    return this.positionOf(this.lastSeq);
  }

  /** Remove every event (positions handed out so far expire). */
  clear(): void {
    this.entries = [];
    this.head = 0;
    this.removedThrough = this.lastSeq;
  }

  private positionOf(seq: number): string {
    return `${this.prefix}.${seq}`;
  }

  private seqOf(position: string): number | undefined {
    const match = /^(.+)\.(\d{1,15})$/.exec(position);
    if (!match || match[1] !== this.prefix) return undefined;
    return Number(match[2]);
  }

  /** Drop events older than the retention from the head. */
  private expire(): void {
    const from = this.clock.now() - this.settings.retentionMs;
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head] as JournalEntry;
      if (entry.publishedAt > from) break;
      this.removedThrough = entry.seq;
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Index of the first retained entry with seq > `seq`. */
  private indexAfter(seq: number): number {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as JournalEntry).seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** One read: `since` a position, from the oldest retained event, or from the end (`latest`). */
  read(query: { since?: string | undefined; latest?: boolean; limit?: number | undefined }): JournalAnswer {
    this.expire();
    let after: number;
    if (query.since !== undefined) {
      const seq = this.seqOf(query.since);
      if (seq === undefined || seq > this.lastSeq)
        return { kind: 'invalid', message: `Invalid position ${query.since}.` };
      if (seq !== 0 && seq <= this.removedThrough) return { kind: 'expired', position: query.since };
      if (seq === 0 && this.removedThrough > 0) return { kind: 'expired', position: query.since };
      after = seq;
    } else if (query.latest) {
      after = this.lastSeq;
    } else {
      after = this.removedThrough;
    }
    const limit = Math.min(query.limit ?? this.settings.defaultBatchSize, this.settings.maxBatchSize);
    const start = this.indexAfter(after);
    const end = Math.min(this.entries.length, start + limit);
    if (start >= end) {
      return {
        kind: 'empty',
        next: this.positionOf(after),
        retryAfterSec: this.settings.emptyRetryAfterSec,
      };
    }
    const entries = this.entries.slice(start, end).map((entry) => ({
      position: this.positionOf(entry.seq),
      event: entry.event,
    }));
    return { kind: 'events', entries, next: (entries[entries.length - 1] as { position: string }).position };
  }

  /** Counts for the admin API. */
  status(): {
    retained: number;
    appended: number;
    removed: number;
    oldestPosition: string | null;
    latestPosition: string | null;
    settings: JournalSettings;
  } {
    this.expire();
    const retained = this.entries.length - this.head;
    return {
      retained,
      appended: this.lastSeq,
      removed: this.removedThrough,
      oldestPosition: retained > 0 ? this.positionOf((this.entries[this.head] as JournalEntry).seq) : null,
      latestPosition: this.lastSeq > 0 ? this.positionOf(this.lastSeq) : null,
      settings: { ...this.settings },
    };
  }
}
