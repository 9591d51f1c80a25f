import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodes } from '../../../src/cli/exit-codes.js';
import type { ConfigFinding } from '../../../src/config/config-finding.js';
import type { CampaignSeedInput } from '../../../emulators/campaign/campaign-seed-file.js';
import { campaignTestSeed } from '../../support/campaign-test-bed.js';
import { runDcsync, validateJson } from '../../support/cli-runner.js';
import { testEnv, type SyncTestBed } from '../../support/sync-test-bed.js';
import {
  noteTable,
  orderLineTable,
  orderTable,
  startCustomTableBed,
  type CustomTableEntry,
} from '../../support/custom-table-fixtures.js';

/**
 * Campaign resources for the rules the test seed does not break: a key column that is not a
 * declared identification key, and a cardinality-1 link that does not cascade deletes.
 */
const preflightCampaignSeed: CampaignSeedInput = {
  resources: [
    ...(campaignTestSeed.resources ?? []),
    {
      name: 'cusLoose',
      keyField: null,
      fields: [
        { name: 'crmId', type: 'string', length: 36 },
        { name: 'amount', type: 'double' },
      ],
      links: [{ name: 'profile', target: 'profile', cardinality: '1', onDelete: 'cascade' }],
      filters: [{ name: 'byCrmId', field: 'crmId', parameter: 'crmId_parameter' }],
    },
    {
      name: 'cusTicket',
      keyField: 'crmId',
      fields: [
        { name: 'crmId', type: 'string', length: 36 },
        { name: 'amount', type: 'double' },
      ],
      links: [{ name: 'profile', target: 'profile', cardinality: '1', onDelete: 'none' }],
    },
  ],
};

let bed: SyncTestBed;
let base: Record<string, unknown>;
let file = 0;

beforeAll(async () => {
  bed = await startCustomTableBed({ campaign: { seedFile: preflightCampaignSeed } });
  base = parse(readFileSync(bed.configPath, 'utf8')) as Record<string, unknown>;
});
afterAll(async () => {
  await bed.close();
});

/** Write a configuration with these custom tables (and flows overrides); returns its path. */
function writeConfig(tables: readonly CustomTableEntry[], flows: Record<string, unknown> = {}): string {
  const path = join(bed.dir, `preflight-${++file}.yaml`);
  const config = { ...base, flows: { ...(base.flows as object), ...flows, customTables: tables } };
  writeFileSync(path, stringify(config));
  return path;
}

function validate(
  tables: readonly CustomTableEntry[],
  flows: Record<string, unknown> = {},
): Promise<{ code: number; findings: ConfigFinding[] }> {
  return validateJson(writeConfig(tables, flows), testEnv);
}

function only(findings: ConfigFinding[], code: string): ConfigFinding {
  const matching = findings.filter((f) => f.code === code);
  expect(matching, `${code} in ${JSON.stringify(findings.map((f) => f.code))}`).toHaveLength(1);
  return matching[0]!;
}

function change(table: CustomTableEntry, patch: Record<string, unknown>): CustomTableEntry {
  return { ...table, ...patch };
}

