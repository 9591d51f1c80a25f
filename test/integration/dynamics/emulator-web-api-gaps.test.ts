/**
 * Web API behaviours a user of the public documentation relies on and the emulator once lacked
 * (issue 18): formatted-value annotations, alternate keys, a single attribute by key, derived
 * metadata properties, and Entra's answers to a refused secret and an unknown tenant. Over real
 * HTTPS: plain undici where dcsync's client does not make the call, the production client where
 * it does (token acquisition).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../../src/core/errors.js';
import { buildContact, membershipSeed } from '../../support/dynamics-builders.js';
import {
  RawDataverseApi,
  startDynamicsTestBed,
  type DynamicsTestBed,
} from '../../support/dynamics-test-bed.js';

/** Memberships with a money column, a keyed code, and yes/no labels of their own. */
const seed = {
  ...membershipSeed,
  tables: [
    {
      ...membershipSeed.tables[0]!,
      columns: [
        ...membershipSeed.tables[0]!.columns,
        { name: 'new_fee', type: 'money' as const },
        { name: 'new_code', type: 'string' as const, maxLength: 20 },
        { name: 'new_paid', type: 'boolean' as const, trueLabel: 'Paid', falseLabel: 'Open' },
      ],
      keys: [{ name: 'new_membershipcode', columns: ['new_code'] }],
      generate: { count: 0 },
    },
    membershipSeed.tables[1]!,
  ],
  serviceEndpoints: [
    { name: 'bus', url: 'sb://bus.example.com/', contract: 1, authtype: 2 },
    { name: 'dcsync', url: 'https://sync.example.com/webhooks/dynamics', contract: 8, authtype: 5 },
  ],
};

const formatted = 'OData.Community.Display.V1.FormattedValue';
const preferFormatted = { prefer: `odata.include-annotations="${formatted}"` };

let bed: DynamicsTestBed;
let api: RawDataverseApi;

beforeAll(async () => {
  bed = await startDynamicsTestBed({
    contacts: 0,
    seed: 5,
    seedData: seed,
    tenants: ['contoso.onmicrosoft.com'],
  });
  api = new RawDataverseApi(bed.emulator);
});

afterAll(async () => {
  await api.close();
  await bed.close();
});

interface Row {
  [key: string]: unknown;
}

