/**
 * Choice labels: the emulator serves option sets in the Dataverse metadata shape
 * (`…/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet($select=Options)`),
 * and the production metadata reader turns them into column → value → label.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../../src/core/errors.js';
import { DynamicsMetadataReader } from '../../../src/connectors/dynamics/dynamics-metadata-reader.js';
import {
  RawDataverseApi,
  startDynamicsTestBed,
  type DynamicsTestBed,
} from '../../support/dynamics-test-bed.js';

/** A custom table whose choice column mixes labelled options and a bare number (label = the number). */
const tierSeed = {
  tables: [
    {
      logicalName: 'new_tier',
      entitySetName: 'new_tiers',
      changeTracking: true,
      columns: [
        {
          name: 'new_rank',
          type: 'picklist' as const,
          options: [{ value: 100000000, label: 'Gold' }, { value: 100000001, label: 'Silver' }, 7],
        },
        { name: 'new_note', type: 'string' as const },
        {
          name: 'new_perks',
          type: 'multiselectpicklist' as const,
          options: [
            { value: 100000000, label: 'Lounge' },
            { value: 100000001, label: 'Upgrade' },
            { value: 100000002, label: 'Priority' },
          ],
        },
      ],
      rows: [],
    },
  ],
};

interface OptionBody {
  Value: number;
  Label: {
    LocalizedLabels: { Label: string; LanguageCode: number }[];
    UserLocalizedLabel: { Label: string; LanguageCode: number } | null;
  };
  DefaultStatus?: number;
  State?: number;
}

interface CastBody {
  '@odata.context': string;
  value: {
    LogicalName: string;
    MetadataId: string;
    OptionSet: { MetadataId: string; Options: OptionBody[] } | null;
  }[];
}

let bed: DynamicsTestBed;
let api: RawDataverseApi;

beforeAll(async () => {
  bed = await startDynamicsTestBed({ contacts: 2, seed: 3, seedData: tierSeed });
  api = new RawDataverseApi(bed.emulator);
});

afterAll(async () => {
  await api.close();
  await bed.close();
});

const castPath = (table: string, type: string): string =>
  `EntityDefinitions(LogicalName='${table}')/Attributes/Microsoft.Dynamics.CRM.${type}?$select=LogicalName&$expand=OptionSet($select=Options)`;

function labelsOf(options: OptionBody[]): [number, string, string | undefined][] {
  return options.map((o) => [o.Value, o.Label.LocalizedLabels[0]!.Label, o.Label.UserLocalizedLabel?.Label]);
}

