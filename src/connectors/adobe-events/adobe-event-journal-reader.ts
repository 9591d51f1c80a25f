import { z } from 'zod';
import { ConnectorError, RateLimitedError } from '../../core/errors.js';
import type {
  EmailEvent,
  EmailEventCursor,
  EmailEventPage,
  EmailEventSource,
  UnreadableEmailEvent,
} from '../../core/ports/email-event-source.js';
import type { AdobeAnswer, AdobeApiCaller } from '../adobe/adobe-api-caller.js';
import { parseCampaignEmailEvent } from './campaign-email-event-parser.js';

export interface AdobeEventJournalReaderOptions {
  /** The registration's journaling endpoint URL (Developer Console → event registration → Journaling). */
  journalUrl: string;
  /** An Adobe caller with target `events` (IMS token, `x-api-key`, `x-ims-org-id` header). */
  caller: AdobeApiCaller;
  /** `limit` sent with every read. @default 500 */
  limit?: number;
  /** Wait after a 204 that has no `retry-after`. @default 10_000 (the documented example's 10 s) */
  defaultEmptyWaitMs?: number;
}

const journalBody = z.object({
  events: z.array(z.object({ position: z.string().min(1), event: z.unknown() })),
  _page: z.object({ last: z.string().min(1), count: z.number().int().nonnegative() }).optional(),
});

/** The `since` of the `rel="next"` link, from one or several `Link` headers. */
export function nextPositionOf(link: string | string[] | undefined): string | undefined {
  const values = Array.isArray(link) ? link : link === undefined ? [] : [link];
  for (const value of values) {
    for (const part of value.split(/,(?=\s*<)/)) {
      const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
      if (!match || !/rel\s*=\s*"?next"?/i.test(match[2] ?? '')) continue;
      const since = new URL(match[1] ?? '', 'https://journal.invalid').searchParams.get('since');
      if (since) return since;
    }
  }
  return undefined;
}

/**
 * Reads Campaign's e-mail events from Adobe I/O Events' Journaling API: `GET <journal>` with
 * `since=<position>` (or no parameter for the oldest retained events, `latest=true` for the end) and
 * `limit`. A 200 gives the events and the next position (`Link rel="next"`, else `_page.last`); a 204
 * says nothing is newer yet and how long to wait (`retry-after`); a 410 says the position is older
 * than the journal's 7-day retention. Only the position is kept: each read rebuilds its URL from the
 * configured journal URL, so a stored position never points anywhere else.
 */
export class AdobeEventJournalReader implements EmailEventSource {
  readonly name: string;
  private readonly limit: number;

  constructor(private readonly options: AdobeEventJournalReaderOptions) {
    const url = new URL(options.journalUrl);
    this.name = `journal ${url.pathname.split('/').pop() ?? ''}`;
    this.limit = options.limit ?? 500;
  }

  private urlFor(cursor: EmailEventCursor, limit: number): string {
    const url = new URL(this.options.journalUrl);
    if ('position' in cursor) url.searchParams.set('since', cursor.position);
    else if (cursor.start === 'latest') url.searchParams.set('latest', 'true');
    url.searchParams.set('limit', String(limit));
    return url.toString();
  }

  async readPage(
    cursor: EmailEventCursor,
    options: { limit?: number; signal?: AbortSignal } = {},
  ): Promise<EmailEventPage> {
    const answer = await this.options.caller.call({
      method: 'GET',
      url: this.urlFor(cursor, options.limit ?? this.limit),
      kind: 'read',
      what: 'GET journal',
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const stored = 'position' in cursor ? cursor.position : undefined;
    if (answer.status === 200) return this.eventsPage(answer);
    if (answer.status === 204) {
      return {
        kind: 'empty',
        position: nextPositionOf(answer.headers.link) ?? stored ?? null,
        retryAfterMs: answer.retryAfterMs ?? this.emptyWait(),
      };
    }
    if (answer.status === 410) {
      return {
        kind: 'expired',
        position: stored ?? '',
        // The journal does not say how many events left it before they were read.
        lostEvents: null,
        message: `The journal position is older than the journal's retention (HTTP 410: ${answer.text.slice(0, 200)}); events between it and the oldest retained one are lost.`,
      };
    }
    throw this.failure(answer);
  }

  private emptyWait(): number {
    return this.options.defaultEmptyWaitMs ?? 10_000;
  }

  private eventsPage(answer: AdobeAnswer): EmailEventPage {
    let raw: unknown;
    try {
      raw = JSON.parse(answer.text);
    } catch (error) {
      throw new ConnectorError('events', 'EVENTS_BAD_RESPONSE', 'The journal answered 200 without JSON', {
        status: 200,
        cause: error,
      });
    }
    const body = journalBody.safeParse(raw);
    if (!body.success || body.data.events.length === 0) {
      throw new ConnectorError(
        'events',
        'EVENTS_BAD_RESPONSE',
        `The journal answered 200 without events and positions (${body.success ? 'no events' : (body.error.issues[0]?.message ?? 'invalid')})`,
        { status: 200 },
      );
    }
    const events: EmailEvent[] = [];
    const unreadable: UnreadableEmailEvent[] = [];
    for (const entry of body.data.events) {
      const parsed = parseCampaignEmailEvent(entry.position, entry.event);
      if (parsed.ok) events.push(parsed.event);
      else unreadable.push(parsed.unreadable);
    }
    const last = body.data.events[body.data.events.length - 1]?.position as string;
    const position = nextPositionOf(answer.headers.link) ?? body.data._page?.last ?? last;
    return { kind: 'events', events, unreadable, position };
  }

  private failure(answer: AdobeAnswer): ConnectorError {
    const status = answer.status;
    const base = `Adobe I/O Events GET journal failed with HTTP ${status}: ${answer.text.slice(0, 200)}`;
    if (status === 429) {
      return new RateLimitedError('events', base, {
        code: 'EVENTS_RATE_LIMITED',
        ...(answer.retryAfterMs === undefined ? {} : { retryAfterMs: answer.retryAfterMs }),
      });
    }
    if (status === 401 || status === 403)
      return new ConnectorError('events', 'EVENTS_AUTH', base, { status });
    if (status === 404) return new ConnectorError('events', 'EVENTS_NOT_FOUND', base, { status });
    if (status >= 500) return new ConnectorError('events', `EVENTS_HTTP_${status}`, base, { status });
    return new ConnectorError('events', 'EVENTS_INVALID_REQUEST', base, { status });
  }
}