describe('formatted values (Prefer: odata.include-annotations)', () => {
  it('labels choices, yes/no columns, status, money, dates and lookups, and echoes the preference', async () => {
    const parent = bed.emulator.admin.createContact(buildContact({ firstname: 'Grace', lastname: 'Hopper' }));
    const contact = bed.emulator.admin.createContact(
      buildContact({
        firstname: 'Ada',
        lastname: 'Lovelace',
        preferredcontactmethodcode: 2,
        donotemail: true,
        donotsendmm: false,
        followemail: true,
        birthdate: '1815-12-10',
        parentcustomerid: parent.contactid as string,
      }),
    );
    const id = contact.contactid as string;
    const select =
      'firstname,preferredcontactmethodcode,donotemail,donotsendmm,followemail,statecode,statuscode,birthdate,modifiedon,_parentcustomerid_value';
    const response = await api.api('GET', `contacts(${id})?$select=${select}`, { headers: preferFormatted });
    expect(response.status).toBe(200);
    expect(response.headers['preference-applied']).toBe(`odata.include-annotations="${formatted}"`);
    const body = response.json<Row>();
    expect(body[`preferredcontactmethodcode@${formatted}`]).toBe('Email');
    expect(body.preferredcontactmethodcode).toBe(2);
    expect(body[`donotemail@${formatted}`]).toBe('Do Not Allow');
    expect(body[`donotsendmm@${formatted}`]).toBe('Send');
    expect(body[`followemail@${formatted}`]).toBe('Allow');
    expect(body[`statecode@${formatted}`]).toBe('Active');
    expect(body[`statuscode@${formatted}`]).toBe('Active');
    expect(body[`birthdate@${formatted}`]).toBe('12/10/1815');
    expect(body[`modifiedon@${formatted}`]).toMatch(/^\d{1,2}\/\d{1,2}\/\d{4} \d{1,2}:\d{2} (AM|PM)$/);
    expect(body[`_parentcustomerid_value@${formatted}`]).toBe('Grace Hopper');
    // Strings and ids have no formatted value; the annotation comes before its property.
    expect(body).not.toHaveProperty(`firstname@${formatted}`);
    expect(body).not.toHaveProperty(`contactid@${formatted}`);
    const keys = Object.keys(body);
    expect(keys.indexOf(`donotemail@${formatted}`)).toBe(keys.indexOf('donotemail') - 1);
    // Only the annotation asked for: no lookup annotations.
    expect(body).not.toHaveProperty('_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname');
  });

  it('formats currency, custom yes/no labels and choices in collections and change tracking; "*" adds them to the lookup annotations', async () => {
    const contact = bed.emulator.admin.createContact(buildContact({ firstname: 'Alan', lastname: 'Turing' }));
    bed.emulator.admin.createRow('new_membership', {
      new_name: 'Gold',
      new_level: 3,
      new_fee: 20000,
      new_paid: true,
      new_code: 'M-1',
      new_contactid: contact.contactid,
    });
    const list = await api.api(
      'GET',
      `new_memberships?$select=new_level,new_fee,new_paid,_new_contactid_value&$filter=new_code eq 'M-1'`,
      { headers: { prefer: 'odata.include-annotations="*"' } },
    );
    expect(list.headers['preference-applied']).toBe('odata.include-annotations="*"');
    const [row] = list.json<{ value: Row[] }>().value;
    expect(row![`new_fee@${formatted}`]).toBe('$20,000.00');
    expect(row![`new_paid@${formatted}`]).toBe('Paid');
    expect(row![`new_level@${formatted}`]).toBe('3');
    expect(Object.keys(row!).filter((k) => k.startsWith('_new_contactid_value'))).toEqual([
      `_new_contactid_value@${formatted}`,
      '_new_contactid_value@Microsoft.Dynamics.CRM.associatednavigationproperty',
      '_new_contactid_value@Microsoft.Dynamics.CRM.lookuplogicalname',
      '_new_contactid_value',
    ]);
    expect(row![`_new_contactid_value@${formatted}`]).toBe('Alan Turing');

    const tracked = await api.api('GET', 'contacts?$select=preferredcontactmethodcode', {
      headers: { prefer: `odata.track-changes,odata.include-annotations="${formatted}"` },
    });
    const trackedRows = tracked.json<{ value: Row[]; '@odata.deltaLink'?: string }>();
    expect(trackedRows['@odata.deltaLink']).toBeDefined();
    expect(trackedRows.value[0]![`preferredcontactmethodcode@${formatted}`]).toBeTypeOf('string');
  });

  it('honours a list of terms with a comma inside the quoted value, and exclusions', async () => {
    const contact = bed.emulator.admin.createContact(buildContact({ parentcustomerid: null }));
    const child = bed.emulator.admin.createContact(
      buildContact({ parentcustomerid: contact.contactid as string }),
    );
    const lookups = await api.api(
      'GET',
      `contacts(${child.contactid as string})?$select=_parentcustomerid_value`,
      {
        headers: {
          prefer:
            'odata.include-annotations="Microsoft.Dynamics.CRM.associatednavigationproperty,Microsoft.Dynamics.CRM.lookuplogicalname"',
        },
      },
    );
    const body = lookups.json<Row>();
    expect(body['_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname']).toBe('contact');
    expect(body).not.toHaveProperty(`_parentcustomerid_value@${formatted}`);
    const excluded = await api.api('GET', `contacts(${child.contactid as string})?$select=donotemail`, {
      headers: { prefer: `odata.include-annotations="*,-${formatted}"` },
    });
    expect(excluded.json<Row>()).not.toHaveProperty(`donotemail@${formatted}`);
  });
});

