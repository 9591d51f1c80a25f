/**
 * The production Dynamics client against the emulator over real HTTPS (trusting the emulator's CA
 * through `caCert` only): token handling, change reading, writes, metadata, and every error path.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { RateLimitedError } from '../../../src/core/errors.js';
import {
  DynamicsChangeReader,
  type DynamicsChangePage,
} from '../../../src/connectors/dynamics/dynamics-change-reader.js';
import { DeltaTokenExpiredError } from '../../../src/connectors/dynamics/dynamics-errors.js';
import {
  DynamicsMetadataReader,
  assertChangeTracking,
  checkColumns,
} from '../../../src/connectors/dynamics/dynamics-metadata-reader.js';
import { DynamicsRecordWriter } from '../../../src/connectors/dynamics/dynamics-record-writer.js';
import type { DynamicsTokenProvider } from '../../../src/connectors/dynamics/dynamics-token-provider.js';
import { DynamicsWebApiClient } from '../../../src/connectors/dynamics/dynamics-web-api-client.js';
import { buildContact, membershipSeed } from '../../support/dynamics-builders.js';
import {
  collectPages,
  contactRead,
  expectConnectorRejection,
  startDynamicsTestBed,
  type DynamicsTestBed,
} from '../../support/dynamics-test-bed.js';
import { SkippingClock } from '../../support/skipping-clock.js';

let bed: DynamicsTestBed;

beforeAll(async () => {
  bed = await startDynamicsTestBed({ contacts: 40, seed: 11, seedData: membershipSeed });
});

afterAll(async () => {
  await bed.close();
});

beforeEach(() => {
  bed.emulator.admin.resetFaults();
  bed.emulator.admin.resetLimitWindows();
  bed.emulator.admin.settings.omitDeltaLink = false;
});

describe('tokens', () => {
  it('acquires a token through MSAL with the emulator as authority and caches it', async () => {
    const client = bed.createClient();
    await client.request({ method: 'GET', path: 'WhoAmI' });
    await client.request({ method: 'GET', path: 'WhoAmI' });
    expect((client.tokenSource as DynamicsTokenProvider).tokensAcquired).toBe(1);
  });

  it('refreshes once and replays after a 401 from a revoked token, also for writes', async () => {
    const client = bed.createClient();
    const writer = new DynamicsRecordWriter(client);
    const id = bed.emulator.admin.createContact(buildContact()).contactid as string;
    await client.request({ method: 'GET', path: 'WhoAmI' });
    bed.emulator.admin.revokeTokens();
    await writer.updateRecord('contacts', id, { donotemail: true });
    expect(bed.emulator.admin.getContact(id)?.donotemail).toBe(true);
    expect(client.stats().unauthorizedReplays).toBe(1);
    expect((client.tokenSource as DynamicsTokenProvider).tokensAcquired).toBe(2);
  });

  it('refreshes before expiry, single-flight for concurrent callers', async () => {
    bed.emulator.admin.setTokenLifetime(4);
    try {
      const clock = new ManualClock(Date.now());
      const client = bed.createClient({ clock });
      await client.request({ method: 'GET', path: 'WhoAmI' });
      // Refreshed a quarter of the lifetime before expiry: after 3 s. Client and emulator move on
      // 3.6 s together; the first token is still good at the emulator, so no 401 forces the refresh.
      clock.advance(3600);
      bed.emulator.admin.clock.advance(3600);
      await Promise.all(Array.from({ length: 6 }, () => client.request({ method: 'GET', path: 'WhoAmI' })));
      expect((client.tokenSource as DynamicsTokenProvider).tokensAcquired).toBe(2);
      expect(client.stats().unauthorizedReplays).toBe(0);
    } finally {
      bed.emulator.admin.setTokenLifetime(3599);
    }
  });

  it('reports a wrong secret as a non-retryable Entra error without the secret in the message', async () => {
    const client = bed.createClient({ clientSecret: 'wrong-secret-value' });
    const error = await expectConnectorRejection(client.request({ method: 'GET', path: 'WhoAmI' }));
    expect(error.target).toBe('entra');
    expect(error.code).toBe('ENTRA_INVALID_CLIENT');
    expect(error.retryable).toBe(false);
    expect(error.message).not.toContain('wrong-secret-value');
  });

  it('does not trust the emulator without its CA (the CA is per connection, not process-wide)', async () => {
    const options = bed.clientOptions({ maxReadAttempts: 1 });
    delete options.caCert;
    const client = new DynamicsWebApiClient(options);
    try {
      const error = await expectConnectorRejection(client.request({ method: 'GET', path: 'WhoAmI' }));
      expect(error.target).toBe('entra');
    } finally {
      await client.close();
    }
  });
});

describe('change reader', () => {
  it('reads the initial sync page by page, then deltas with updates and deletes', async () => {
    const client = bed.createClient();
    const reader = new DynamicsChangeReader(client);
    const initial = await collectPages(reader.readChanges({ ...contactRead, pageSize: 15 }));
    const total = bed.emulator.admin.countRows('contact');
    expect(initial.map((p) => p.isFinal)).toEqual([
      ...Array.from({ length: initial.length - 1 }, () => false),
      true,
    ]);
    expect(initial.every((p) => p.isInitialSync)).toBe(true);
    expect(initial.flatMap((p) => p.upserts)).toHaveLength(total);
    const row = initial[0]!.upserts[0]!;
    expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(row.versionNumber).toBeGreaterThan(0);
    expect(row.modifiedOn).toMatch(/Z$/);
    expect(Object.keys(row.columns).sort()).toEqual([
      'contactid',
      'donotemail',
      'firstname',
      'modifiedon',
      'versionnumber',
    ]);

    const [first, second] = bed.emulator.admin.listIds('contact');
    bed.emulator.admin.updateContact(first!, { donotemail: true });
    bed.emulator.admin.deleteContact(second!);
    const delta = await collectPages(
      reader.readChanges({ ...contactRead, resumeLink: initial.at(-1)!.resumeLink }),
    );
    expect(delta).toHaveLength(1);
    expect(delta[0]!.isInitialSync).toBe(false);
    expect(delta[0]!.upserts.map((r) => [r.id, r.columns.donotemail])).toEqual([[first, true]]);
    expect(delta[0]!.deletes).toEqual([second]);
  });

  it('resumes an interrupted initial sync from the saved next link without reading pages twice', async () => {
    const client = bed.createClient();
    const reader = new DynamicsChangeReader(client);
    const firstTwo: DynamicsChangePage[] = [];
    for await (const page of reader.readChanges({ ...contactRead, pageSize: 10 })) {
      firstTwo.push(page);
      if (firstTwo.length === 2) break;
    }
    const rest = await collectPages(
      reader.readChanges({ ...contactRead, resumeLink: firstTwo[1]!.resumeLink }),
    );
    const ids = [...firstTwo, ...rest].flatMap((p) => p.upserts.map((r) => r.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(bed.emulator.admin.countRows('contact'));
    expect(rest.at(-1)!.isFinal).toBe(true);
  });

  it('turns an expired delta link into DeltaTokenExpiredError', async () => {
    const client = bed.createClient();
    const reader = new DynamicsChangeReader(client);
    const initial = await collectPages(reader.readChanges(contactRead));
    bed.emulator.admin.expireDeltaTokens();
    const error = await expectConnectorRejection(
      collectPages(reader.readChanges({ ...contactRead, resumeLink: initial.at(-1)!.resumeLink })),
    );
    expect(error).toBeInstanceOf(DeltaTokenExpiredError);
    expect(error.code).toBe('DYNAMICS_DELTA_EXPIRED');
    expect(error.retryable).toBe(false);
    expect(client.stats().retries).toBe(0);
  });

  it('reports a table without change tracking with a typed, non-retryable error', async () => {
    const reader = new DynamicsChangeReader(bed.createClient());
    const error = await expectConnectorRejection(
      collectPages(
        reader.readChanges({
          entitySetName: 'new_untrackeds',
          primaryIdAttribute: 'new_untrackedid',
          select: ['new_code'],
        }),
      ),
    );
    expect(error.code).toBe('DYNAMICS_CHANGE_TRACKING_DISABLED');
    expect(error.retryable).toBe(false);
  });

  it('treats a last page without a delta link as an error', async () => {
    bed.emulator.admin.settings.omitDeltaLink = true;
    const reader = new DynamicsChangeReader(bed.createClient());
    const error = await expectConnectorRejection(collectPages(reader.readChanges(contactRead)));
    expect(error.code).toBe('DYNAMICS_DELTA_LINK_MISSING');
  });

  it('refuses to follow a link to another origin', async () => {
    const reader = new DynamicsChangeReader(bed.createClient());
    const error = await expectConnectorRejection(
      collectPages(
        reader.readChanges({
          ...contactRead,
          resumeLink: 'https://attacker.example/api/data/v9.2/contacts?$deltatoken=1',
        }),
      ),
    );
    expect(error.code).toBe('DYNAMICS_UNSAFE_LINK');
  });

  it('reads custom rows with their lookup columns', async () => {
    const reader = new DynamicsChangeReader(bed.createClient());
    const pages = await collectPages(
      reader.readChanges({
        entitySetName: 'new_memberships',
        primaryIdAttribute: 'new_membershipid',
        select: ['new_name', '_new_contactid_value'],
      }),
    );
    const rows = pages.flatMap((p) => p.upserts);
    expect(rows.length).toBe(bed.emulator.admin.countRows('new_membership'));
    expect(rows.some((r) => typeof r.columns._new_contactid_value === 'string')).toBe(true);
  });
});

describe('throttling and faults', () => {
  it('honours Retry-After on 429 for reads and succeeds', async () => {
    const clock = new SkippingClock();
    const client = bed.createClient({ clock });
    await client.request({ method: 'GET', path: 'WhoAmI' });
    bed.emulator.admin.throttleNext(1, 1);
    const started = clock.now();
    await client.request({ method: 'GET', path: 'WhoAmI' });
    expect(clock.now() - started).toBeGreaterThanOrEqual(1000);
    expect(client.stats()).toMatchObject({ throttled: 1, retries: 1 });
  });

  it('does not retry a throttled write; the error carries retryAfterMs and holds later requests back', async () => {
    const clock = new ManualClock(Date.now());
    const client = bed.createClient({ clock });
    const writer = new DynamicsRecordWriter(client);
    const id = bed.emulator.admin.createContact(buildContact()).contactid as string;
    await client.request({ method: 'GET', path: 'WhoAmI' });
    bed.emulator.admin.throttleNext(1, 1);
    const error = await expectConnectorRejection(writer.updateRecord('contacts', id, { donotemail: true }));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBe(1000);
    expect(error.code).toBe('DYNAMICS_RATE_LIMITED');
    bed.emulator.admin.resetStats();
    const later = writer.updateRecord('contacts', id, { donotemail: true });
    // Held back on the client's clock: nothing reaches the server until the Retry-After has passed.
    await expect.poll(() => clock.sleeping).toBe(1);
    expect(bed.emulator.admin.stats().total).toBe(0);
    clock.advance(999);
    await expect.poll(() => clock.sleeping).toBe(1);
    expect(bed.emulator.admin.stats().total).toBe(0);
    clock.advance(1);
    await later;
    expect(bed.emulator.admin.stats().total).toBe(1);
    expect(bed.emulator.admin.getContact(id)?.donotemail).toBe(true);
    expect(client.stats().retries).toBe(0);
  });

  it('retries a read after a 5xx but surfaces a 5xx on a write as retryable', async () => {
    const clock = new SkippingClock();
    const client = bed.createClient({ clock });
    await client.request({ method: 'GET', path: 'WhoAmI' });
    bed.emulator.admin.configureFaults({ errorNext: 1, errorStatus: 503, pathPattern: '^/api/' });
    const started = clock.now();
    await client.request({ method: 'GET', path: 'WhoAmI' });
    expect(client.stats().retries).toBe(1);
    // Backed off by the read retry policy: 0.5 s with equal jitter, on the client's clock.
    expect(clock.now() - started).toBeGreaterThanOrEqual(250);
    expect(clock.now() - started).toBeLessThanOrEqual(500);
    bed.emulator.admin.configureFaults({ errorNext: 1, errorStatus: 503, pathPattern: '^/api/' });
    const error = await expectConnectorRejection(
      new DynamicsRecordWriter(client).createRecord('contacts', { lastname: 'X' }),
    );
    expect(error.code).toBe('DYNAMICS_HTTP_503');
    expect(error.retryable).toBe(true);
  });

  it('retries a read whose connection was dropped; a dropped write is a retryable network error', async () => {
    const client = bed.createClient({ clock: new SkippingClock() });
    await client.request({ method: 'GET', path: 'WhoAmI' });
    bed.emulator.admin.configureFaults({ dropNext: 1, pathPattern: '^/api/' });
    await client.request({ method: 'GET', path: 'WhoAmI' });
    expect(client.stats().retries).toBe(1);
    bed.emulator.admin.configureFaults({ dropNext: 1, pathPattern: '^/api/' });
    const error = await expectConnectorRejection(
      new DynamicsRecordWriter(client).createRecord('contacts', { lastname: 'Dropped' }),
    );
    expect(error.code).toBe('DYNAMICS_NETWORK');
    expect(error.retryable).toBe(true);
  });

  it('aborts a hung request after the timeout and reports it as retryable', async () => {
    const client = bed.createClient({ timeoutMs: 300, maxReadAttempts: 2, clock: new SkippingClock() });
    await client.request({ method: 'GET', path: 'WhoAmI' });
    bed.emulator.admin.configureFaults({ hangNext: 1, pathPattern: '^/api/' });
    await client.request({ method: 'GET', path: 'WhoAmI' });
    expect(client.stats().retries).toBe(1);
    bed.emulator.admin.configureFaults({ hangNext: 1, pathPattern: '^/api/' });
    const error = await expectConnectorRejection(
      new DynamicsRecordWriter(client).createRecord('contacts', { lastname: 'Hung' }),
    );
    expect(error.code).toBe('DYNAMICS_TIMEOUT');
    expect(error.retryable).toBe(true);
  });

  it('gives up on reads after maxReadAttempts and never retries non-retryable errors', async () => {
    const client = bed.createClient({ maxReadAttempts: 2, clock: new SkippingClock() });
    await client.request({ method: 'GET', path: 'WhoAmI' });
    bed.emulator.admin.configureFaults({ errorNext: 5, errorStatus: 500, pathPattern: '^/api/' });
    const error = await expectConnectorRejection(client.request({ method: 'GET', path: 'WhoAmI' }));
    expect(error.code).toBe('DYNAMICS_HTTP_500');
    expect(client.stats().retries).toBe(1);
    bed.emulator.admin.resetFaults();
    const notFound = await expectConnectorRejection(
      client.request({ method: 'GET', path: 'contacts(00000000-0000-0000-0000-00000000abcd)' }),
    );
    expect(notFound.code).toBe('DYNAMICS_NOT_FOUND');
    expect(client.stats().retries).toBe(1);
  });

  it('caps concurrency at maxConcurrency', async () => {
    const client = bed.createClient({ maxConcurrency: 2 });
    await client.request({ method: 'GET', path: 'WhoAmI' });
    bed.emulator.admin.resetStats();
    bed.emulator.admin.configureFaults({ latencyMs: 40, pathPattern: '^/api/' });
    await Promise.all(Array.from({ length: 10 }, () => client.request({ method: 'GET', path: 'WhoAmI' })));
    expect(bed.emulator.admin.stats().peakConcurrency).toBe(2);
  });

  it('paces to the request window so a scaled-down limit is not tripped', async () => {
    bed.emulator.admin.configureLimits({ requests: 20, windowMs: 1000 });
    try {
      // The client waits on its clock and the emulator's moves on with it: pacing costs no real time.
      const clock = new SkippingClock(Date.now(), [bed.emulator.admin.clock]);
      const client = bed.createClient({ requestsPer5Min: 20, requestWindowMs: 1000, clock });
      const reader = new DynamicsChangeReader(client);
      bed.emulator.admin.resetStats();
      const started = clock.now();
      const pages = await collectPages(reader.readChanges({ ...contactRead, pageSize: 1 }));
      expect(pages.flatMap((p) => p.upserts)).toHaveLength(bed.emulator.admin.countRows('contact'));
      const sent = bed.emulator.admin.stats().total;
      expect(sent).toBeGreaterThan(20);
      // At most 20 requests per window: the client waited a window for each further 20.
      expect(clock.now() - started).toBeGreaterThanOrEqual(Math.floor((sent - 1) / 20) * 1000);
      expect(bed.emulator.admin.stats().throttled).toBe(0);
      expect(client.stats().throttled).toBe(0);
    } finally {
      bed.emulator.admin.configureLimits({ requests: 6000, windowMs: 300_000 });
    }
  });

  it('stops at the daily budget with a RateLimitedError instead of sending', async () => {
    const client = bed.createClient({ requestsPerDay: 2, maxPacingWaitMs: 1000 });
    await client.request({ method: 'GET', path: 'WhoAmI' });
    await client.request({ method: 'GET', path: 'WhoAmI' });
    bed.emulator.admin.resetStats();
    const error = await expectConnectorRejection(client.request({ method: 'GET', path: 'WhoAmI' }));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.code).toBe('DYNAMICS_BUDGET_EXHAUSTED');
    expect(bed.emulator.admin.stats().total).toBe(0);
    expect(client.stats().retries).toBe(0);
  });
});

describe('writer', () => {
  it('creates, reads, updates with etag concurrency and deletes', async () => {
    const writer = new DynamicsRecordWriter(bed.createClient());
    const id = await writer.createRecord('contacts', { firstname: 'Writer', lastname: 'Test' });
    const row = await writer.getRecord('contacts', id, ['firstname', 'donotemail']);
    expect(row).toMatchObject({ id, columns: { firstname: 'Writer', donotemail: false } });
    await writer.updateRecord('contacts', id, { donotemail: true }, { ifMatch: row!.etag! });
    const stale = await expectConnectorRejection(
      writer.updateRecord('contacts', id, { donotbulkemail: true }, { ifMatch: row!.etag! }),
    );
    expect(stale.code).toBe('DYNAMICS_PRECONDITION_FAILED');
    expect(stale.status).toBe(412);
    const exists = await expectConnectorRejection(
      writer.upsertRecord('contacts', id, { lastname: 'Again' }, { createOnly: true }),
    );
    expect(exists.code).toBe('DYNAMICS_ALREADY_EXISTS');
    await writer.deleteRecord('contacts', id);
    expect(await writer.getRecord('contacts', id)).toBeUndefined();
    const missing = await expectConnectorRejection(
      writer.updateRecord('contacts', id, { donotemail: false }),
    );
    expect(missing.code).toBe('DYNAMICS_NOT_FOUND');
    expect(bed.emulator.admin.getContact(id)).toBeUndefined();
  });

  it('writes lookups with @odata.bind and deletes change history', async () => {
    const writer = new DynamicsRecordWriter(bed.createClient());
    const contactId = bed.emulator.admin.createContact(buildContact()).contactid as string;
    const membership = await writer.createRecord('new_memberships', {
      new_name: 'Silver',
      'new_ContactId@odata.bind': `/contacts(${contactId})`,
    });
    expect(bed.emulator.admin.getRow('new_membership', membership)?.new_contactid).toBe(contactId);
    await writer.updateRecord('contacts', contactId, { jobtitle: 'One' });
    expect(await writer.deleteRecordChangeHistory('contact', 'contactid', contactId)).toBe(2);
    expect(await writer.deleteRecordChangeHistory('contact', 'contactid', contactId)).toBe(0);
  });

  it('runs $batch updates with per-part results', async () => {
    const writer = new DynamicsRecordWriter(bed.createClient());
    const ids = [buildContact(), buildContact(), buildContact()].map(
      (c) => bed.emulator.admin.createContact(c).contactid as string,
    );
    const missing = '00000000-0000-0000-0000-00000000dead';
    const results = await writer.updateRecords(
      'contacts',
      [...ids, missing].map((id) => ({ id, values: { donotbulkemail: true } })),
      { batchSize: 2 },
    );
    expect(results.map((r) => [r.index, r.ok, r.status, r.error?.code])).toEqual([
      [0, true, 204, undefined],
      [1, true, 204, undefined],
      [2, true, 204, undefined],
      [3, false, 404, 'DYNAMICS_NOT_FOUND'],
    ]);
    for (const id of ids) expect(bed.emulator.admin.getContact(id)?.donotbulkemail).toBe(true);
  });

  it('rolls back a change set when one part fails', async () => {
    const writer = new DynamicsRecordWriter(bed.createClient());
    const id = bed.emulator.admin.createContact(buildContact()).contactid as string;
    const before = bed.emulator.admin.getContact(id)!;
    const results = await writer.executeBatch(
      [
        {
          method: 'PATCH',
          path: `contacts(${id})`,
          headers: { 'If-Match': '*' },
          json: { donotemail: true },
        },
        {
          method: 'PATCH',
          path: 'contacts(00000000-0000-0000-0000-00000000beef)',
          headers: { 'If-Match': '*' },
          json: { donotemail: true },
        },
      ],
      { atomic: true },
    );
    expect(results.map((r) => [r.ok, r.error?.code])).toEqual([
      [false, 'DYNAMICS_BATCH_ROLLED_BACK'],
      [false, 'DYNAMICS_NOT_FOUND'],
    ]);
    expect(bed.emulator.admin.getContact(id)).toEqual(before);
  });
});

describe('metadata', () => {
  it('reads table metadata with attributes and lookups, and checks columns', async () => {
    const metadata = new DynamicsMetadataReader(bed.createClient());
    const membership = await metadata.getTableMetadata('new_membership');
    expect(membership).toMatchObject({
      changeTrackingEnabled: true,
      entitySetName: 'new_memberships',
      primaryIdAttribute: 'new_membershipid',
    });
    expect(membership.lookups).toEqual([
      { attribute: 'new_contactid', navigationProperty: 'new_ContactId', target: 'contact' },
    ]);
    const contact = await metadata.requireChangeTracking('contact');
    expect(
      checkColumns(contact, [
        { logicalName: 'donotemail', types: ['Boolean'] },
        { logicalName: 'emailaddress1', types: ['Boolean'] },
        { logicalName: 'msdyn_gdproptout', types: ['Boolean'] },
        { logicalName: '_parentcustomerid_value', types: ['Lookup', 'Customer'] },
      ]).map((f) => [f.column, f.problem]),
    ).toEqual([
      ['emailaddress1', 'incompatible-type'],
      ['msdyn_gdproptout', 'missing'],
    ]);
  });

  it('names the table and how to enable change tracking when it is off', async () => {
    const metadata = new DynamicsMetadataReader(bed.createClient());
    const untracked = await metadata.getTableMetadata('new_untracked');
    expect(() => assertChangeTracking(untracked)).toThrow(
      "Change tracking is not enabled on Dynamics table new_untracked. Enable 'Track changes' on table new_untracked in Power Apps (Tables → new_untracked → Properties → Advanced options) or set ChangeTrackingEnabled=true on EntityDefinitions.",
    );
    const missing = await expectConnectorRejection(metadata.getTableMetadata('new_nosuch'));
    expect(missing.code).toBe('DYNAMICS_TABLE_NOT_FOUND');
  });
});