describe('custom tables: pre-flight against both tenants (validate live check)', () => {
  it('passes a correct three-level configuration', async () => {
    const { code, findings } = await validate([orderTable, orderLineTable, noteTable]);
    expect(findings).toEqual([]);
    expect(code).toBe(exitCodes.ok);
  });

  it('names a table without change tracking and says how to enable it', async () => {
    const { code, findings } = await validate([
      orderTable,
      {
        table: 'new_untracked',
        resource: 'cusOrderLine',
        keyColumn: 'crmId',
        mapping: { new_code: 'sku' },
        links: [{ lookup: 'new_name', link: 'order', target: 'cusOrder' }],
      },
    ]);
    expect(code).toBe(exitCodes.preflight);
    const finding = only(findings, 'PREFLIGHT_CHANGE_TRACKING');
    expect(finding.path).toBe('flows.customTables[1].table');
    expect(finding.message).toContain('Change tracking is not enabled on Dynamics table new_untracked');
    expect(finding.message).toContain("Enable 'Track changes' on table new_untracked in Power Apps");
  });

  it('names a missing table, resource, column and field, with a hint', async () => {
    const { findings } = await validate([
      change(orderTable, { mapping: { new_amout: 'amount', new_contactid: 'amont' } }),
      change(orderLineTable, { table: 'new_orderlne' }),
      change(noteTable, { resource: 'cusNotes' }),
    ]);
    const column = only(findings, 'PREFLIGHT_COLUMN_MISSING');
    expect(column.path).toBe('flows.customTables[0].mapping.new_amout');
    expect(column.message).toBe(
      'custom table new_order → cusOrder: column new_amout does not exist on Dynamics table new_order (did you mean "new_amount"?)',
    );
    const field = only(findings, 'PREFLIGHT_FIELD_MISSING');
    expect(field.path).toBe('flows.customTables[0].mapping.new_contactid');
    expect(field.message).toContain(
      'Campaign field amont (for column new_contactid) does not exist on resource cusOrder',
    );
    expect(field.message).toContain('did you mean "amount"?');
    const table = only(findings, 'PREFLIGHT_TABLE_MISSING');
    expect(table.path).toBe('flows.customTables[1].table');
    expect(table.message).toContain('Dynamics table new_orderlne does not exist');
    const resource = only(findings, 'PREFLIGHT_RESOURCE_MISSING');
    expect(resource.path).toBe('flows.customTables[2].resource');
    expect(resource.message).toContain('Campaign resource cusNotes does not exist');
  });

  it('names a configured entitySet that is not the table’s', async () => {
    const { code, findings } = await validate([
      orderTable,
      change(orderLineTable, { entitySet: 'new_orderlinez' }),
    ]);
    expect(code).toBe(exitCodes.preflight);
    const finding = only(findings, 'PREFLIGHT_ENTITY_SET');
    expect(finding.path).toBe('flows.customTables[1].entitySet');
    expect(finding.message).toContain('its metadata reports "new_orderlines"');
  });

  it('rejects a column whose type Campaign cannot hold', async () => {
    const { findings } = await validate([change(orderTable, { mapping: { new_amount: 'status' } })]);
    const finding = only(findings, 'PREFLIGHT_TYPE_MISMATCH');
    expect(finding.path).toBe('flows.customTables[0].mapping.new_amount');
    expect(finding.message).toBe(
      'custom table new_order → cusOrder: column new_amount of Dynamics table new_order is Decimal, but Campaign field status of cusOrder is enumeration; it accepts number, string, memo',
    );
  });

  it('requires the key column on the resource, able to hold a Dynamics id, and warns when it is not a declared key', async () => {
    const missing = await validate([change(orderTable, { keyColumn: 'crmid' })]);
    const finding = only(missing.findings, 'PREFLIGHT_KEY_COLUMN_MISSING');
    expect(finding.path).toBe('flows.customTables[0].keyColumn');
    expect(finding.message).toContain('key column crmid does not exist on Campaign resource cusOrder');
    expect(finding.message).toContain('did you mean "crmId"?');

    const short = await validate([
      change(orderTable, {
        resource: 'cusStore',
        keyColumn: 'storeCode',
        personalData: false,
        mapping: {},
        links: [],
      }),
    ]);
    expect(only(short.findings, 'PREFLIGHT_KEY_COLUMN_TYPE').message).toContain(
      'key column storeCode of cusStore is string(10); it must be a string of at least 36 characters',
    );

    const loose = await validate([change(orderTable, { resource: 'cusLoose' })]);
    expect(loose.code).toBe(exitCodes.ok);
    const warning = only(loose.findings, 'PREFLIGHT_KEY_NOT_DECLARED');
    expect(warning.severity).toBe('warning');
    expect(warning.message).toContain(
      'key column crmId is not a declared identification ("CRM ID") key of cusLoose',
    );
  });

  it('checks each lookup in Dynamics and each link in Campaign, and that both point at the configured parent', async () => {
    const { findings } = await validate([
      orderTable,
      change(orderLineTable, { links: [{ lookup: 'new_orderid', link: 'order', target: 'profile' }] }),
      change(noteTable, { links: [{ lookup: 'new_contact', link: 'profile', target: 'profile' }] }),
      {
        table: 'new_untracked',
        resource: 'cusTicket',
        keyColumn: 'crmId',
        mapping: {},
        links: [
          { lookup: 'new_code', link: 'profile', target: 'profile' },
          { lookup: 'new_name', link: 'customer', target: 'profile' },
        ],
      },
    ]);
    const lookupTarget = only(findings, 'PREFLIGHT_LOOKUP_TARGET');
    expect(lookupTarget.path).toBe('flows.customTables[1].links[0].lookup');
    expect(lookupTarget.message).toBe(
      'custom table new_orderline → cusOrderLine: lookup new_orderid of Dynamics table new_orderline points to new_order, but link order targets profile, which is fed by Dynamics table contact',
    );
    const linkTarget = only(findings, 'PREFLIGHT_LINK_TARGET');
    expect(linkTarget.path).toBe('flows.customTables[1].links[0].target');
    expect(linkTarget.message).toContain(
      'Campaign link order of cusOrderLine targets cusOrder, but the configuration links it to profile',
    );
    const lookupMissing = only(findings, 'PREFLIGHT_LOOKUP_MISSING');
    expect(lookupMissing.path).toBe('flows.customTables[2].links[0].lookup');
    expect(lookupMissing.message).toContain(
      'lookup column new_contact does not exist on Dynamics table new_note (did you mean "new_contactid"?)',
    );
    const notLookup = findings.filter((f) => f.code === 'PREFLIGHT_LOOKUP_NOT_LOOKUP');
    expect(notLookup.map((f) => f.path)).toEqual([
      'flows.customTables[3].links[0].lookup',
      'flows.customTables[3].links[1].lookup',
    ]);
    expect(notLookup[0]!.message).toContain(
      'column new_code of Dynamics table new_untracked is String, not a lookup',
    );
    const linkMissing = only(findings, 'PREFLIGHT_LINK_MISSING');
    expect(linkMissing.path).toBe('flows.customTables[3].links[1].link');
    expect(linkMissing.message).toContain('Campaign resource cusTicket has no link customer');
    // A cardinality-1 link without cascade leaves hidden children behind when a parent is deleted.
    const hides = only(findings, 'PREFLIGHT_LINK_HIDES_CHILDREN');
    expect(hides.severity).toBe('warning');
    expect(hides.path).toBe('flows.customTables[3].links[0].link');
  });

  it('requires personal data to reach the profile through links that cascade deletes at every hop', async () => {
    const { code, findings } = await validate([change(noteTable, { personalData: true })]);
    expect(code).toBe(exitCodes.preflight);
    const finding = only(findings, 'PREFLIGHT_PERSONAL_DATA_NOT_CASCADED');
    expect(finding.path).toBe('flows.customTables[0].personalData');
    expect(finding.message).toContain(
      "custom table new_note → cusNote holds personal data, but no chain of links with cascade delete reaches the profile (link profile of cusNote deletes 'none', not 'cascade')",
    );
    // Two hops that both cascade are fine.
    const chain = await validate([orderTable, orderLineTable]);
    expect(chain.findings.filter((f) => f.code.startsWith('PREFLIGHT_PERSONAL'))).toEqual([]);
  });

  it('refuses links to a parent whose flow is disabled (its children would wait forever)', async () => {
    const { findings } = await validate([change(orderTable, { enabled: false }), orderLineTable]);
    const finding = only(findings, 'PREFLIGHT_PARENT_FLOW_DISABLED');
    expect(finding.path).toBe('flows.customTables[1].links[0].target');
    expect(finding.message).toContain('link order targets cusOrder, whose flow is disabled');
    const contacts = (base.flows as { contacts: Record<string, unknown> }).contacts;
    const profile = await validate([orderTable], { contacts: { ...contacts, enabled: false } });
    expect(only(profile.findings, 'PREFLIGHT_PARENT_FLOW_DISABLED').message).toContain(
      'link profile targets profile, whose flow is disabled, so its records would wait for parents forever; enable the contacts flow',
    );
  });

  it('reports the rules of the file itself (depth, link count, table twice) with table and column', async () => {
    const { code, findings } = await validate([
      orderTable,
      orderLineTable,
      change(noteTable, { links: [{ lookup: 'new_contactid', link: 'line', target: 'cusOrderLine' }] }),
      {
        table: 'new_untracked',
        resource: 'cusStore',
        keyColumn: 'storeCode',
        mapping: {},
        links: [{ lookup: 'new_code', link: 'note', target: 'cusNote' }],
      },
      change(orderTable, {
        resource: 'cusTicket',
        links: ['a', 'b', 'c', 'd', 'e', 'f'].map((l) => ({
          lookup: `new_${l}`,
          link: l,
          target: 'profile',
        })),
      }),
    ]);
    expect(code).toBe(exitCodes.config);
    const depth = only(findings, 'CONFIG_LINK_DEPTH');
    expect(depth.path).toBe('flows.customTables[3].links');
    expect(depth.message).toBe(
      'custom table new_untracked → cusStore: 4 levels of linked resources (cusStore → cusNote → cusOrderLine → cusOrder); Campaign supports at most 3 (table1 → table2 → table3)',
    );
    const count = only(findings, 'CONFIG_LINK_COUNT');
    expect(count.path).toBe('flows.customTables[4].links');
    expect(count.message).toBe(
      'custom table new_order → cusTicket: 6 linked columns; Campaign allows at most 5 per resource',
    );
    const twice = only(findings, 'CONFIG_TABLE_TWICE');
    expect(twice.path).toBe('flows.customTables[4].table');
    expect(twice.message).toBe(
      'Dynamics table new_order is mapped twice (also flows.customTables[0]); a table maps to one resource',
    );
  });
});

describe('custom tables: pre-flight at start-up', () => {
  it('dcsync run refuses to start, listing every problem (exit 6)', async () => {
    const path = writeConfig([
      change(orderTable, { mapping: { new_amount: 'status' } }),
      change(noteTable, { personalData: true }),
    ]);
    const result = await runDcsync(['run', '--config', path, '--until-idle'], testEnv);
    expect(result.code).toBe(exitCodes.preflight);
    expect(result.stderr).toContain('PREFLIGHT_FAILED: Custom tables failed the pre-flight check:');
    expect(result.stderr).toContain('error PREFLIGHT_TYPE_MISMATCH flows.customTables[0].mapping.new_amount');
    expect(result.stderr).toContain(
      'error PREFLIGHT_PERSONAL_DATA_NOT_CASCADED flows.customTables[1].personalData',
    );
  });
});