describe('alternate keys', () => {
  it('answers a key that is not declared with the documented 400, and declares keys through the admin API', async () => {
    bed.emulator.admin.createContact(
      buildContact({ emailaddress1: 'key.test@example.com', firstname: 'Keyed' }),
    );
    const undeclared = await api.api(
      'GET',
      "contacts(emailaddress1='key.test@example.com')?$select=firstname",
    );
    expect(undeclared.status).toBe(400);
    expect(undeclared.json<{ error: { message: string } }>().error.message).toBe(
      "The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.contact'. Ensure that the names and number of key properties match the declared or alternate key properties for the resource 'Microsoft.Dynamics.CRM.contact'.",
    );
    const keys = await api.api('GET', "EntityDefinitions(LogicalName='contact')/Keys");
    expect(keys.json<{ value: unknown[] }>().value).toEqual([]);

    bed.emulator.admin.setAlternateKeys('contact', [{ name: 'new_emailkey', columns: ['emailaddress1'] }]);
    try {
      const declared = await api.api(
        'GET',
        "EntityDefinitions(LogicalName='contact')/Keys?$select=LogicalName,KeyAttributes",
      );
      expect(declared.json<{ value: Row[] }>().value).toEqual([
        expect.objectContaining({ LogicalName: 'new_emailkey', KeyAttributes: ['emailaddress1'] }),
      ]);
      // Case-insensitive, as Dataverse's collation.
      const found = await api.api('GET', "contacts(emailaddress1='KEY.test@example.com')?$select=firstname");
      expect(found.status).toBe(200);
      expect(found.json<Row>().firstname).toBe('Keyed');
      expect(found.json<Row>()['@odata.context']).toBe(`${api.base}$metadata#contacts(firstname)/$entity`);
      const property = await api.api('GET', "contacts(emailaddress1='key.test@example.com')/firstname");
      expect(property.json<Row>().value).toBe('Keyed');
      // Part of a key is not a key.
      const partial = await api.api(
        'GET',
        "contacts(emailaddress1='key.test@example.com',firstname='Keyed')",
      );
      expect(partial.status).toBe(400);
      const missing = await api.api('GET', "contacts(emailaddress1='nobody@example.com')");
      expect(missing.status).toBe(404);
      expect(missing.json<{ error: { message: string } }>().error.message).toBe(
        'A record with the specified key values does not exist in contact entity',
      );
    } finally {
      bed.emulator.admin.setAlternateKeys('contact', []);
    }
  });

  it('upserts, updates and deletes by a declared key; the key values stay unique', async () => {
    const created = await api.api('PATCH', "new_memberships(new_code='K-7')", {
      json: { new_name: 'Silver', new_level: 2 },
      headers: { prefer: 'return=representation' },
    });
    expect(created.status).toBe(201);
    expect(created.json<Row>().new_name).toBe('Silver');
    const id = created.json<Row>().new_membershipid as string;
    expect(bed.emulator.admin.getRow('new_membership', id)?.new_code).toBe('K-7');

    // Update: the URL's key wins over a key column in the body.
    const updated = await api.api('PATCH', "new_memberships(new_code='K-7')", {
      json: { new_level: 3, new_code: 'K-8' },
      headers: { 'if-match': '*' },
    });
    expect(updated.status).toBe(204);
    expect(updated.headers['odata-entityid']).toBe(`${api.base}new_memberships(${id})`);
    expect(bed.emulator.admin.getRow('new_membership', id)).toMatchObject({ new_level: 3, new_code: 'K-7' });

    const notThere = await api.api('PATCH', "new_memberships(new_code='K-9')", {
      json: { new_level: 1 },
      headers: { 'if-match': '*' },
    });
    expect(notThere.status).toBe(404);

    const duplicate = await api.api('POST', 'new_memberships', {
      json: { new_name: 'Copy', new_code: 'k-7' },
    });
    expect(duplicate.status).toBe(412);
    expect(duplicate.json<{ error: { message: string } }>().error.message).toMatch(
      /^A record that has the attribute values new_code already exists\. The entity key new_membershipcode requires/,
    );

    expect((await api.api('DELETE', "new_memberships(new_code='K-7')")).status).toBe(204);
    expect(bed.emulator.admin.getRow('new_membership', id)).toBeUndefined();
  });
});

