/**
 * The production Campaign client against the emulator over HTTPS (the emulator's own CA, trusted
 * by the client's agent only): profiles, custom resources with links and hidden children,
 * collections, metadata and the privacy tool.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CampaignDuplicateKeyError } from '../../../src/connectors/campaign/campaign-error.js';
import { CampaignRecordSink } from '../../../src/connectors/campaign/campaign-record-sink.js';
import {
  connectorErrorOf,
  startCampaignTestBed,
  type CampaignTestBed,
} from '../../support/campaign-test-bed.js';

let bed: CampaignTestBed;

beforeAll(async () => {
  bed = await startCampaignTestBed();
});

afterAll(async () => {
  await bed.close();
});

beforeEach(() => {
  bed.emulator.admin.reset();
});

describe('profiles by externalId', () => {
  const live = { lane: 'live' } as const;
  /** The engine's path to profiles: the RecordSink over the client (externalId is a unique key). */
  const profileSink = () =>
    new CampaignRecordSink(bed.client, { resource: 'profile', keyField: 'externalId', keyIsUnique: true });

  it('finds by key, creates once, updates by PKey and by key; never a second record for one key', async () => {
    const { client, emulator } = bed;
    const sink = profileSink();
    expect(await client.findProfileByExternalId('contact-1')).toBeNull();
    expect(await sink.findByKey('contact-1', live)).toBeNull();
    const created = await sink.create(
      { externalId: 'contact-1', email: 'ann@example.com', lastName: 'Ann' },
      live,
    );
    if (!('pkey' in created)) throw new Error('expected a create');
    expect(await sink.update(created.pkey, { lastName: 'Annie' }, live)).toBe('ok');
    expect((await client.updateRecord('profile', 'contact-1', { firstName: 'A' })).PKey).toBe(created.pkey);
    expect(await sink.create({ externalId: 'contact-1', lastName: 'Twice' }, live)).toEqual({
      duplicate: true,
    });
    const found = await client.findProfileByExternalId('contact-1');
    expect(found).toMatchObject({
      PKey: created.pkey,
      externalId: 'contact-1',
      lastName: 'Annie',
      firstName: 'A',
    });
    expect(await sink.findByKey('contact-1', live)).toMatchObject({ pkey: created.pkey });
    expect(emulator.admin.countRecords('profile').total).toBe(1);
  });

  it('creates in one call when the key is unique (no look-up first), and still never duplicates', async () => {
    const { client, emulator } = bed;
    const sink = profileSink();
    emulator.admin.resetStats();
    const first = await sink.create({ externalId: 'contact-new', lastName: 'N' }, live);
    expect('pkey' in first).toBe(true);
    expect(emulator.admin.stats().requests).toBe(1);
    expect(await sink.create({ externalId: 'contact-new', lastName: 'M' }, live)).toEqual({
      duplicate: true,
    });
    expect((await client.findProfileByExternalId('contact-new'))?.lastName).toBe('N');
    expect(emulator.admin.countRecords('profile').total).toBe(1);
  });

  it('recovers from a lost create answer: the retry meets the duplicate key, finds the profile by key and updates it', async () => {
    const { client, emulator } = bed;
    const sink = profileSink();
    emulator.admin.seedProfiles({ records: [{ externalId: 'contact-2', lastName: 'Old' }] });
    expect(await sink.create({ externalId: 'contact-2', lastName: 'New' }, live)).toEqual({
      duplicate: true,
    });
    const existing = await sink.findByKey('contact-2', live);
    expect(existing).toMatchObject({ fields: { externalId: 'contact-2', lastName: 'Old' } });
    expect(await sink.update(existing!.pkey, { lastName: 'New' }, live)).toBe('ok');
    expect((await client.findProfileByExternalId('contact-2'))?.lastName).toBe('New');
    expect(emulator.admin.countRecords('profile').total).toBe(1);
  });

  it('maps a duplicate insert to CAMPAIGN_DUPLICATE_KEY with the constraint, not the value', async () => {
    const { client } = bed;
    await client.createProfile({ externalId: 'dup-1' });
    const error = await connectorErrorOf(client.createProfile({ externalId: 'dup-1' }));
    expect(error).toBeInstanceOf(CampaignDuplicateKeyError);
    expect(error).toMatchObject({
      code: 'CAMPAIGN_DUPLICATE_KEY',
      retryable: false,
      constraint: 'nmsrecipient_externalid',
      column: 'sexternalid',
    });
    expect(error.message).not.toContain('dup-1');
  });

  it('returns null for a missing profile and CAMPAIGN_NOT_FOUND for writes to it', async () => {
    const { client } = bed;
    const created = await client.createProfile({ email: 'gone@example.com' });
    await client.deleteProfile(created.PKey);
    expect(await client.getProfile(created.PKey)).toBeNull();
    expect(await connectorErrorOf(client.updateProfile(created.PKey, { lastName: 'x' }))).toMatchObject({
      code: 'CAMPAIGN_NOT_FOUND',
      status: 404,
      retryable: false,
    });
    expect(await connectorErrorOf(client.deleteProfile(created.PKey))).toMatchObject({
      code: 'CAMPAIGN_NOT_FOUND',
    });
  });

  it('maps validation failures to CAMPAIGN_REJECTED with Campaign codes and no values', async () => {
    const error = await connectorErrorOf(bed.client.createProfile({ externalId: 'v-1', gender: 'martian' }));
    expect(error).toMatchObject({ code: 'CAMPAIGN_REJECTED', status: 500, retryable: false });
    expect(error.message).toContain('RST-360011');
    // Campaign's reason names the field, never the value.
    expect(error.message).toContain("enumeration of the '@gender' field");
    expect(error.message).not.toContain('martian');
  });

  it('finds profiles by email and through the byExternalId filter', async () => {
    const { emulator } = bed;
    emulator.admin.seedProfiles({
      records: [
        { email: 'same@example.com', externalId: 'f-1' },
        { email: 'same@example.com' },
        { email: 'other@example.com' },
      ],
    });
    expect((await bed.client.findProfilesByEmail('same@example.com')).length).toBe(2);
    const filterClient = await startCampaignTestBed({ client: { profileLookup: 'filter' } });
    try {
      filterClient.emulator.admin.seedProfiles({ records: [{ externalId: 'f-9', lastName: 'Filter' }] });
      expect((await filterClient.client.findProfileByExternalId('f-9'))?.lastName).toBe('Filter');
      expect(await filterClient.client.findProfileByExternalId('f-10')).toBeNull();
    } finally {
      await filterClient.close();
    }
  });

  it('lists every profile by following next.href, and counts them', async () => {
    const { client, emulator } = bed;
    emulator.admin.seedProfiles({ foreign: 23 });
    const seen: string[] = [];
    for await (const profile of client.list('profile', {
      lineCount: 5,
      order: { field: 'email', descending: true },
    }))
      seen.push(profile.PKey);
    expect(seen.length).toBe(23);
    expect(new Set(seen).size).toBe(23);
    expect(await client.count('profile')).toBe(23);
    const first = await client.listPage('profile', { lineCount: 5 });
    expect(first.nextHref).toMatch(/_lineStart=%40|_lineStart=@/);
  });
});

