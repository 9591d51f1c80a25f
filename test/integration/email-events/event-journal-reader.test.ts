/**
 * The Adobe I/O Events journal reader (production client, through the Adobe caller and IMS)
 * against the Campaign emulator's journal over HTTPS: paging by position, 204 with Retry-After at
 * the end, `latest`, expiry after the retention on the emulator clock, and the e-mail events a
 * delivery sends.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openAdobeConnection } from '../../../src/connectors/adobe/adobe-connection.js';
import { AdobeEventJournalReader } from '../../../src/connectors/adobe-events/adobe-event-journal-reader.js';
import type { EmailEventPage } from '../../../src/core/ports/email-event-source.js';
import {
  connectorErrorOf,
  startCampaignTestBed,
  type CampaignTestBed,
} from '../../support/campaign-test-bed.js';

let bed: CampaignTestBed;

function readerOf(
  limit?: number,
  orgId?: string,
): { reader: AdobeEventJournalReader; close: () => Promise<void> } {
  const own = openAdobeConnection({
    target: 'events',
    imsUrl: bed.emulator.imsUrl,
    clientId: 'demo-client',
    clientSecret: 'demo-secret',
    caCert: bed.emulator.caCert ?? undefined,
    timeoutMs: 5000,
    headers: { 'x-ims-org-id': orgId ?? bed.emulator.imsOrgId },
  });
  return {
    reader: new AdobeEventJournalReader({
      journalUrl: bed.emulator.journalUrl,
      caller: own.caller,
      ...(limit === undefined ? {} : { limit }),
    }),
    close: () => own.close(),
  };
}

let reader: AdobeEventJournalReader;
let closeReader: () => Promise<void>;

beforeAll(async () => {
  bed = await startCampaignTestBed();
  ({ reader, close: closeReader } = readerOf(4));
});

afterAll(async () => {
  await closeReader();
  await bed.close();
});

beforeEach(() => {
  bed.emulator.admin.reset({ reseed: false });
});

function eventsOf(page: EmailEventPage) {
  if (page.kind !== 'events') throw new Error(`expected events, got ${page.kind}`);
  return page;
}

describe('the journal read through the production reader', () => {
  it('pages forward by position, then answers empty with the Retry-After and a position to keep', async () => {
    const pkeys = bed.emulator.admin.seedProfiles({ externalIds: ['c-1', 'c-2', 'c-3'], foreign: 0 });
    bed.emulator.admin.seedProfiles({ records: [{ email: 'foreign@example.com' }] });
    const sent = bed.emulator.admin.sendDelivery({
      profiles: pkeys,
      openRate: 1,
      clickRate: 1,
      bounceRate: 0,
      campaign: { id: 'OP42', label: 'Spring' },
      delivery: { id: 'DM7', label: 'Newsletter' },
    });
    expect(sent.counts).toEqual({ send: 3, open: 3, click: 3, bounce: 0 });

    const first = eventsOf(await reader.readPage({ start: 'oldest' }));
    expect(first.events).toHaveLength(4);
    const second = eventsOf(await reader.readPage({ position: first.position }));
    const third = eventsOf(await reader.readPage({ position: second.position }));
    const all = [...first.events, ...second.events, ...third.events];
    expect(all).toHaveLength(9);
    expect(new Set(all.map((e) => e.eventId)).size).toBe(9);
    expect(all.map((e) => e.type).sort()).toEqual([
      'click',
      'click',
      'click',
      'open',
      'open',
      'open',
      'send',
      'send',
      'send',
    ]);
    const click = all.find((e) => e.type === 'click')!;
    expect(click).toMatchObject({
      bounceKind: null,
      campaign: { id: 'OP42', label: 'Spring' },
      delivery: { id: 'DM7', label: 'Newsletter' },
      profile: { externalId: expect.stringMatching(/^c-[123]$/) as unknown },
    });
    expect(click.trackingUrl).toMatch(/^https:\/\//);
    expect(click.mirrorPageUrl).toMatch(/mirror\/DM7\//);
    expect(Date.parse(click.occurredAt)).not.toBeNaN();

    const end = await reader.readPage({ position: third.position });
    expect(end).toEqual({ kind: 'empty', position: third.position, retryAfterMs: 10_000 });

    // New events after the end come from the same position.
    bed.emulator.admin.sendDelivery({ profiles: [pkeys[0]!], openRate: 0, bounceRate: 0 });
    expect(eventsOf(await reader.readPage({ position: third.position })).events.map((e) => e.type)).toEqual([
      'send',
    ]);
  });

  it('carries bounces with their kind, and profiles without an externalId as null', async () => {
    const [foreign] = bed.emulator.admin.seedProfiles({ records: [{ email: 'someone@example.com' }] });
    bed.emulator.admin.sendDelivery({ profiles: [foreign!], bounceRate: 1, hardBounceShare: 1 });
    const page = eventsOf(await reader.readPage({ start: 'oldest' }));
    expect(page.events).toEqual([
      expect.objectContaining({
        type: 'bounce',
        bounceKind: 'hard',
        profile: expect.objectContaining({ externalId: null }) as unknown,
      }),
    ]);
  });

  it("a delivery skips targeted profiles without an e-mail address, as Campaign's target analysis does", async () => {
    const [mailed, noEmail] = bed.emulator.admin.seedProfiles({
      records: [
        { externalId: 'c-mail', email: 'ann@example.com' },
        { externalId: 'c-none', lastName: 'NoMail' },
      ],
    });
    const sent = bed.emulator.admin.sendDelivery({
      profiles: [noEmail!, mailed!],
      openRate: 0,
      bounceRate: 0,
    });
    expect(sent.counts).toEqual({ send: 1, open: 0, click: 0, bounce: 0 });
    expect(sent.excluded).toEqual({ noEmail: 1 });
    const page = eventsOf(await reader.readPage({ start: 'oldest' }));
    expect(page.events.map((e) => [e.type, e.profile.externalId])).toEqual([['send', 'c-mail']]);
    // A PKey that names no profile is the caller's mistake, not an exclusion.
    expect(() => bed.emulator.admin.sendDelivery({ profiles: ['@no-such-profile'] })).toThrow(/no profile/);
  });

  it('latest=true jumps to the end: empty, with the position after which new events come', async () => {
    const pkeys = bed.emulator.admin.seedProfiles({ externalIds: ['c-9'] });
    bed.emulator.admin.sendDelivery({ profiles: pkeys, openRate: 0, bounceRate: 0 });
    const end = await reader.readPage({ start: 'latest' });
    expect(end.kind).toBe('empty');
    const position = end.kind === 'empty' ? end.position : null;
    expect(position).not.toBeNull();
    bed.emulator.admin.sendDelivery({ profiles: pkeys, openRate: 1, clickRate: 0, bounceRate: 0 });
    expect(eventsOf(await reader.readPage({ position: position! })).events.map((e) => e.type)).toEqual([
      'send',
      'open',
    ]);
  });

  it('a position older than the retention is expired (410), and reading from the oldest goes on', async () => {
    const pkeys = bed.emulator.admin.seedProfiles({ externalIds: ['c-5'] });
    bed.emulator.admin.sendDelivery({ profiles: pkeys, openRate: 0, bounceRate: 0 });
    const page = eventsOf(await reader.readPage({ start: 'oldest' }));
    bed.emulator.admin.advanceClock(7 * 24 * 3_600_000 + 1000);
    bed.emulator.admin.sendDelivery({ profiles: pkeys, openRate: 1, clickRate: 0, bounceRate: 0 });

    const expired = await reader.readPage({ position: page.position });
    expect(expired).toMatchObject({ kind: 'expired', position: page.position, lostEvents: null });
    expect(expired.kind === 'expired' && expired.message).toMatch(/retention/);
    const after = eventsOf(await reader.readPage({ start: 'oldest' }));
    expect(after.events.map((e) => e.type)).toEqual(['send', 'open']);
  });

  it('an empty journal read from its start is empty; a wrong org is EVENTS_AUTH', async () => {
    expect(await reader.readPage({ start: 'oldest' })).toMatchObject({ kind: 'empty', retryAfterMs: 10_000 });
    const other = readerOf(undefined, 'OTHER@AdobeOrg');
    try {
      const error = await connectorErrorOf(other.reader.readPage({ start: 'oldest' }));
      expect(error.code).toBe('EVENTS_AUTH');
    } finally {
      await other.close();
    }
  });

  it('a burst of many events is read in pages of the limit asked', async () => {
    const pkeys = bed.emulator.admin.seedProfiles({ externalIds: ['b-1', 'b-2'] });
    bed.emulator.admin.burstEvents({ count: 2500, profiles: pkeys, seed: 3 });
    const big = readerOf(1000);
    try {
      let cursor: { start: 'oldest' } | { position: string } = { start: 'oldest' };
      let read = 0;
      for (let pages = 0; pages < 5; pages++) {
        const page = await big.reader.readPage(cursor);
        if (page.kind !== 'events') break;
        expect(page.events.length).toBeLessThanOrEqual(1000);
        read += page.events.length;
        cursor = { position: page.position };
      }
      expect(read).toBe(2500);
    } finally {
      await big.close();
    }
  });
});