describe('a single attribute by key', () => {
  it('reads EntityDefinitions(…)/Attributes(LogicalName=…) with $select, keeping its derived @odata.type', async () => {
    const response = await api.api(
      'GET',
      "EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='firstname')?$select=LogicalName,AttributeType",
    );
    expect(response.status).toBe(200);
    const body = response.json<Row>();
    expect(body).toEqual({
      '@odata.context': `${api.base}$metadata#EntityDefinitions('contact')/Attributes(LogicalName,AttributeType)/$entity`,
      '@odata.type': '#Microsoft.Dynamics.CRM.StringAttributeMetadata',
      LogicalName: 'firstname',
      AttributeType: 'String',
      MetadataId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
    });
    const byId = await api.api(
      'GET',
      `EntityDefinitions(LogicalName='contact')/Attributes(${body.MetadataId as string})?$select=LogicalName`,
    );
    expect(byId.json<Row>().LogicalName).toBe('firstname');
    const unknown = await api.api(
      'GET',
      "EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='nope')",
    );
    expect(unknown.status).toBe(404);
  });

  it('casts one attribute to its type with $expand=OptionSet (and GlobalOptionSet), as documented', async () => {
    const response = await api.api(
      'GET',
      "EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='preferredcontactmethodcode')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options),GlobalOptionSet($select=Options)",
    );
    expect(response.status).toBe(200);
    const body = response.json<{
      '@odata.context': string;
      LogicalName: string;
      OptionSet: { Options: { Value: number; Label: { UserLocalizedLabel: { Label: string } } }[] };
      GlobalOptionSet: { Options: unknown[] };
    }>();
    expect(body['@odata.context']).toBe(
      `${api.base}$metadata#EntityDefinitions('contact')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata(LogicalName,OptionSet(Options),GlobalOptionSet(Options))/$entity`,
    );
    expect(body).not.toHaveProperty('@odata.type');
    expect(body.OptionSet.Options.map((o) => [o.Value, o.Label.UserLocalizedLabel.Label])).toEqual([
      [1, 'Any'],
      [2, 'Email'],
      [3, 'Phone'],
      [4, 'Fax'],
      [5, 'Mail'],
    ]);
    expect(body.GlobalOptionSet.Options).toEqual(body.OptionSet.Options);

    const optionSet = await api.api(
      'GET',
      "EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='preferredcontactmethodcode')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata/OptionSet?$select=Options",
    );
    expect(optionSet.status).toBe(200);
    expect(optionSet.json<{ Options: unknown[] }>().Options).toHaveLength(5);

    const wrongType = await api.api(
      'GET',
      "EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='firstname')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
    );
    expect(wrongType.status).toBe(404);
    const maxLength = await api.api(
      'GET',
      "EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='firstname')/Microsoft.Dynamics.CRM.StringAttributeMetadata?$select=MaxLength",
    );
    expect(maxLength.json<Row>().MaxLength).toBe(50);
  });
});

describe('derived metadata properties need their cast', () => {
  const message =
    "Could not find a property named 'MaxLength' on type 'Microsoft.Dynamics.CRM.AttributeMetadata'.";

  it.each([
    ["EntityDefinitions(LogicalName='contact')/Attributes?$select=LogicalName,MaxLength"],
    [
      "EntityDefinitions(LogicalName='contact')/Attributes?$select=LogicalName,MaxLength&$filter=AttributeType eq 'String'",
    ],
    ["EntityDefinitions(LogicalName='contact')/Attributes?$select=LogicalName&$filter=MaxLength gt 60"],
    ["EntityDefinitions(LogicalName='contact')?$expand=Attributes($select=LogicalName,MaxLength)"],
    ["EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='firstname')?$select=MaxLength"],
  ])('refuses %s naming the base type', async (path) => {
    const response = await api.api('GET', path);
    expect(response.status).toBe(400);
    expect(response.json<{ error: { code: string; message: string } }>().error).toEqual({
      code: '0x80060888',
      message,
    });
  });

  it('answers the same property through the cast, and names the cast type for a property it lacks', async () => {
    const cast = await api.api(
      'GET',
      "EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata?$select=LogicalName,MaxLength&$filter=MaxLength gt 200",
    );
    expect(cast.status).toBe(200);
    expect(cast.json<{ value: Row[] }>().value.map((v) => [v.LogicalName, v.MaxLength])).toEqual([
      ['address1_line1', 250],
    ]);
    const lacking = await api.api(
      'GET',
      "EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.BooleanAttributeMetadata?$select=MaxLength",
    );
    expect(lacking.status).toBe(400);
    expect(lacking.json<{ error: { message: string } }>().error.message).toBe(
      "Could not find a property named 'MaxLength' on type 'Microsoft.Dynamics.CRM.BooleanAttributeMetadata'.",
    );
  });
});