describe('metadata for pre-flight checks', () => {
  it('reads fields, types, the identification key and links with cardinality and deletion', async () => {
    const { client } = bed;
    const profile = await client.describeResource('profile');
    expect(profile).toMatchObject({
      name: 'profile',
      schema: 'nms:recipient',
      root: 'profileAndServicesExt',
      keyFields: ['externalId'],
    });
    expect(profile.fields.externalId).toMatchObject({ type: 'string', length: 100, isKey: true });
    expect(profile.fields.blackListEmailLastModified).toMatchObject({ type: 'datetime', readOnly: true });
    expect(profile.fields.gender?.values).toEqual(['unknown', 'male', 'female']);
    const order = await client.describeResource('cusOrder');
    expect(order.keyFields).toEqual(['crmId']);
    expect(order.links.profile).toEqual({
      target: 'profile',
      cardinality: '1',
      onDelete: 'cascade',
      targetKey: 'externalId',
    });
    const note = await client.describeResource('cusNote');
    expect(note.links.profile).toMatchObject({ cardinality: '0..1', onDelete: 'none' });
    const store = await client.describeResource('cusStore');
    expect(store.root).toBe('customResources');
    expect(Object.keys(store.links)).toEqual([]);
  });
});

describe('custom resources and links', () => {
  it('hides a child whose 1-cardinality parent is missing from every read, refuses writes, and shows it when the parent lands', async () => {
    const { client, emulator } = bed;
    const order = await client.createRecord('cusOrder', {
      crmId: 'o-1',
      amount: 12.5,
      profile: { externalId: 'late-parent' },
    });
    expect(order.PKey).toMatch(/^@/);
    expect(await client.findByKey('cusOrder', 'o-1')).toBeNull();
    expect(await client.getRecord('cusOrder', order.PKey)).toBeNull();
    expect(await client.count('cusOrder')).toBe(0);
    expect(
      (await client.listPage('cusOrder', { filter: 'byCrmId', params: { crmId_parameter: 'o-1' } })).content,
    ).toEqual([]);
    expect(emulator.admin.countRecords('cusOrder')).toEqual({ visible: 0, hidden: 1, total: 1 });
    expect(await connectorErrorOf(client.updateRecord('cusOrder', order.PKey, { amount: 13 }))).toMatchObject(
      {
        code: 'CAMPAIGN_HIDDEN_OR_MISSING',
        retryable: false,
      },
    );
    expect(await connectorErrorOf(client.deleteRecord('cusOrder', 'o-1'))).toMatchObject({
      code: 'CAMPAIGN_HIDDEN_OR_MISSING',
    });
    expect(await connectorErrorOf(client.updateRecord('cusOrder', 'o-1', { amount: 14 }))).toMatchObject({
      code: 'CAMPAIGN_HIDDEN_OR_MISSING',
    });
    expect(await connectorErrorOf(client.createRecord('cusOrder', { crmId: 'o-1' }))).toMatchObject({
      code: 'CAMPAIGN_DUPLICATE_KEY',
    });

    const parent = await client.createProfile({ externalId: 'late-parent' });
    const visible = await client.findByKey('cusOrder', 'o-1');
    expect(visible).toMatchObject({ PKey: order.PKey, amount: 12.5, profile: { PKey: parent.PKey } });
    await client.updateRecord('cusOrder', 'o-1', { status: 'paid' });
    expect((await client.getRecord('cusOrder', order.PKey))?.status).toBe('paid');
  });

  it('keeps a 0..1 child visible without its parent and resolves the link when the parent arrives', async () => {
    const { client } = bed;
    const note = await client.createRecord('cusNote', {
      crmId: 'n-1',
      text: 'hello',
      profile: { externalId: 'p-later' },
    });
    expect(note.profile).toEqual({});
    expect(await client.count('cusNote')).toBe(1);
    await client.updateRecord('cusNote', 'n-1', { text: 'edited' });
    const parent = await client.createProfile({ externalId: 'p-later' });
    expect((await client.findByKey('cusNote', 'n-1'))?.profile).toMatchObject({ PKey: parent.PKey });
  });

  it('links by PKey, hides three levels deep, and cascades deletes along cascade links only', async () => {
    const { client, emulator } = bed;
    const profile = await client.createProfile({ externalId: 'p-1' });
    const order = await client.createRecord('cusOrder', { crmId: 'o-2', profile: { PKey: profile.PKey } });
    await client.createRecord('cusOrderLine', { crmId: 'l-1', sku: 'SKU-1', order: { PKey: order.PKey } });
    await client.createRecord('cusOrderLine', { crmId: 'l-2', sku: 'SKU-2', order: { crmId: 'o-missing' } });
    await client.createRecord('cusNote', { crmId: 'n-2', profile: { PKey: profile.PKey } });
    await client.createRecord('cusStore', { storeCode: 'S1', city: 'Oslo' });
    expect(await client.count('cusOrderLine')).toBe(1);
    expect(emulator.admin.countRecords('cusOrderLine').hidden).toBe(1);
    await client.deleteProfile(profile.PKey);
    expect(emulator.admin.countRecords('cusOrder').total).toBe(0);
    expect(emulator.admin.countRecords('cusOrderLine')).toEqual({ visible: 0, hidden: 1, total: 1 });
    expect(await client.count('cusNote')).toBe(1);
    expect(await client.findByKey('cusStore', 'S1')).toMatchObject({ city: 'Oslo' });
    expect(
      await connectorErrorOf(
        client.createRecord('cusOrder', { crmId: 'o-3', profile: { PKey: profile.PKey } }),
      ),
    ).toMatchObject({ code: 'CAMPAIGN_NOT_FOUND' });
  });

  it('serves the engine through the RecordSink port, with not-found as an outcome', async () => {
    const sink = new CampaignRecordSink(bed.client, {
      resource: 'cusOrder',
      keyField: 'crmId',
      keyIsUnique: true,
    });
    await bed.client.createProfile({ externalId: 'sink-p' });
    expect(await sink.findByKey('o-9', { lane: 'live' })).toBeNull();
    const created = await sink.create(
      { crmId: 'o-9', amount: 1, profile: { externalId: 'sink-p' } },
      { lane: 'bulk' },
    );
    if (!('pkey' in created)) throw new Error('expected a create');
    const { pkey } = created;
    // A second create of the same key is a duplicate outcome, not a second record.
    expect(
      await sink.create({ crmId: 'o-9', amount: 5, profile: { externalId: 'sink-p' } }, { lane: 'bulk' }),
    ).toEqual({
      duplicate: true,
    });
    expect(await sink.findByKey('o-9', { lane: 'live' })).toMatchObject({
      pkey,
      fields: { crmId: 'o-9', amount: 1 },
    });
    expect(await sink.update(pkey, { amount: 2 }, { lane: 'live' })).toBe('ok');
    expect(await sink.delete(pkey, { lane: 'live' })).toBe('ok');
    expect(await sink.update(pkey, { amount: 3 }, { lane: 'live' })).toBe('not-found');
    expect(await sink.delete(pkey, { lane: 'live' })).toBe('not-found');
    const profiles = new CampaignRecordSink(bed.client, {
      resource: 'profile',
      keyField: 'externalId',
      lookup: { filter: 'byExternalId', parameter: 'externalId_parameter' },
    });
    expect(await profiles.findByKey('sink-p', { lane: 'live' })).toMatchObject({
      fields: { externalId: 'sink-p' },
    });
  });
});

describe('privacy tool through the client', () => {
  it('creates a delete request and follows its status', async () => {
    const { client, emulator } = bed;
    emulator.admin.seedProfiles({ records: [{ externalId: 'priv-c', email: 'priv@example.com' }] });
    const request = await client.createPrivacyRequest({
      name: 'REQ-1',
      namespaceName: 'crmExternalId',
      reconciliationValue: 'priv-c',
      type: 'delete',
      regulation: 'gdpr',
    });
    expect(request.status).toBe('new');
    emulator.admin.advanceClock(300_000);
    expect((await client.getPrivacyRequest(request.PKey))?.status).toBe('complete');
    expect(await client.findProfileByExternalId('priv-c')).toBeNull();
    expect((await client.listPrivacyRequests()).map((r) => r.name)).toEqual(['REQ-1']);
    expect(
      await connectorErrorOf(
        client.createPrivacyRequest({
          name: 'REQ-1',
          namespaceName: 'crmExternalId',
          reconciliationValue: 'x',
          type: 'delete',
          regulation: 'gdpr',
        }),
      ),
    ).toMatchObject({ code: 'CAMPAIGN_DUPLICATE_KEY' });
  });
});