describe('option set metadata on the wire', () => {
  it('lists picklist attributes with their options and labels in the documented shape', async () => {
    const response = await api.api('GET', castPath('contact', 'PicklistAttributeMetadata'));
    expect(response.status).toBe(200);
    expect(response.headers['odata-version']).toBe('4.0');
    const body = response.json<CastBody>();
    expect(body['@odata.context']).toBe(
      `${api.base}$metadata#EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata(LogicalName,OptionSet(Options))`,
    );
    expect(body.value.map((a) => a.LogicalName)).toEqual(['preferredcontactmethodcode']);
    const [attribute] = body.value;
    expect(Object.keys(attribute!).sort()).toEqual(['LogicalName', 'MetadataId', 'OptionSet']);
    expect(attribute!.MetadataId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(attribute!.OptionSet!).sort()).toEqual(['MetadataId', 'Options']);
    expect(labelsOf(attribute!.OptionSet!.Options)).toEqual([
      [1, 'Any', 'Any'],
      [2, 'Email', 'Email'],
      [3, 'Phone', 'Phone'],
      [4, 'Fax', 'Fax'],
      [5, 'Mail', 'Mail'],
    ]);
    expect(attribute!.OptionSet!.Options[1]!.Label.LocalizedLabels[0]!.LanguageCode).toBe(1033);
    expect(attribute!.OptionSet!.Options[1]!.Label.UserLocalizedLabel!.LanguageCode).toBe(1033);
  });

  it('serves the state and status option sets through their own casts', async () => {
    const state = (await api.api('GET', castPath('contact', 'StateAttributeMetadata'))).json<CastBody>();
    expect(state.value.map((a) => a.LogicalName)).toEqual(['statecode']);
    const stateOptions = state.value[0]!.OptionSet!.Options;
    expect(labelsOf(stateOptions)).toEqual([
      [0, 'Active', 'Active'],
      [1, 'Inactive', 'Inactive'],
    ]);
    expect(stateOptions.map((o) => o.DefaultStatus)).toEqual([1, 2]);

    const status = (await api.api('GET', castPath('contact', 'StatusAttributeMetadata'))).json<CastBody>();
    expect(status.value.map((a) => a.LogicalName)).toEqual(['statuscode']);
    const statusOptions = status.value[0]!.OptionSet!.Options;
    expect(labelsOf(statusOptions)).toEqual([
      [1, 'Active', 'Active'],
      [2, 'Inactive', 'Inactive'],
    ]);
    expect(statusOptions.map((o) => o.State)).toEqual([0, 1]);
  });

  it('labels seed-file options, a bare number by its own text', async () => {
    const body = (await api.api('GET', castPath('new_tier', 'PicklistAttributeMetadata'))).json<CastBody>();
    expect(body.value.map((a) => a.LogicalName)).toEqual(['new_rank']);
    expect(labelsOf(body.value[0]!.OptionSet!.Options)).toEqual([
      [100000000, 'Gold', 'Gold'],
      [100000001, 'Silver', 'Silver'],
      [7, '7', '7'],
    ]);
  });

  it('answers a cast to an unknown or non-castable type like an unknown path segment', async () => {
    for (const type of ['NoSuchAttributeMetadata', 'EnumAttributeMetadata']) {
      const response = await api.api('GET', castPath('contact', type));
      expect(response.status).toBe(404);
      expect(response.json<{ error: { code: string; message: string } }>().error).toEqual({
        code: '0x80060888',
        message: `Resource not found for the segment 'Microsoft.Dynamics.CRM.${type}'.`,
      });
    }
    const notAttributes = await api.api(
      'GET',
      "EntityDefinitions(LogicalName='contact')/ManyToOneRelationships/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
    );
    expect(notAttributes.status).toBe(404);
  });

  it('refuses an OptionSet expansion on an attribute type without options', async () => {
    const response = await api.api('GET', castPath('contact', 'StringAttributeMetadata'));
    expect(response.status).toBe(400);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('0x80060888');
    const plain = await api.api(
      'GET',
      "EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.BooleanAttributeMetadata?$select=LogicalName",
    );
    expect(plain.status).toBe(200);
    expect(plain.json<CastBody>().value.map((a) => a.LogicalName)).toContain('donotemail');
  });

  it('still validates choice values on write against the labelled options', async () => {
    const id = bed.emulator.admin.listIds('contact')[0]!;
    const bad = await api.api('PATCH', `contacts(${id})`, {
      headers: { 'if-match': '*' },
      json: { preferredcontactmethodcode: 9 },
    });
    expect(bad.status).toBe(400);
    expect(bad.json<{ error: { code: string } }>().error.code).toBe('0x80044331');
    const good = await api.api('PATCH', `contacts(${id})`, {
      headers: { 'if-match': '*' },
      json: { preferredcontactmethodcode: 2 },
    });
    expect(good.status).toBe(204);
    expect(bed.emulator.admin.getContact(id)!.preferredcontactmethodcode).toBe(2);
  });

  it('serves a multi-select column as Virtual/MultiSelectPicklistType with its own cast and options', async () => {
    const attributes = (
      await api.api(
        'GET',
        "EntityDefinitions(LogicalName='new_tier')/Attributes?$select=LogicalName,AttributeType,AttributeTypeName&$filter=LogicalName eq 'new_perks'",
      )
    ).json<{
      value: { AttributeType: string; AttributeTypeName: { Value: string }; '@odata.type'?: string }[];
    }>();
    expect(attributes.value).toMatchObject([
      { AttributeType: 'Virtual', AttributeTypeName: { Value: 'MultiSelectPicklistType' } },
    ]);
    const body = (
      await api.api('GET', castPath('new_tier', 'MultiSelectPicklistAttributeMetadata'))
    ).json<CastBody>();
    expect(body.value.map((a) => a.LogicalName)).toEqual(['new_perks']);
    expect(labelsOf(body.value[0]!.OptionSet!.Options)).toEqual([
      [100000000, 'Lounge', 'Lounge'],
      [100000001, 'Upgrade', 'Upgrade'],
      [100000002, 'Priority', 'Priority'],
    ]);
  });

  it('reads and writes a multi-select value as the chosen values joined by commas, checked against the options', async () => {
    const row = bed.emulator.admin.createRow('new_tier', {});
    const id = String(row.new_tierid);
    const patch = (value: unknown) =>
      api.api('PATCH', `new_tiers(${id})`, { headers: { 'if-match': '*' }, json: { new_perks: value } });
    expect((await patch('100000002,100000000,100000002')).status).toBe(204);
    const read = await api.api('GET', `new_tiers(${id})?$select=new_perks`);
    expect(read.json<{ new_perks: string | null }>().new_perks).toBe('100000002,100000000');
    const outside = await patch('100000000,5');
    expect(outside.status).toBe(400);
    expect(outside.json<{ error: { code: string } }>().error.code).toBe('0x80044331');
    const notText = await patch(100000000);
    expect(notText.status).toBe(400);
    expect(notText.json<{ error: { code: string } }>().error.code).toBe('0x80048d19');
    expect((await patch('')).status).toBe(204);
    expect(
      (await api.api('GET', `new_tiers(${id})?$select=new_perks`)).json<{ new_perks: string | null }>()
        .new_perks,
    ).toBeNull();
  });
});