describe('Entra ID refusals through the production client', () => {
  it('answers a wrong secret with 401 invalid_client AADSTS7000215, and the client reports ENTRA_INVALID_CLIENT at once', async () => {
    const raw = await api.send('POST', `${bed.emulator.url}/contoso.onmicrosoft.com/oauth2/v2.0/token`, {
      form: {
        client_id: 'demo-client',
        scope: `${bed.emulator.url}/.default`,
        client_secret: 'wrong',
        grant_type: 'client_credentials',
      },
    });
    expect(raw.status).toBe(401);
    const body = raw.json<Record<string, unknown>>();
    expect(body.error).toBe('invalid_client');
    expect(body.error_codes).toEqual([7000215]);
    expect(body.error_description).toMatch(/^AADSTS7000215: Invalid client secret provided\./);

    const client = bed.createClient({ clientSecret: 'wrong' });
    const error = await client.request({ method: 'GET', path: 'WhoAmI' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).code).toBe('ENTRA_INVALID_CLIENT');
    expect((error as ConnectorError).message).toMatch(/\(invalid_client\).*AADSTS7000215/);
    expect((error as ConnectorError).message).not.toContain('wrong');
    // The raw request above and the client's one: the client does not retry a refused secret.
    expect(bed.emulator.admin.stats().byRouteAndStatus['POST token 401']).toBe(2);
  });

  it('answers an unknown tenant with AADSTS90002 on both endpoints, and the client reports ENTRA_INVALID_REQUEST without retrying', async () => {
    const token = await api.send('POST', `${bed.emulator.url}/fabrikam.onmicrosoft.com/oauth2/v2.0/token`, {
      form: {
        client_id: 'demo-client',
        scope: `${bed.emulator.url}/.default`,
        client_secret: 'demo-secret',
        grant_type: 'client_credentials',
      },
    });
    expect(token.status).toBe(400);
    expect(token.json<Record<string, unknown>>()).toMatchObject({
      error: 'invalid_request',
      error_codes: [90002],
    });
    const discovery = await api.send(
      'GET',
      `${bed.emulator.url}/fabrikam.onmicrosoft.com/v2.0/.well-known/openid-configuration`,
    );
    expect(discovery.status).toBe(400);
    expect(discovery.json<Record<string, unknown>>()).toMatchObject({
      error: 'invalid_tenant',
      error_codes: [90002],
    });
    expect(discovery.json<{ error_description: string }>().error_description).toMatch(
      /^AADSTS90002: Tenant 'fabrikam.onmicrosoft.com' not found\./,
    );

    const client = bed.createClient({ tenantId: 'fabrikam.onmicrosoft.com' });
    const error = await client.request({ method: 'GET', path: 'WhoAmI' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).code).toBe('ENTRA_INVALID_REQUEST');
    expect((error as ConnectorError).message).toMatch(
      /invalid_tenant.*AADSTS90002: Tenant 'fabrikam.onmicrosoft.com' not found/,
    );
    // The raw request above and the client's one: a permanent refusal is not retried.
    expect(bed.emulator.admin.stats().byRouteAndStatus['GET openid-configuration 400']).toBe(2);
  });
});

describe('serviceendpoints (read-only, seeded)', () => {
  it('lists the seeded endpoints with $select and $filter on contract, never authvalue', async () => {
    const response = await api.api(
      'GET',
      'serviceendpoints?$select=name,url,contract,authtype&$filter=contract eq 8',
    );
    expect(response.status).toBe(200);
    const rows = response.json<{ value: Row[] }>().value;
    expect(rows.map(({ name, url, contract, authtype }) => ({ name, url, contract, authtype }))).toEqual([
      { name: 'dcsync', url: 'https://sync.example.com/webhooks/dynamics', contract: 8, authtype: 5 },
    ]);
    expect(rows[0]).not.toHaveProperty('authvalue');
    expect(typeof rows[0]!.serviceendpointid).toBe('string');
    const all = await api.api('GET', 'serviceendpoints?$select=name');
    expect(all.json<{ value: Row[] }>().value.map((row) => row.name)).toEqual(['bus', 'dcsync']);
  });

  it('refuses authvalue (not valid for read) and writes', async () => {
    const read = await api.api('GET', 'serviceendpoints?$select=name,authvalue');
    expect(read.status).toBe(400);
    expect(read.json<{ error: { code: string } }>().error.code).toBe('0x80060888');
    const write = await api.api('POST', 'serviceendpoints', {
      json: { name: 'x', url: 'https://x', contract: 8 },
    });
    expect(write.status).toBe(405);
  });
});
