/**
 * The emulator against the documented examples of the reference notes (dataverse-api.md), over
 * real HTTPS with plain undici requests: status codes, headers and bodies.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  startDynamicsEmulator,
  type DynamicsEmulator,
} from '../../../emulators/dynamics/dynamics-emulator.js';
import { buildContact, membershipSeed } from '../../support/dynamics-builders.js';
import { RawDataverseApi } from '../../support/dynamics-test-bed.js';

let emulator: DynamicsEmulator;
let api: RawDataverseApi;

beforeAll(async () => {
  emulator = await startDynamicsEmulator({ contacts: 30, seed: 7, seedData: membershipSeed });
  api = new RawDataverseApi(emulator);
});

afterAll(async () => {
  await api.close();
  await emulator.close();
});

beforeEach(() => {
  emulator.admin.resetFaults();
  emulator.admin.resetLimitWindows();
});

describe('Entra ID token endpoint', () => {
  it('issues a bearer token for client credentials with the documented response shape', async () => {
    const response = await api.send('POST', `${emulator.url}/any-tenant/oauth2/v2.0/token`, {
      form: {
        client_id: 'demo-client',
        scope: `${emulator.url}/.default`,
        client_secret: 'demo-secret',
        grant_type: 'client_credentials',
      },
    });
    expect(response.status).toBe(200);
    const body = response.json<{ token_type: string; expires_in: number; access_token: string }>();
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(3599);
    expect(body.access_token.split('.')).toHaveLength(3);
    expect(body).not.toHaveProperty('refresh_token');
  });

  it('answers a wrong secret with 401 and an AADSTS error body', async () => {
    const response = await api.send('POST', emulator.tokenUrl, {
      form: {
        client_id: 'demo-client',
        scope: `${emulator.url}/.default`,
        client_secret: 'nope',
        grant_type: 'client_credentials',
      },
    });
    expect(response.status).toBe(401);
    const body = response.json<Record<string, unknown>>();
    expect(body.error).toBe('invalid_client');
    expect(body.error_description).toMatch(/^AADSTS7000215: /);
    expect(body.error_codes).toEqual([7000215]);
    for (const key of ['timestamp', 'trace_id', 'correlation_id']) expect(body).toHaveProperty(key);
    expect(response.text).not.toContain('nope');
  });

  it('refuses scopes without /.default and unknown resources', async () => {
    const form = { client_id: 'demo-client', client_secret: 'demo-secret', grant_type: 'client_credentials' };
    const noDefault = await api.send('POST', emulator.tokenUrl, { form: { ...form, scope: emulator.url } });
    expect(noDefault.json<{ error: string }>().error).toBe('invalid_scope');
    const otherResource = await api.send('POST', emulator.tokenUrl, {
      form: { ...form, scope: 'https://other.crm.dynamics.com/.default' },
    });
    expect(otherResource.json<{ error: string }>().error).toBe('invalid_resource');
  });

  it('publishes the OpenID configuration MSAL reads, with an issuer on the same origin', async () => {
    const response = await api.send('GET', `${emulator.url}/contoso/v2.0/.well-known/openid-configuration`);
    const body = response.json<Record<string, string>>();
    expect(body.token_endpoint).toBe(`${emulator.url}/contoso/oauth2/v2.0/token`);
    expect(body.issuer).toBe(`${emulator.url}/contoso/v2.0`);
    expect(body.authorization_endpoint).toBeDefined();
    expect(body.jwks_uri).toBeDefined();
  });
});

describe('authentication of the Web API', () => {
  it('answers 401 with WWW-Authenticate and an error body without a token', async () => {
    const response = await api.send('GET', 'contacts');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer authorization_uri=.*, resource_id=/);
    expect(response.json<{ error: { code: string } }>().error.code).toMatch(/^0x8004A10/);
  });

  it('answers 401 for a revoked token and for an expired one', async () => {
    const fresh = new RawDataverseApi(emulator);
    try {
      expect((await fresh.api('GET', 'WhoAmI')).status).toBe(200);
      emulator.admin.revokeTokens();
      expect(
        (
          await fresh.send('GET', 'WhoAmI', {
            headers: { authorization: `Bearer ${await fresh.accessToken()}` },
          })
        ).status,
      ).toBe(401);
    } finally {
      await fresh.close();
    }
    const other = new RawDataverseApi(emulator);
    try {
      expect((await other.api('GET', 'WhoAmI')).status).toBe(200);
      emulator.admin.expireTokens();
      const expired = await other.send('GET', 'WhoAmI', {
        headers: { authorization: `Bearer ${await other.accessToken()}` },
      });
      expect(expired.status).toBe(401);
      expect(expired.json<{ error: { message: string } }>().error.message).toMatch(/expired/);
    } finally {
      await other.close();
    }
  });
});

describe('retrieve and query', () => {
  it('GET by id returns the entity context, etag, selected columns and the key', async () => {
    const contact = emulator.admin.createContact(buildContact({ firstname: 'Grace', lastname: 'Hopper' }));
    const id = contact.contactid as string;
    const response = await api.api('GET', `contacts(${id})?$select=firstname,lastname`);
    expect(response.status).toBe(200);
    expect(response.headers['odata-version']).toBe('4.0');
    const body = response.json<Record<string, unknown>>();
    expect(body['@odata.context']).toBe(`${api.base}$metadata#contacts(firstname,lastname)/$entity`);
    expect(body['@odata.etag']).toBe(`W/"${contact.versionnumber}"`);
    expect(body).toMatchObject({ firstname: 'Grace', lastname: 'Hopper', contactid: id });
    expect(Object.keys(body)).toHaveLength(5);
  });

  it('answers a missing record with 404 and 0x80040217', async () => {
    const id = '00000000-0000-0000-0000-0000000000aa';
    const response = await api.api('GET', `contacts(${id})`);
    expect(response.status).toBe(404);
    expect(response.json()).toEqual({
      error: { code: '0x80040217', message: `contact With Id = ${id} Does Not Exist` },
    });
  });

  it('answers 304 to If-None-Match with the current etag', async () => {
    const contact = emulator.admin.createContact(buildContact());
    const response = await api.api('GET', `contacts(${contact.contactid as string})`, {
      headers: { 'if-none-match': `W/"${contact.versionnumber}"` },
    });
    expect(response.status).toBe(304);
  });

  it('pages with odata.maxpagesize, echoes it in Preference-Applied and links an opaque $skiptoken', async () => {
    const total = emulator.admin.countRows('contact');
    const seen = new Set<string>();
    let url: string | undefined = 'contacts?$select=fullname';
    let pages = 0;
    while (url) {
      const response = await api.api('GET', url, { headers: { prefer: 'odata.maxpagesize=7' } });
      expect(response.headers['preference-applied']).toBe('odata.maxpagesize=7');
      const body: { value: { contactid: string }[]; '@odata.nextLink'?: string } = response.json();
      expect(body.value.length).toBeLessThanOrEqual(7);
      for (const row of body.value) seen.add(row.contactid);
      url = body['@odata.nextLink'];
      if (url) expect(url).toMatch(/\$skiptoken=/);
      pages++;
    }
    expect(seen.size).toBe(total);
    expect(pages).toBe(Math.ceil(total / 7));
  });

  it('filters with comparisons, null, and/or and string functions, and honours $top', async () => {
    emulator.admin.createContact(
      buildContact({ firstname: 'Zebedee', lastname: 'Filtertest', donotemail: true, emailaddress1: null }),
    );
    emulator.admin.createContact(
      buildContact({ firstname: 'Zara', lastname: 'Filtertest', donotemail: false }),
    );
    const query = async (filter: string): Promise<string[]> => {
      const response = await api.api(
        'GET',
        `contacts?$select=firstname&$filter=${encodeURIComponent(filter)}`,
      );
      expect(response.status).toBe(200);
      return response
        .json<{ value: { firstname: string }[] }>()
        .value.map((v) => v.firstname)
        .sort();
    };
    expect(await query("lastname eq 'filtertest'")).toEqual(['Zara', 'Zebedee']);
    expect(await query("lastname eq 'Filtertest' and donotemail eq true")).toEqual(['Zebedee']);
    expect(await query("lastname eq 'Filtertest' and emailaddress1 eq null")).toEqual(['Zebedee']);
    expect(
      await query(
        "startswith(firstname,'Zeb') or (contains(firstname,'ar') and lastname ne 'x' and lastname eq 'Filtertest')",
      ),
    ).toEqual(['Zara', 'Zebedee']);
    const top = await api.api('GET', 'contacts?$select=firstname&$top=2');
    expect(top.json<{ value: unknown[] }>().value).toHaveLength(2);
    expect(top.json()).not.toHaveProperty('@odata.nextLink');
    const unknown = await api.api('GET', `contacts?$filter=${encodeURIComponent('nosuch eq 1')}`);
    expect(unknown.status).toBe(400);
    expect(unknown.json<{ error: { code: string; message: string } }>().error).toEqual({
      code: '0x80060888',
      message: "Could not find a property named 'nosuch' on type 'Microsoft.Dynamics.CRM.contact'.",
    });
  });

  it('answers a filter of primary ids (the index path) like any filter: the named rows, paged in version order', async () => {
    const rows = ['Ida', 'Ira', 'Iva'].map((firstname) =>
      emulator.admin.createContact(buildContact({ firstname, lastname: 'Idtest' })),
    );
    emulator.admin.updateContact(rows[0]!.contactid as string, { lastname: 'Idtest2' });
    const ids = [...rows.map((r) => r.contactid as string), '00000000-0000-0000-0000-0000000000aa'];
    const filter = ids.map((id) => `contactid eq ${id.toUpperCase()}`).join(' or ');
    let url: string | undefined = `contacts?$select=firstname&$filter=${encodeURIComponent(filter)}`;
    const names: string[] = [];
    while (url) {
      const response = await api.api('GET', url, { headers: { prefer: 'odata.maxpagesize=2' } });
      expect(response.status).toBe(200);
      const body = response.json<{ value: { firstname: string }[]; '@odata.nextLink'?: string }>();
      names.push(...body.value.map((v) => v.firstname));
      url = body['@odata.nextLink'];
    }
    // Ida was updated last, so it comes last; the unknown id matches nothing.
    expect(names).toEqual(['Ira', 'Iva', 'Ida']);
    const mixed = `contactid eq ${ids[1]!} and lastname eq 'nobody'`;
    const none = await api.api('GET', `contacts?$select=firstname&$filter=${encodeURIComponent(mixed)}`);
    expect(none.json<{ value: unknown[] }>().value).toEqual([]);
  });

  it('reports ChangeTrackingEnabled, EntitySetName, attributes and lookups in EntityDefinitions', async () => {
    const response = await api.api(
      'GET',
      "EntityDefinitions(LogicalName='new_membership')?$select=ChangeTrackingEnabled,EntitySetName&$expand=Attributes($select=LogicalName,AttributeType),ManyToOneRelationships($select=ReferencingAttribute,ReferencingEntityNavigationPropertyName,ReferencedEntity)",
    );
    expect(response.status).toBe(200);
    const body = response.json<{
      ChangeTrackingEnabled: boolean;
      EntitySetName: string;
      Attributes: { LogicalName: string; AttributeType: string }[];
      ManyToOneRelationships: Record<string, string>[];
    }>();
    expect(body.ChangeTrackingEnabled).toBe(true);
    expect(body.EntitySetName).toBe('new_memberships');
    expect(body.Attributes).toContainEqual(
      expect.objectContaining({ LogicalName: 'new_contactid', AttributeType: 'Lookup' }),
    );
    expect(body.ManyToOneRelationships).toContainEqual(
      expect.objectContaining({
        ReferencingAttribute: 'new_contactid',
        ReferencingEntityNavigationPropertyName: 'new_ContactId',
        ReferencedEntity: 'contact',
      }),
    );
    const list = await api.api(
      'GET',
      'EntityDefinitions?$select=SchemaName&$filter=ChangeTrackingEnabled eq false',
    );
    expect(list.json<{ value: { SchemaName: string }[] }>().value.map((v) => v.SchemaName)).toEqual([
      'new_untracked',
    ]);
  });

  it('marks change-tracked entity sets in $metadata?annotations=true', async () => {
    const response = await api.api('GET', '$metadata?annotations=true');
    expect(response.text).toMatch(
      /<EntitySet Name="contacts"[^>]*><Annotation Term="Org.OData.Capabilities.V1.ChangeTracking"><Record><PropertyValue Property="Supported" Bool="true" \/>/,
    );
    expect(response.text).toMatch(/<EntitySet Name="new_untrackeds"[^>]*><\/EntitySet>/);
  });
});

describe('writes', () => {
  it('creates with 204 and OData-EntityId, or 201 with a body under return=representation', async () => {
    const plain = await api.api('POST', 'contacts', { json: { firstname: 'Alan', lastname: 'Turing' } });
    expect(plain.status).toBe(204);
    expect(plain.headers['odata-entityid']).toMatch(
      new RegExp(`^${api.base.replace(/[.$]/g, '\\$&')}contacts\\([0-9a-f-]{36}\\)$`),
    );
    expect(plain.text).toBe('');
    const represented = await api.api('POST', 'contacts?$select=firstname,fullname', {
      json: { firstname: 'Katherine', lastname: 'Johnson' },
      headers: { prefer: 'return=representation' },
    });
    expect(represented.status).toBe(201);
    expect(represented.headers['preference-applied']).toBe('return=representation');
    expect(represented.headers['odata-entityid']).toBeUndefined();
    expect(represented.json()).toMatchObject({ firstname: 'Katherine', fullname: 'Katherine Johnson' });
  });

  it('binds lookups with @odata.bind and reads them back as _x_value', async () => {
    const contact = emulator.admin.createContact(buildContact());
    const id = contact.contactid as string;
    const created = await api.api('POST', 'new_memberships', {
      json: { new_name: 'Gold', new_level: 2, 'new_ContactId@odata.bind': `/contacts(${id})` },
      headers: { prefer: 'return=representation' },
    });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({ _new_contactid_value: id, new_level: 2 });
    const lowerCase = await api.api('POST', 'new_memberships', {
      json: { 'new_contactid@odata.bind': `/contacts(${id})` },
    });
    expect(lowerCase.status).toBe(400);
  });

  it('updates with If-Match: *, answers 404 for a missing row, and upserts without If-Match', async () => {
    const contact = emulator.admin.createContact(buildContact());
    const id = contact.contactid as string;
    const update = await api.api('PATCH', `contacts(${id})`, {
      json: { donotemail: true },
      headers: { 'if-match': '*' },
    });
    expect(update.status).toBe(204);
    expect(emulator.admin.getContact(id)).toMatchObject({ donotemail: true });
    expect((emulator.admin.getContact(id)?.versionnumber as number) > (contact.versionnumber as number)).toBe(
      true,
    );
    const missing = '00000000-0000-0000-0000-0000000000bb';
    const notFound = await api.api('PATCH', `contacts(${missing})`, {
      json: { donotemail: true },
      headers: { 'if-match': '*' },
    });
    expect(notFound.status).toBe(404);
    expect(emulator.admin.getContact(missing)).toBeUndefined();
    const upsert = await api.api('PATCH', `contacts(${missing})`, { json: { lastname: 'Upserted' } });
    expect(upsert.status).toBe(204);
    expect(upsert.headers['odata-entityid']).toBe(`${api.base}contacts(${missing})`);
    expect(emulator.admin.getContact(missing)).toMatchObject({ lastname: 'Upserted' });
  });

  it('answers 412 for If-None-Match: * on an existing row and for a stale If-Match etag', async () => {
    const contact = emulator.admin.createContact(buildContact());
    const id = contact.contactid as string;
    const createOnly = await api.api('PATCH', `contacts(${id})`, {
      json: { lastname: 'X' },
      headers: { 'if-none-match': '*' },
    });
    expect(createOnly.status).toBe(412);
    expect(createOnly.json()).toEqual({
      error: { code: '', message: 'A record with matching key values already exists.' },
    });
    emulator.admin.updateContact(id, { jobtitle: 'Changed' });
    const stale = await api.api('PATCH', `contacts(${id})`, {
      json: { lastname: 'X' },
      headers: { 'if-match': `W/"${contact.versionnumber}"` },
    });
    expect(stale.status).toBe(412);
    expect(stale.json<{ error: { message: string } }>().error.message).toBe(
      "The version of the existing record doesn't match the RowVersion property provided.",
    );
    const staleDelete = await api.api('DELETE', `contacts(${id})`, {
      headers: { 'if-match': `W/"${contact.versionnumber}"` },
    });
    expect(staleDelete.status).toBe(412);
  });

  it('rejects a string over its maximum length with the documented validation error', async () => {
    const response = await api.api('POST', 'contacts', { json: { firstname: 'x'.repeat(51) } });
    expect(response.status).toBe(400);
    expect(response.json()).toEqual({
      error: {
        code: '0x80044331',
        message:
          "A validation error occurred.  The length of the 'firstname' attribute of the 'contact' entity exceeded the maximum allowed length of '50'.",
      },
    });
  });

  it('deletes with 204, then 404; cascades to child rows', async () => {
    const contact = emulator.admin.createContact(buildContact());
    const id = contact.contactid as string;
    const child = emulator.admin.createRow('new_membership', { new_name: 'Child', new_contactid: id });
    expect((await api.api('DELETE', `contacts(${id})`)).status).toBe(204);
    expect((await api.api('DELETE', `contacts(${id})`)).status).toBe(404);
    expect(emulator.admin.getRow('new_membership', child.new_membershipid as string)).toBeUndefined();
  });

  it('DeleteRecordChangeHistory answers 200 with DeletedEntriesCount', async () => {
    const contact = emulator.admin.createContact(buildContact());
    const id = contact.contactid as string;
    emulator.admin.updateContact(id, { jobtitle: 'A' });
    emulator.admin.updateContact(id, { jobtitle: 'B' });
    const response = await api.api('POST', 'DeleteRecordChangeHistory', {
      json: { Target: { '@odata.type': 'Microsoft.Dynamics.CRM.contact', contactid: id } },
    });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({
      '@odata.context': `${api.base}$metadata#Microsoft.Dynamics.CRM.DeleteRecordChangeHistoryResponse`,
      DeletedEntriesCount: 3,
    });
  });
});

describe('change tracking', () => {
  const trackAll = async (url: string, prefer = 'odata.track-changes,odata.maxpagesize=9') => {
    const pages: Record<string, unknown>[] = [];
    let next: string | undefined = url;
    for (;;) {
      const response = await api.api('GET', next, { headers: { prefer } });
      expect(response.status).toBe(200);
      const body = response.json<Record<string, unknown>>();
      pages.push(body);
      next = body['@odata.nextLink'] as string | undefined;
      if (!next) return { pages, deltaLink: body['@odata.deltaLink'] as string, headers: response.headers };
    }
  };

  it('returns the full set in pages, the delta link only on the last one, then new/updated rows and $deletedEntity', async () => {
    const initial = await trackAll('contacts?$select=firstname,lastname,emailaddress1');
    expect(initial.headers['preference-applied']).toContain('odata.track-changes');
    for (const page of initial.pages.slice(0, -1)) {
      expect(page).not.toHaveProperty('@odata.deltaLink');
      expect(page['@odata.nextLink']).toBeDefined();
    }
    const first = initial.pages[0]!;
    expect(first['@odata.context']).toBe(`${api.base}$metadata#contacts(firstname,lastname,emailaddress1)`);
    const rows = initial.pages.flatMap((p) => p.value as Record<string, unknown>[]);
    expect(rows).toHaveLength(emulator.admin.countRows('contact'));
    expect(rows[0]).toHaveProperty('@odata.etag');
    expect(rows[0]).toHaveProperty('contactid');
    expect(initial.deltaLink).toMatch(
      /contacts\?\$select=firstname,lastname,emailaddress1&\$deltatoken=\d+%21\d\d%2f\d\d%2f\d{4}%20\d\d%3a\d\d%3a\d\d$/,
    );

    const ids = emulator.admin.listIds('contact');
    emulator.admin.updateContact(ids[0]!, { firstname: 'Renamed' });
    emulator.admin.deleteContact(ids[1]!);
    const created = emulator.admin.createContact(buildContact({ firstname: 'Newcomer' }));

    const delta = await api.api('GET', initial.deltaLink);
    expect(delta.status).toBe(200);
    const body = delta.json<{
      '@odata.context': string;
      '@odata.deltaLink': string;
      value: Record<string, unknown>[];
    }>();
    expect(body['@odata.context']).toBe(
      `${api.base}$metadata#contacts(firstname,lastname,emailaddress1)/$delta`,
    );
    expect(body.value.map((v) => v.contactid ?? v.id)).toEqual([ids[0], created.contactid, ids[1]]);
    expect(body.value[0]).toMatchObject({ firstname: 'Renamed' });
    expect(body.value[2]).toEqual({
      '@odata.context': `${api.base}$metadata#contacts/$deletedEntity`,
      id: ids[1],
      reason: 'deleted',
    });
    expect(body['@odata.deltaLink']).not.toBe(initial.deltaLink);

    const quiet = await api.api('GET', body['@odata.deltaLink']);
    expect(quiet.json<{ value: unknown[]; '@odata.deltaLink': string }>()).toMatchObject({ value: [] });
  });

  it('pages a large delta with nextLink and keeps the delta link for the last page', async () => {
    const initial = await trackAll('contacts?$select=lastname');
    emulator.admin.mutate({ updates: 12, deletes: 5, seed: 3 });
    const delta = await trackAll(initial.deltaLink, 'odata.maxpagesize=6');
    expect(delta.pages.length).toBe(3);
    const values = delta.pages.flatMap((p) => p.value as Record<string, unknown>[]);
    expect(values.filter((v) => v.reason === 'deleted')).toHaveLength(5);
    expect(values.filter((v) => v.reason === undefined)).toHaveLength(12);
    expect(delta.deltaLink).toBeDefined();
  });

  it('refuses $filter, $orderby, $expand and $top with the documented message', async () => {
    for (const option of [
      "$filter=lastname eq 'x'",
      '$orderby=lastname',
      '$expand=parentcustomerid_contact',
      '$top=3',
    ]) {
      const response = await api.api('GET', `contacts?$select=lastname&${option}`, {
        headers: { prefer: 'odata.track-changes' },
      });
      expect(response.status).toBe(400);
      const name = option.split('=')[0];
      expect(response.json<{ error: { message: string } }>().error.message).toBe(
        `The "${name}" query parameter isn't supported when Change Tracking is enabled.`,
      );
    }
  });

  it('refuses a table without change tracking', async () => {
    const response = await api.api('GET', 'new_untrackeds?$select=new_code', {
      headers: { prefer: 'odata.track-changes' },
    });
    expect(response.status).toBe(400);
    expect(response.json()).toEqual({
      error: { code: '0x80072491', message: "Entity new_untracked isn't enabled for change tracking." },
    });
  });

  it('expires delta links after the retention period with ExpiredVersionStamp', async () => {
    const initial = await trackAll('contacts?$select=lastname');
    emulator.admin.clock.advance(8 * 86_400_000);
    const response = await api.api('GET', initial.deltaLink);
    expect(response.status).toBe(400);
    expect(response.json()).toEqual({
      error: {
        code: '0x80044352',
        message: 'Version stamp associated with the client has expired. Please perform a full sync.',
      },
    });
    const again = await trackAll('contacts?$select=lastname');
    emulator.admin.expireDeltaTokens();
    expect((await api.api('GET', again.deltaLink)).json<{ error: { code: string } }>().error.code).toBe(
      '0x80044352',
    );
  });
});

describe('$batch', () => {
  const batchBody = (parts: string[], boundary = 'batch_AAA123') =>
    `${parts.map((p) => `--${boundary}\r\n${p}`).join('')}--${boundary}--\r\n`;
  const httpPart = (request: string, contentId?: string) =>
    `Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n${contentId ? `Content-ID: ${contentId}\r\n` : ''}\r\n${request}\r\n`;
  const send = (body: string, headers: Record<string, string> = {}) =>
    api.api('POST', '$batch', {
      body,
      headers: { 'content-type': 'multipart/mixed; boundary="batch_AAA123"', ...headers },
    });

  it('runs a change set with Content-ID references and a GET, answering the documented multipart shape', async () => {
    const changeSet = [
      '--changeset_BBB456\r\n' +
        httpPart(
          'POST /api/data/v9.2/contacts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"firstname":"Batch","lastname":"One"}',
          '1',
        ),
      '--changeset_BBB456\r\n' +
        httpPart(
          `POST ${emulator.url}/api/data/v9.2/new_memberships HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"new_name":"B","new_ContactId@odata.bind":"$1"}`,
          '2',
        ),
      '--changeset_BBB456\r\n' +
        httpPart('PUT $1/lastname HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"value":"Two"}', '3'),
      '--changeset_BBB456--\r\n',
    ].join('');
    const body = batchBody([
      `Content-Type: multipart/mixed; boundary=changeset_BBB456\r\n\r\n${changeSet}`,
      httpPart("GET /api/data/v9.2/contacts?$select=lastname&$filter=firstname%20eq%20'Batch' HTTP/1.1\r\n"),
    ]);
    const response = await send(body);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(
      /^multipart\/mixed; boundary=batchresponse_[0-9a-f-]{36}$/,
    );
    expect(response.text).toMatch(/Content-Type: multipart\/mixed; boundary=changesetresponse_/);
    expect(response.text.match(/HTTP\/1\.1 204 No Content/g)).toHaveLength(3);
    expect(response.text).toMatch(
      /Content-ID: 2\r\n\r\nHTTP\/1\.1 204 No Content\r\nOData-Version: 4\.0\r\nOData-EntityId: .*new_memberships\(/,
    );
    expect(response.text).toMatch(/Location: .*contacts\(/);
    expect(response.text).toContain('"lastname":"Two"');
    expect(response.text.trimEnd()).toMatch(/--batchresponse_[0-9a-f-]{36}--$/);
  });

  it('rolls back a failed change set entirely and stops at the first error (400) without continue-on-error', async () => {
    const before = emulator.admin.countRows('contact');
    const missing = '00000000-0000-0000-0000-0000000000cc';
    const changeSet = [
      '--cs\r\n' +
        httpPart(
          'POST /api/data/v9.2/contacts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"lastname":"RolledBack"}',
          '1',
        ),
      '--cs\r\n' +
        httpPart(
          `PATCH /api/data/v9.2/contacts(${missing}) HTTP/1.1\r\nIf-Match: *\r\nContent-Type: application/json\r\n\r\n{"lastname":"x"}`,
          '2',
        ),
      '--cs--\r\n',
    ].join('');
    const body = batchBody([
      `Content-Type: multipart/mixed; boundary=cs\r\n\r\n${changeSet}`,
      httpPart(
        'POST /api/data/v9.2/contacts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"lastname":"NeverRuns"}',
      ),
    ]);
    const response = await send(body);
    expect(response.status).toBe(400);
    expect(response.text).toContain('HTTP/1.1 404 Not Found');
    expect(response.text).toContain('"code":"0x80040217"');
    expect(response.text).not.toContain('changesetresponse');
    expect(emulator.admin.countRows('contact')).toBe(before);

    const continued = await send(body, { prefer: 'odata.continue-on-error' });
    expect(continued.status).toBe(200);
    expect(continued.headers['preference-applied']).toBe('odata.continue-on-error');
    expect(continued.text).toContain('HTTP/1.1 204 No Content');
    expect(emulator.admin.countRows('contact')).toBe(before + 1);
  });

  it('answers an undeclared Content-ID reference with the documented 400', async () => {
    const changeSet = [
      '--cs\r\n' +
        httpPart(
          'POST /api/data/v9.2/new_memberships HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"new_ContactId@odata.bind":"$1"}',
          '2',
        ),
      '--cs--\r\n',
    ].join('');
    const response = await send(
      batchBody([`Content-Type: multipart/mixed; boundary=cs\r\n\r\n${changeSet}`]),
    );
    expect(response.status).toBe(400);
    expect(response.text).toContain("Content-ID Reference: '$1' does not exist in the batch context.");
  });

  it('refuses more than 1,000 requests', async () => {
    const parts = Array.from({ length: 1001 }, () => httpPart('GET /api/data/v9.2/WhoAmI HTTP/1.1\r\n'));
    const response = await send(batchBody(parts));
    expect(response.status).toBe(400);
  });
});

describe('service protection limits', () => {
  it('answers 429 with Retry-After and the documented code once the request window is full, and grows Retry-After for early retries', async () => {
    emulator.admin.configureLimits({ requests: 3, windowMs: 60_000 });
    try {
      for (let i = 0; i < 3; i++) expect((await api.api('GET', 'WhoAmI')).status).toBe(200);
      const throttled = await api.api('GET', 'WhoAmI');
      expect(throttled.status).toBe(429);
      const first = Number(throttled.headers['retry-after']);
      expect(first).toBeGreaterThanOrEqual(1);
      expect(throttled.json()).toEqual({
        error: {
          code: '0x80072322',
          message: 'Number of requests exceeded the limit of 3 over time window of 60 seconds.',
        },
      });
      const early = await api.api('GET', 'WhoAmI');
      expect(Number(early.headers['retry-after'])).toBeGreaterThan(first);
      emulator.admin.clock.advance(300_000);
      expect((await api.api('GET', 'WhoAmI')).status).toBe(200);
    } finally {
      emulator.admin.configureLimits({ requests: 6000, windowMs: 300_000 });
    }
  });

  it('sends the diagnostic headers and can inject a 429 burst', async () => {
    const ok = await api.api('GET', 'WhoAmI');
    expect(ok.headers['x-ms-ratelimit-burst-remaining-xrm-requests']).toBeDefined();
    expect(ok.headers['x-ms-ratelimit-time-remaining-xrm-requests']).toBeDefined();
    emulator.admin.throttleNext(1, 2, 'executionTime');
    const throttled = await api.api('GET', 'WhoAmI');
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('2');
    expect(throttled.json<{ error: { code: string } }>().error.code).toBe('0x80072321');
  });
});
