/**
 * The emulator against the documented examples (campaign-api.md §2, GH-ACS help/api/using/*),
 * with plain HTTPS requests: no production client involved.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  startCampaignEmulator,
  type CampaignEmulator,
} from '../../../emulators/campaign/campaign-emulator.js';
import { campaignTestSeed, RawCampaignCaller } from '../../support/campaign-test-bed.js';

const dateTime = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$/;
let emulator: CampaignEmulator;
let api: RawCampaignCaller;

beforeAll(async () => {
  emulator = await startCampaignEmulator({
    seedFile: campaignTestSeed,
    behaviour: { bigTableThreshold: 1000 },
  });
  api = new RawCampaignCaller(emulator);
});

afterAll(async () => {
  await api.close();
  await emulator.close();
});

beforeEach(() => {
  emulator.admin.reset();
});

type Json = Record<string, unknown>;

describe('IMS and the gateway', () => {
  it('issues client-credentials tokens with expires_in 86399', async () => {
    const answer = await api.send('POST', `${emulator.imsUrl}/ims/token/v3`, {
      body: 'grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret&scope=openid,AdobeID',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      auth: false,
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ token_type: 'bearer', expires_in: 86399 });
    expect(typeof (answer.json as Json).access_token).toBe('string');
  });

  it('refuses a wrong secret and a wrong grant', async () => {
    const send = (body: string) =>
      api.send('POST', `${emulator.imsUrl}/ims/token/v3`, {
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        auth: false,
      });
    expect(
      (await send('grant_type=client_credentials&client_id=demo-client&client_secret=nope')).json,
    ).toMatchObject({ error: 'invalid_client' });
    expect((await send('grant_type=password&client_id=demo-client&client_secret=demo-secret')).status).toBe(
      400,
    );
  });

  it('answers 401013 without a valid token or API key', async () => {
    const invalid = { error_code: '401013', message: 'Oauth token is not valid' };
    const noToken = await api.send('GET', '/profileAndServices/profile', { auth: false });
    expect(noToken.status).toBe(401);
    expect(noToken.json).toEqual(invalid);
    const badToken = await api.send('GET', '/profileAndServices/profile', {
      headers: { authorization: 'Bearer made-up' },
    });
    expect(badToken.json).toEqual(invalid);
    const otherKey = await api.send('GET', '/profileAndServices/profile', {
      headers: { 'x-api-key': 'someone-else' },
    });
    expect(otherKey.status).toBe(401);
    emulator.admin.expireTokens();
    expect((await api.send('GET', '/profileAndServices/profile')).status).toBe(401);
    await api.fetchToken();
  });

  it('answers the Oops body for an unknown organization', async () => {
    const answer = await api.send(
      'GET',
      emulator.url.replace(/demo-org$/, 'other-org') + '/campaign/profileAndServices/profile',
    );
    expect(answer.status).toBe(500);
    expect(answer.json).toEqual({
      code: 500,
      message: 'Oops. Something went wrong. Check your URI and try again.',
    });
  });
});

describe('profiles (creating-profiles, updating-profiles, verbs)', () => {
  it('creates with POST → 201 and the full profile with defaults', async () => {
    const answer = await api.send('POST', '/profileAndServices/profile', {
      body: { email: 'john.doe@mail.com' },
    });
    expect(answer.status).toBe(201);
    const profile = answer.json as Json;
    expect(profile.PKey).toMatch(/^@[A-Za-z0-9_-]{20,}$/);
    expect(profile).toMatchObject({
      email: 'john.doe@mail.com',
      gender: 'unknown',
      emailFormat: 'unknown',
      blackListEmail: false,
      ccpaOptOut: false,
      externalId: '',
    });
    expect(profile.created).toMatch(dateTime);
    expect(profile.lastModified).toMatch(dateTime);
    expect(profile.blackListEmailLastModified).toBe('');
  });

  it('reads by PKey (also with .json), PATCHes to {PKey, href}, DELETEs with 200, then 404 RST-360011', async () => {
    const created = (
      await api.send('POST', '/profileAndServices/profile', {
        body: { email: 'amy.dakota@mail.com', birthDate: '1980-10-24' },
      })
    ).json as Json;
    const pkey = created.PKey as string;
    const read = await api.send('GET', `/profileAndServices/profile/${pkey}.json`);
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ PKey: pkey, birthDate: '1980-10-24' });
    const patched = await api.send('PATCH', `/profileAndServices/profile/${pkey}`, {
      body: { phone: '3301020304' },
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toEqual({
      PKey: pkey,
      href: `${emulator.url}/campaign/profileAndServices/profile/${pkey}`,
    });
    expect(((await api.send('GET', `/profileAndServices/profile/${pkey}`)).json as Json).phone).toBe(
      '3301020304',
    );
    const deleted = await api.send('DELETE', `/profileAndServices/profile/${pkey}`);
    expect(deleted.status).toBe(200);
    const gone = await api.send('GET', `/profileAndServices/profile/${pkey}`);
    expect(gone.status).toBe(404);
    expect((gone.json as Json).message).toMatch(
      /^RST-360011 An error has occurred - please contact your administrator\. Unable to find document with path 'Profile'/,
    );
  });

  it('answers a malformed PKey with 500 XTK-170036, and PKeys are not guessable', async () => {
    const answer = await api.send('GET', '/profileAndServices/profile/@O5iRp40EGA');
    expect(answer.status).toBe(500);
    expect((answer.json as Json).message).toContain(
      "XTK-170036 Unable to parse expression '@id = @O5iRp40EGA'",
    );
    const a = (await api.send('POST', '/profileAndServices/profile', { body: {} })).json as Json;
    const b = (await api.send('POST', '/profileAndServices/profile', { body: {} })).json as Json;
    expect(String(a.PKey).slice(0, 12)).not.toBe(String(b.PKey).slice(0, 12));
  });

  it('validates types, lengths and enumerations like the real service', async () => {
    const tooLong = await api.send('POST', '/profileAndServicesExt/profile', {
      body: { externalId: 'x'.repeat(101) },
    });
    expect(tooLong.status).toBe(500);
    expect((tooLong.json as Json).message).toContain(
      'PGS-220000 PostgreSQL error: ERROR:  value too long for type character varying(100)',
    );
    expect(
      (await api.send('POST', '/profileAndServicesExt/profile', { body: { externalId: 'x'.repeat(100) } }))
        .status,
    ).toBe(201);
    const badEnum = await api.send('POST', '/profileAndServices/profile', { body: { gender: 'invalid' } });
    expect((badEnum.json as Json).message).toContain(
      "The value 'invalid' is not valid for the 'nms:recipient:gender' enumeration of the '@gender' field",
    );
    const readOnly = await api.send('POST', '/profileAndServices/profile', { body: { age: 3 } });
    expect((readOnly.json as Json).message).toContain("Cannot update the 'age' property that is read-only");
    expect(
      (await api.send('POST', '/profileAndServices/profile', { body: { birthDate: '1985-02-30' } })).status,
    ).toBe(500);
    expect(
      (await api.send('POST', '/profileAndServices/profile', { body: { email: 'not an email' } })).status,
    ).toBe(500);
  });
});

describe('the externalId custom key (profileAndServicesExt)', () => {
  it('reads, PATCHes and filters by externalId; duplicates fail with the PGS-220000 text', async () => {
    const created = (
      await api.send('POST', '/profileAndServicesExt/profile', {
        body: { externalId: 'c0ffee00-0000-4000-8000-000000000001', lastName: 'Doe' },
      })
    ).json as Json;
    const byKey = await api.send(
      'GET',
      '/profileAndServicesExt/profile/c0ffee00-0000-4000-8000-000000000001',
    );
    expect((byKey.json as Json).PKey).toBe(created.PKey);
    const patched = await api.send(
      'PATCH',
      '/profileAndServicesExt/profile/c0ffee00-0000-4000-8000-000000000001',
      { body: { firstName: 'Jane' } },
    );
    expect((patched.json as Json).PKey).toBe(created.PKey);
    const byFilter = await api.send(
      'GET',
      '/profileAndServicesExt/profile/byExternalId?externalId_parameter=c0ffee00-0000-4000-8000-000000000001',
    );
    expect(((byFilter.json as Json).content as Json[]).map((p) => p.firstName)).toEqual(['Jane']);
    // KA-15086: PATCH on the collection with the business key in the body updates that profile.
    await api.send('PATCH', '/profileAndServicesExt/profile', {
      body: { externalId: 'c0ffee00-0000-4000-8000-000000000001', middleName: 'Q' },
    });
    expect(
      ((await api.send('GET', `/profileAndServicesExt/profile/${created.PKey as string}`)).json as Json)
        .middleName,
    ).toBe('Q');
    const duplicate = await api.send('POST', '/profileAndServicesExt/profile', {
      body: { externalId: 'c0ffee00-0000-4000-8000-000000000001' },
    });
    expect(duplicate.status).toBe(500);
    expect((duplicate.json as Json).message).toBe(
      "A 'Profile' with the same key 'c0ffee00-0000-4000-8000-000000000001' already exists. PGS-220000 PostgreSQL error: ERROR:  duplicate key value violates unique constraint \"nmsrecipient_externalid\" DETAIL:  Key (sexternalid)=(c0ffee00-0000-4000-8000-000000000001) already exists.",
    );
    const keyChange = await api.send('PATCH', `/profileAndServicesExt/profile/${created.PKey as string}`, {
      body: { externalId: 'other' },
    });
    expect((keyChange.json as Json).message).toContain('RST-360012');
  });

  it('does not take custom keys on /profileAndServices and lets foreign profiles share an empty externalId', async () => {
    await api.send('POST', '/profileAndServicesExt/profile', { body: { externalId: 'k-1' } });
    expect((await api.send('GET', '/profileAndServices/profile/k-1')).status).toBe(404);
    expect(
      (await api.send('POST', '/profileAndServices/profile', { body: { email: 'a@example.com' } })).status,
    ).toBe(201);
    expect(
      (await api.send('POST', '/profileAndServices/profile', { body: { email: 'b@example.com' } })).status,
    ).toBe(201);
  });
});

describe('opt-out attributes and engine calls', () => {
  it('stamps blackList*LastModified on every change of that attribute only', async () => {
    const created = (
      await api.send('POST', '/profileAndServicesExt/profile', {
        body: { externalId: 'opt-1', blackListEmail: true },
      })
    ).json as Json;
    expect(created.blackListEmailLastModified).toMatch(dateTime);
    expect(created.blackListAllLastModified).toBe(created.blackListEmailLastModified);
    expect(created.blackListPhoneLastModified).toBe('');
    emulator.admin.advanceClock(60_000);
    await api.send('PATCH', '/profileAndServicesExt/profile/opt-1', {
      body: { blackListEmail: true, firstName: 'Same opt-out' },
    });
    const unchanged = (await api.send('GET', '/profileAndServicesExt/profile/opt-1')).json as Json;
    expect(unchanged.blackListEmailLastModified).toBe(created.blackListEmailLastModified);
    await api.send('PATCH', '/profileAndServicesExt/profile/opt-1', {
      body: { blackListEmail: false, blackListPhone: true },
    });
    const changed = (await api.send('GET', '/profileAndServicesExt/profile/opt-1')).json as Json;
    expect(changed.blackListEmailLastModified).not.toBe(created.blackListEmailLastModified);
    expect(changed.blackListPhoneLastModified).toBe(changed.blackListEmailLastModified);
    emulator.admin.advanceClock(60_000);
    const edited = emulator.admin.editProfileAsOperator('opt-1', { blackListFax: true });
    expect(edited.values.blackListFaxLastModified).toMatch(dateTime);
    expect(edited.values.blackListFaxLastModified).not.toBe(changed.blackListPhoneLastModified);
    expect(Object.keys(edited.attributeModified).sort()).toEqual([
      'blackListEmail',
      'blackListFax',
      'blackListPhone',
    ]);
  });

  it('counts engine calls: insert 1, update 2 (1 when nothing changed), delete 1', async () => {
    emulator.admin.resetStats();
    const created = (
      await api.send('POST', '/profileAndServicesExt/profile', {
        body: { externalId: 'eng-1', lastName: 'A' },
      })
    ).json as Json;
    await api.send('PATCH', '/profileAndServicesExt/profile/eng-1', { body: { lastName: 'B' } });
    await api.send('PATCH', '/profileAndServicesExt/profile/eng-1', { body: { lastName: 'B' } });
    await api.send('GET', '/profileAndServicesExt/profile/eng-1');
    await api.send('DELETE', `/profileAndServicesExt/profile/${created.PKey as string}`);
    expect(emulator.admin.stats().engineCalls).toEqual({
      total: 5,
      insert: 1,
      update: 1,
      unchangedUpdate: 1,
      delete: 1,
    });
  });
});

describe('collections (filtering, sorting, pagination, counting)', () => {
  beforeEach(() => {
    emulator.admin.seedProfiles({
      records: [
        { email: 'amy.dakota@mail.com', lastName: 'Dakota' },
        { email: 'john.doe@mail.com', lastName: 'Doe' },
        { email: 'jane.summer@mail.com', lastName: 'Summer' },
        { email: 'doe.fan@mail.com', lastName: 'Fan' },
        { email: 'x@mail.com', lastName: 'doe' },
      ],
    });
  });

  it('filters byEmail and byText (case-sensitive prefix on email and last name)', async () => {
    const byEmail = await api.send('GET', '/profileAndServices/profile/byEmail?email=amy.dakota@mail.com');
    expect(((byEmail.json as Json).content as Json[]).map((p) => p.lastName)).toEqual(['Dakota']);
    const byText = await api.send('GET', '/profileAndServices/profile/byText?text=Doe');
    expect(((byText.json as Json).content as Json[]).map((p) => p.email)).toEqual(['john.doe@mail.com']);
    const lower = await api.send('GET', '/profileAndServices/profile/byText?text=doe');
    expect(((lower.json as Json).content as Json[]).map((p) => p.email)).toEqual([
      'doe.fan@mail.com',
      'x@mail.com',
    ]);
    const contains = await api.send('GET', '/profileAndServices/profile/byText?text=akota');
    expect((contains.json as Json).content).toEqual([]);
  });

  it('pages 25 by default and with _lineCount, through opaque _lineStart in next.href', async () => {
    emulator.admin.seedProfiles({ foreign: 25 });
    const first = (await api.send('GET', '/profileAndServices/profile')).json as Json;
    expect((first.content as Json[]).length).toBe(25);
    expect(first.serverSidePagination).toBe(true);
    const seen: string[] = [];
    let next: string | null = `${emulator.url}/campaign/profileAndServices/profile?_lineCount=7`;
    while (next) {
      const page = (await api.send('GET', next)).json as Json;
      seen.push(...(page.content as Json[]).map((p) => p.PKey as string));
      next = (page.next as { href: string } | undefined)?.href ?? null;
      if (next) expect(new URL(next).searchParams.get('_lineStart')).toMatch(/^@/);
    }
    expect(seen.length).toBe(30);
    expect(new Set(seen).size).toBe(30);
    const count = (await api.send('GET', first.count ? (first.count as { href: string }).href : '')).json;
    expect(count).toEqual({ count: 30 });
    expect((await api.send('GET', '/profileAndServices/profile?_lineStart=123')).status).toBe(400);
  });

  it('counts over the same filter and sorts with _order (desc too)', async () => {
    const count = await api.send('GET', '/profileAndServices/profile/byText/_count?text=doe');
    expect(count.json).toEqual({ count: 2 });
    const sorted = (await api.send('GET', '/profileAndServices/profile?_order=email%20desc&_lineCount=2'))
      .json as Json;
    expect((sorted.content as Json[]).map((p) => p.email)).toEqual(['x@mail.com', 'john.doe@mail.com']);
    const next = (sorted.next as { href: string }).href;
    expect(new URL(next).searchParams.get('_order')).toBe('email desc');
  });

  it('lists a single attribute as plain values', async () => {
    const answer = (await api.send('GET', '/profileAndServices/profile/email?_lineCount=2')).json as Json;
    expect(answer.content).toEqual(['amy.dakota@mail.com', 'john.doe@mail.com']);
    expect((answer.next as { href: string }).href).toContain('/profile/email?');
  });

  it('omits next on tables above XtkBigTableThreshold unless _forcePagination=true', async () => {
    const big = await startCampaignEmulator({ profiles: 12, behaviour: { bigTableThreshold: 10 } });
    const bigApi = new RawCampaignCaller(big);
    try {
      const plain = (await bigApi.send('GET', '/profileAndServices/profile?_lineCount=5')).json as Json;
      expect(plain.next).toBeUndefined();
      const forced = (
        await bigApi.send('GET', '/profileAndServices/profile?_lineCount=5&_forcePagination=true')
      ).json as Json;
      expect((forced.next as { href: string }).href).toContain('_forcePagination=true');
    } finally {
      await bigApi.close();
      await big.close();
    }
  });
});

describe('metadata (metadata-mechanism, filtering)', () => {
  it('describes the profile resource, its filters and custom resources with links', async () => {
    const profile = (await api.send('GET', '/profileAndServices/resourceType/profile')).json as Json;
    expect(profile).toMatchObject({
      name: 'profile',
      schema: 'nms:recipient',
      type: 'item',
      label: 'Profiles',
      data: '/profileAndServices/profile/',
    });
    expect((profile.content as Json).email).toMatchObject({ apiName: 'email', type: 'string', length: 128 });
    expect((profile.content as Json).gender).toMatchObject({ type: 'enumeration' });
    const filters = (await api.send('GET', (profile.filters as { href: string }).href)).json as Json;
    expect(filters.byText).toMatchObject({
      data: '/profileAndServices/profile/byText?text=$value',
      label: 'By name or email',
    });
    const ext = (await api.send('GET', '/profileAndServicesExt/resourceType/profile')).json as Json;
    expect(ext.identificationKey).toEqual(['externalId']);
    const order = (await api.send('GET', '/profileAndServicesExt/resourceType/cusOrder')).json as Json;
    expect((order.content as Json).profile).toMatchObject({
      type: 'link',
      resTarget: 'profile',
      cardinality: '1',
      onDelete: 'cascade',
    });
    const root = (await api.send('GET', '/profileAndServicesExt/')).json as Json;
    expect(Object.keys(root).sort()).toEqual(['cusNote', 'cusOrder', 'cusOrderLine', 'profile']);
    expect(root.cusOrder).toMatchObject({ type: 'collection', data: '/profileAndServicesExt/cusOrder/' });
    const custom = (await api.send('GET', '/customResources/')).json as Json;
    expect(Object.keys(custom)).toEqual(['cusStore']);
    expect((await api.send('GET', '/profileAndServicesExt/cusStore')).status).toBe(404);
  });
});

describe('privacy tool (creating-a-privacy-request, monitoring-a-privacy-request)', () => {
  it('creates a request, moves it over emulated time and deletes profile, logs and cascaded records', async () => {
    const [pkey] = emulator.admin.seedProfiles({
      records: [{ email: 'customers@adobe.com', externalId: 'priv-1' }],
    });
    emulator.admin.insertRecord('cusOrder', { crmId: 'o-1', profile: { externalId: 'priv-1' } });
    emulator.admin.insertRecord('cusNote', { crmId: 'n-1', profile: { externalId: 'priv-1' } });
    emulator.admin.insertRecord('cusStore', { storeCode: 'S1', city: 'Lyon' });
    expect(emulator.admin.logEntriesOf(pkey!)).toBe(2);
    const created = await api.send('POST', '/privacy/privacyTool', {
      body: {
        name: 'PT11832',
        namespaceName: 'defaultNamespace1',
        reconciliationValue: 'customers@adobe.com',
        regulation: 'gdpr',
        label: 'Delete customers',
        type: 'delete',
      },
      headers: { 'content-type': 'application/json;charset=utf-8' },
    });
    expect(created.status).toBe(201);
    const request = created.json as Json;
    expect(request).toMatchObject({
      status: 'new',
      name: 'PT11832',
      title: 'Delete customers (PT11832)',
      retryCount: 0,
      namespaceName: 'defaultNamespace1',
      regulation: 'gdpr',
      type: 'delete',
    });
    expect(request.namespace).toMatchObject({ title: 'Email (defaultNamespace1)' });
    emulator.admin.advanceClock(60_000);
    expect(
      ((await api.send('GET', `/privacy/privacyTool/${request.PKey as string}`)).json as Json).status,
    ).toBe('processing');
    emulator.admin.advanceClock(240_000);
    const list = (await api.send('GET', '/privacy/privacyTool')).json as Json;
    expect((list.content as Json[])[0]).toMatchObject({ status: 'complete' });
    expect(emulator.admin.getRecord('profile', pkey!)).toBeUndefined();
    expect(emulator.admin.logEntriesOf(pkey!)).toBe(0);
    expect(emulator.admin.countRecords('cusOrder').total).toBe(0);
    expect(emulator.admin.countRecords('cusNote').total).toBe(1);
    expect(emulator.admin.countRecords('cusStore').total).toBe(1);
  });

  it('ends in errorDataNotFound when nothing matches; a regular delete keeps the logs', async () => {
    const [pkey] = emulator.admin.seedProfiles({ records: [{ email: 'keep@example.com' }] });
    await api.send('DELETE', `/profileAndServices/profile/${pkey!}`);
    expect(emulator.admin.logEntriesOf(pkey!)).toBe(2);
    const created = (
      await api.send('POST', '/privacy/privacyTool', {
        body: {
          name: 'PT2',
          namespaceName: 'defaultNamespace1',
          reconciliationValue: 'nobody@example.com',
          regulation: 'gdpr',
          type: 'delete',
        },
      })
    ).json as Json;
    emulator.admin.advanceClock(300_000);
    expect(
      ((await api.send('GET', `/privacy/privacyTool/${created.PKey as string}`)).json as Json).status,
    ).toBe('errorDataNotFound');
  });
});

describe('load model and faults', () => {
  it('has no throttling by default and answers 429 (no Retry-After) above an optional limit', async () => {
    const burst = await Promise.all(
      Array.from({ length: 30 }, () => api.send('GET', '/profileAndServices/profile/_count')),
    );
    expect(burst.every((a) => a.status === 200)).toBe(true);
    emulator.admin.setLimits({ callsPerSecond: 5 });
    const limited = await Promise.all(
      Array.from({ length: 12 }, () => api.send('GET', '/profileAndServices/profile/_count')),
    );
    const throttled = limited.filter((a) => a.status === 429);
    expect(throttled.length).toBeGreaterThanOrEqual(7);
    expect(throttled[0]!.headers['retry-after']).toBeUndefined();
    emulator.admin.setLimits({ retryAfterSec: 2 });
    const again = await api.send('GET', '/profileAndServices/profile/_count');
    if (again.status === 429) expect(again.headers['retry-after']).toBe('2');
    expect(emulator.admin.stats().throttled).toBeGreaterThanOrEqual(7);
  });

  it('injects 5xx and dropped connections through the shared fault injector', async () => {
    emulator.admin.setFaults({ errorNext: 1, errorStatus: 502 });
    expect((await api.send('GET', '/profileAndServices/profile')).status).toBe(502);
    emulator.admin.setFaults({ dropNext: 1 });
    await expect(api.send('GET', '/profileAndServices/profile')).rejects.toThrow();
    expect((await api.send('GET', '/profileAndServices/profile')).status).toBe(200);
    expect(emulator.admin.stats().faults).toMatchObject({ errors: 1, drops: 1 });
  });
});

describe('admin API over HTTP', () => {
  it('drives faults, limits, settings, clock and shows hidden records', async () => {
    const adminUrl = emulator.adminUrl;
    expect(
      (await api.send('PUT', `${adminUrl}/faults`, { body: { errorNext: 1 }, auth: false })).status,
    ).toBe(200);
    expect((await api.send('GET', '/profileAndServices/profile')).status).toBe(503);
    expect(
      (await api.send('PUT', `${adminUrl}/faults`, { body: { errorNext: -1 }, auth: false })).json,
    ).toMatchObject({
      error: { code: 'EMULATOR_BAD_REQUEST' },
    });
    expect(
      (await api.send('PUT', `${adminUrl}/limits`, { body: { callsPerSecond: 50 }, auth: false })).json,
    ).toEqual({
      callsPerSecond: 50,
      retryAfterSec: null,
    });
    await api.send('PUT', `${adminUrl}/settings`, { body: { errorEnvelope: 'plain-text' }, auth: false });
    const plain = await api.send('GET', '/profileAndServices/profile/@nope');
    expect(typeof plain.json).toBe('string');
    await api.send('PUT', `${adminUrl}/settings`, { body: { errorEnvelope: 'code-message' }, auth: false });
    const before = emulator.admin.clock.now();
    const clock = (
      await api.send('POST', `${adminUrl}/clock`, { body: { advanceMs: 3_600_000 }, auth: false })
    ).json as Json;
    expect(Date.parse(String(clock.now))).toBeGreaterThanOrEqual(before + 3_600_000);
    await api.send('POST', `${adminUrl}/records/cusOrder`, {
      body: { crmId: 'hidden-1', profile: { externalId: 'nobody' } },
      auth: false,
    });
    expect((await api.send('GET', `${adminUrl}/records/cusOrder/count`, { auth: false })).json).toEqual({
      visible: 0,
      hidden: 1,
      total: 1,
    });
    const hidden = (await api.send('GET', `${adminUrl}/records/cusOrder?includeHidden=true`, { auth: false }))
      .json as Json[];
    expect(hidden[0]).toMatchObject({ visible: false, values: { crmId: 'hidden-1' } });
    const stats = (await api.send('GET', `${adminUrl}/stats`, { auth: false })).json as Json;
    expect(stats.faults).toMatchObject({ errors: 1 });
    expect((await api.send('POST', `${adminUrl}/sftp/workflow/run`, { auth: false })).status).toBe(409);
  });

  it('needs the admin key when one is set', async () => {
    const keyed = await startCampaignEmulator({ adminKey: 'k3y-for-tests', insecureHttp: true });
    const keyedApi = new RawCampaignCaller(keyed);
    try {
      expect((await keyedApi.send('GET', `${keyed.adminUrl}/stats`, { auth: false })).status).toBe(401);
      const ok = await keyedApi.send('GET', `${keyed.adminUrl}/stats`, {
        auth: false,
        headers: { 'x-emulator-admin-key': 'k3y-for-tests' },
      });
      expect(ok.status).toBe(200);
      expect(keyed.url).toMatch(/^http:\/\//);
    } finally {
      await keyedApi.close();
      await keyed.close();
    }
  });
});