describe('DynamicsMetadataReader.getOptionLabels', () => {
  it('maps every choice column of a table to value → label', async () => {
    const reader = new DynamicsMetadataReader(bed.createClient());
    expect(await reader.getOptionLabels('contact')).toEqual({
      preferredcontactmethodcode: { '1': 'Any', '2': 'Email', '3': 'Phone', '4': 'Fax', '5': 'Mail' },
      statecode: { '0': 'Active', '1': 'Inactive' },
      statuscode: { '1': 'Active', '2': 'Inactive' },
    });
    expect(await reader.getOptionLabels('new_tier')).toEqual({
      new_rank: { '100000000': 'Gold', '100000001': 'Silver', '7': '7' },
      new_perks: { '100000000': 'Lounge', '100000001': 'Upgrade', '100000002': 'Priority' },
      statecode: { '0': 'Active', '1': 'Inactive' },
      statuscode: { '1': 'Active', '2': 'Inactive' },
    });
  });

  it('returns only the columns asked for, and asks nothing for an empty list', async () => {
    const client = bed.createClient();
    const reader = new DynamicsMetadataReader(client);
    expect(await reader.getOptionLabels('contact', ['preferredcontactmethodcode', 'firstname'])).toEqual({
      preferredcontactmethodcode: { '1': 'Any', '2': 'Email', '3': 'Phone', '4': 'Fax', '5': 'Mail' },
    });
    const before = client.stats().requests;
    expect(await reader.getOptionLabels('contact', [])).toEqual({});
    expect(client.stats().requests).toBe(before);
  });

  it('reports a multi-select column as MultiSelectPicklist in the table metadata', async () => {
    const reader = new DynamicsMetadataReader(bed.createClient());
    const metadata = await reader.getTableMetadata('new_tier');
    expect(metadata.attributes.find((a) => a.logicalName === 'new_perks')).toEqual({
      logicalName: 'new_perks',
      type: 'MultiSelectPicklist',
    });
    expect(metadata.attributes.find((a) => a.logicalName === 'new_rank')!.type).toBe('Picklist');
  });

  it('fails with DYNAMICS_TABLE_NOT_FOUND for a table that does not exist', async () => {
    const reader = new DynamicsMetadataReader(bed.createClient());
    const error = await reader.getOptionLabels('new_nosuch').then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'DYNAMICS_TABLE_NOT_FOUND', status: 404 });
    expect((error as Error).message).toContain('new_nosuch');
  });
});
