/**
 * Timeline activities through the production Dataverse client and `$batch` codec against the
 * Dynamics emulator over HTTPS: custom activity rows with regarding contact and activity party,
 * duplicates (alternate key on the event id, or the activity id) and a bad part reported per event
 * with continue-on-error, and each service-protection limit's 429 read and waited out.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SeedFile } from '../../../emulators/dynamics/schema/seed-file.js';
import { DynamicsActivityWriter } from '../../../src/connectors/dynamics/dynamics-activity-writer.js';
import { DynamicsRecordWriter } from '../../../src/connectors/dynamics/dynamics-record-writer.js';
import type { DynamicsWebApiClient } from '../../../src/connectors/dynamics/dynamics-web-api-client.js';
import { RateLimitedError } from '../../../src/core/errors.js';
import type { TimelineActivity } from '../../../src/core/ports/timeline-activity-writer.js';
import { startDynamicsTestBed, type DynamicsTestBed } from '../../support/dynamics-test-bed.js';

const seedData: SeedFile = {
  tables: [
    {
      logicalName: 'adobe_emailopen',
      entitySetName: 'adobe_emailopens',
      changeTracking: false,
      isActivity: true,
      columns: [
        { name: 'adobe_eventid', type: 'string', maxLength: 100 },
        { name: 'adobe_campaignname', type: 'string', maxLength: 200 },
      ],
      keys: [{ name: 'adobe_eventidkey', columns: ['adobe_eventid'] }],
      rows: [],
    },
  ],
};

let bed: DynamicsTestBed;
let client: DynamicsWebApiClient;
let writer: DynamicsActivityWriter;

beforeAll(async () => {
  bed = await startDynamicsTestBed({ seedData });
  client = bed.createClient();
  writer = new DynamicsActivityWriter(new DynamicsRecordWriter(client), { batch: { initial: 3, max: 3 } });
});

afterAll(async () => {
  await bed.close();
});

beforeEach(() => {
  // A client per test: its pacer learns the server's limits from the answers, and the limits
  // below change under it from one test to the next (a real tenant's do not).
  client = bed.createClient();
  writer = new DynamicsActivityWriter(new DynamicsRecordWriter(client), { batch: { initial: 3, max: 3 } });
  bed.emulator.admin.reset();
  bed.emulator.admin.configureLimits({
    requests: 6000,
    executionTimeMs: 1_200_000,
    windowMs: 300_000,
    concurrency: 52,
    writeExecutionMs: 0,
  });
  bed.emulator.admin.resetLimitWindows();
});

let counter = 0;
function activityFor(contactId: string, eventId = `ev-${++counter}`): TimelineActivity {
  const hex = counter.toString(16).padStart(12, '0');
  return {
    eventId,
    table: 'adobe_emailopen',
    entitySetName: 'adobe_emailopens',
    activityId: `00000000-0000-4000-8000-${hex}`,
    contactId,
    values: {
      subject: `Opened: OP1 / DM1`,
      actualend: '2026-03-01T10:00:00Z',
      adobe_eventid: eventId,
      adobe_campaignname: 'OP1',
    },
  };
}

describe('activity rows through $batch', () => {
  it('creates completed activities regarding the contact, with the contact as party; IsActivity in metadata', async () => {
    const contact = bed.emulator.admin.createContact({ firstname: 'Ada', lastname: 'Lovelace' })
      .contactid as string;
    const activities = [activityFor(contact), activityFor(contact)];
    const outcomes = await writer.writeActivities(activities);
    expect(outcomes).toEqual(
      activities.map((a) => ({ eventId: a.eventId, outcome: 'created', activityId: a.activityId })),
    );

    const row = bed.emulator.admin.getRow('adobe_emailopen', activities[0]!.activityId)!;
    expect(row).toMatchObject({
      subject: 'Opened: OP1 / DM1',
      regardingobjectid: contact,
      statecode: 1,
      statuscode: 2,
      actualend: '2026-03-01T10:00:00Z',
      activitytypecode: 'adobe_emailopen',
      adobe_eventid: activities[0]!.eventId,
    });
    const parties = bed.emulator.admin
      .listRows('activityparty')
      .filter((p) => p.activityid === activities[0]!.activityId);
    expect(parties).toEqual([expect.objectContaining({ partyid: contact, participationtypemask: 11 })]);

    const metadata = await client.request({
      method: 'GET',
      path: "EntityDefinitions(LogicalName='adobe_emailopen')",
      query: { $select: 'IsActivity,PrimaryIdAttribute' },
    });
    expect(metadata.body).toMatchObject({ IsActivity: true, PrimaryIdAttribute: 'activityid' });
    const read = await client.request({
      method: 'GET',
      path: `adobe_emailopens(${activities[0]!.activityId})`,
      query: { $select: '_regardingobjectid_value' },
    });
    expect(read.body).toMatchObject({ _regardingobjectid_value: contact });
  });

  it('reports a second create of the same event as duplicate (alternate key or activity id), and a bad part as failed, without stopping the batch', async () => {
    const contact = bed.emulator.admin.createContact({ lastname: 'Hopper' }).contactid as string;
    const first = activityFor(contact);
    expect((await writer.writeActivities([first]))[0]?.outcome).toBe('created');

    const sameEventNewId = { ...activityFor(contact, first.eventId) };
    const sameId = { ...first };
    const missingContact = activityFor('4b1c0d3e-0000-4000-8000-00000000dead');
    const fine = activityFor(contact);
    const outcomes = await writer.writeActivities([sameEventNewId, sameId, missingContact, fine]);
    expect(outcomes.map((o) => o.outcome)).toEqual(['duplicate', 'duplicate', 'failed', 'created']);
    expect(outcomes[2]).toMatchObject({ outcome: 'failed', code: 'DYNAMICS_NOT_FOUND', retryable: false });
    expect(bed.emulator.admin.listRows('adobe_emailopen')).toHaveLength(2);
  });

  it('deleting the contact deletes its activities and their parties', async () => {
    const contact = bed.emulator.admin.createContact({ lastname: 'Noether' }).contactid as string;
    const activity = activityFor(contact);
    await writer.writeActivities([activity]);
    bed.emulator.admin.deleteContact(contact);
    expect(bed.emulator.admin.listRows('adobe_emailopen')).toHaveLength(0);
    expect(bed.emulator.admin.listRows('activityparty')).toHaveLength(0);
  });
});

describe('service protection: each limit answers its 429 and the client waits it out', () => {
  it('requests (0x80072322): the batch is refused whole, with Retry-After; outcomes say retryable', async () => {
    const contact = bed.emulator.admin.createContact({ lastname: 'Curie' }).contactid as string;
    bed.emulator.admin.configureLimits({ requests: 1, windowMs: 2000 });
    await writer.writeActivities([activityFor(contact)]);
    const before = client.stats().throttledBy.requests;
    const refused = await writer.writeActivities([
      activityFor(contact),
      activityFor(contact),
      activityFor(contact),
      activityFor(contact),
    ]);
    expect(refused.map((o) => o.outcome)).toEqual(['failed', 'failed', 'failed', 'failed']);
    expect(refused[0]).toMatchObject({ code: 'DYNAMICS_RATE_LIMITED', retryable: true });
    expect(refused[0]?.outcome === 'failed' && refused[0].retryAfterMs).toBeGreaterThan(0);
    expect(refused[0]?.outcome === 'failed' && refused[0].message).toMatch(/0x80072322/);
    expect(client.stats().throttledBy.requests).toBe(before + 1);
  });

  it('execution time (0x80072321): charged per write, refused once the window holds more', async () => {
    const contact = bed.emulator.admin.createContact({ lastname: 'Meitner' }).contactid as string;
    bed.emulator.admin.configureLimits({ executionTimeMs: 1000, windowMs: 2000, writeExecutionMs: 400 });
    const first = await writer.writeActivities([
      activityFor(contact),
      activityFor(contact),
      activityFor(contact),
    ]);
    expect(first.map((o) => o.outcome)).toEqual(['created', 'created', 'created']);
    const error = await client
      .request({ method: 'GET', path: 'contacts', query: { $top: '1' }, retryable: false })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).message).toMatch(/0x80072321/);
    expect((error as RateLimitedError).retryAfterMs).toBeGreaterThan(0);
    expect(client.stats().throttledBy.executionTime).toBeGreaterThan(0);
  });

  it('concurrency (0x80072326): refused at once beyond the limit, with Retry-After 1 s', async () => {
    bed.emulator.admin.configureLimits({ concurrency: 1 });
    bed.emulator.admin.configureFaults({ latencyMs: 300 });
    try {
      const throttledBefore = client.stats().throttledBy.concurrency;
      const results = await Promise.allSettled(
        [0, 1, 2].map(() =>
          client.request({ method: 'GET', path: 'contacts', query: { $top: '1' }, retryable: false }),
        ),
      );
      const refused = results
        .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
        .map((r): unknown => r.reason);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]).toBeInstanceOf(RateLimitedError);
      expect((refused[0] as RateLimitedError).message).toMatch(/0x80072326/);
      expect((refused[0] as RateLimitedError).retryAfterMs).toBe(1000);
      expect(client.stats().throttledBy.concurrency).toBeGreaterThan(throttledBefore);
    } finally {
      bed.emulator.admin.resetFaults();
    }
  });

  it('a read refused with 429 is sent again after the Retry-After and succeeds', async () => {
    const before = client.stats();
    bed.emulator.admin.throttleNext(1, 1);
    const response = await client.request({ method: 'GET', path: 'contacts', query: { $top: '1' } });
    expect(response.status).toBe(200);
    expect(client.stats()).toMatchObject({ throttled: before.throttled + 1, retries: before.retries + 1 });
  });
});
