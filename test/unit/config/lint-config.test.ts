import { describe, expect, it } from 'vitest';
import type { ConfigFinding } from '../../../src/config/config-finding.js';
import { configSchema, type SyncConfigInput } from '../../../src/config/config-schema.js';
import { lintConfig } from '../../../src/config/lint-config.js';
import { buildConfigInput, buildCustomTable, buildFlows, buildSftp } from './support/config-builders.js';

function lint(input: SyncConfigInput): ConfigFinding[] {
  return lintConfig(configSchema.parse(input));
}

function errors(input: SyncConfigInput): Pick<ConfigFinding, 'code' | 'path' | 'message'>[] {
  return lint(input)
    .filter((finding) => finding.severity === 'error')
    .map(({ code, path, message }) => ({ code, path, message }));
}

function withOptOut(
  optOut: NonNullable<SyncConfigInput['flows']['optOut']>,
  overrides: Partial<SyncConfigInput> = {},
): SyncConfigInput {
  const base = buildConfigInput();
  return buildConfigInput({
    campaign: { ...base.campaign, sftp: buildSftp() },
    flows: buildFlows({ optOut }),
    ...overrides,
  });
}

function withTables(...customTables: ReturnType<typeof buildCustomTable>[]): SyncConfigInput {
  return buildConfigInput({ flows: buildFlows({ customTables }) });
}

describe('lintConfig', () => {
  it('finds nothing wrong in a sound configuration', () => {
    expect(lint(buildConfigInput())).toEqual([]);
  });

  describe('opt-outs', () => {
    it('accepts every blackList* attribute and ccpaOptOut', () => {
      const mapping = {
        donotemail: 'blackListEmail',
        donotbulkemail: 'blackList',
        donotfax: 'blackListFax',
        donotphone: 'blackListPhone',
        donotpostalmail: 'blackListPostalMail',
        new_donotsms: 'blackListMobile',
        new_donotpush: 'blackListPushnotification',
        new_ccpa: 'ccpaOptOut',
      };
      expect(errors(withOptOut({ mode: 'bidirectional', mapping }))).toEqual([]);
    });

    it('rejects any other Campaign target, naming column and attribute, with the API name for UI labels', () => {
      const found = errors(
        withOptOut({
          mode: 'dynamics-to-campaign',
          mapping: { donotemail: 'denyListEmail', donotphone: 'phone' },
        }),
      );
      expect(found).toEqual([
        {
          code: 'CONFIG_OPTOUT_TARGET',
          path: 'flows.optOut.mapping.donotemail',
          message: expect.stringContaining(
            'Dynamics column donotemail → Campaign attribute denyListEmail',
          ) as string,
        },
        {
          code: 'CONFIG_OPTOUT_TARGET',
          path: 'flows.optOut.mapping.donotphone',
          message: expect.stringContaining('opt-outs may only target blackList, blackListEmail') as string,
        },
      ]);
      expect(found[0]!.message).toContain('did you mean "blackListEmail"? denyList is the UI label');
    });

    it('rejects two Dynamics columns feeding one opt-out attribute', () => {
      expect(
        errors(
          withOptOut({
            mode: 'bidirectional',
            mapping: { donotemail: 'blackList', donotbulkemail: 'blackList' },
          }),
        ),
      ).toEqual([
        {
          code: 'CONFIG_OPTOUT_TARGET_TWICE',
          path: 'flows.optOut.mapping.donotbulkemail',
          message:
            'Campaign attribute blackList already receives donotemail; each opt-out attribute takes one Dynamics column',
        },
      ]);
    });

    it.each(['campaign-to-dynamics', 'bidirectional'] as const)(
      'requires campaign.sftp for mode %s',
      (mode) => {
        const input = withOptOut({ mode, mapping: { donotemail: 'blackListEmail' } });
        delete input.campaign.sftp;
        expect(errors(input)).toEqual([
          {
            code: 'CONFIG_OPTOUT_NEEDS_SFTP',
            path: 'flows.optOut.mode',
            message: `opt-out mode ${mode} reads Campaign's daily export file over SFTP; configure campaign.sftp`,
          },
        ]);
      },
    );

    it('does not need SFTP for dynamics-to-campaign', () => {
      const input = withOptOut({ mode: 'dynamics-to-campaign', mapping: { donotemail: 'blackListEmail' } });
      delete input.campaign.sftp;
      expect(errors(input)).toEqual([]);
    });

    it('reminds about typology rules whenever opt-outs are on, and not when they are off', () => {
      const on = lint(
        withOptOut({ mode: 'dynamics-to-campaign', mapping: { donotemail: 'blackListEmail' } }),
      );
      expect(on).toEqual([
        expect.objectContaining({
          severity: 'info',
          code: 'CONFIG_OPTOUT_TYPOLOGY',
          path: 'flows.optOut.mode',
        }),
      ]);
      expect(lint(withOptOut({ mode: 'disabled' }))).toEqual([]);
    });

    it('requires a mapping when enabled and warns that it is ignored when disabled', () => {
      expect(errors(withOptOut({ mode: 'bidirectional' }))).toEqual([
        expect.objectContaining({ code: 'CONFIG_OPTOUT_MAPPING_EMPTY', path: 'flows.optOut.mapping' }),
      ]);
      expect(lint(withOptOut({ mode: 'disabled', mapping: { donotemail: 'blackListEmail' } }))).toEqual([
        expect.objectContaining({ severity: 'warning', code: 'CONFIG_OPTOUT_MAPPING_IGNORED' }),
      ]);
    });

    it('warns about file settings that let a half-written export be read, or a line hold much memory', () => {
      const codes = (file: NonNullable<NonNullable<SyncConfigInput['flows']['optOut']>['file']>) =>
        lint(withOptOut({ mode: 'campaign-to-dynamics', mapping: { donotemail: 'blackListEmail' }, file }))
          .filter((finding) => finding.severity === 'warning')
          .map(({ code, path }) => [code, path]);
      expect(codes({})).toEqual([]);
      expect(codes({ stableChecks: 1 })).toEqual([
        ['CONFIG_OPTOUT_STABLE_CHECKS', 'flows.optOut.file.stableChecks'],
      ]);
      expect(codes({ stableChecks: 3, pollIntervalMs: 10_000 })).toEqual([
        ['CONFIG_OPTOUT_STABLE_WINDOW', 'flows.optOut.file.stableChecks'],
      ]);
      expect(codes({ stableChecks: 3, pollIntervalMs: 30_000 })).toEqual([]);
      expect(codes({ maxLineBytes: 8 * 1024 * 1024 })).toEqual([
        ['CONFIG_OPTOUT_LINE_LIMIT', 'flows.optOut.file.maxLineBytes'],
      ]);
      // Nothing to warn about when no file is read.
      expect(
        lint(
          withOptOut({
            mode: 'dynamics-to-campaign',
            mapping: { donotemail: 'blackListEmail' },
            file: { stableChecks: 1 },
          }),
        ).filter((finding) => finding.severity === 'warning'),
      ).toEqual([]);
    });

    it('rejects a column or attribute that the contact mapping also uses', () => {
      const input = withOptOut({ mode: 'bidirectional', mapping: { donotemail: 'blackListEmail' } });
      input.flows.contacts.mapping = {
        donotemail: 'cusDoNotEmail',
        new_optout: 'blackListEmail',
        firstname: 'firstName',
      };
      expect(errors(input)).toEqual([
        {
          code: 'CONFIG_OPTOUT_CONFLICT',
          path: 'flows.contacts.mapping.donotemail',
          message: expect.stringContaining(
            'Dynamics column donotemail is mapped both here and in flows.optOut.mapping',
          ) as string,
        },
        {
          code: 'CONFIG_OPTOUT_CONFLICT',
          path: 'flows.contacts.mapping.new_optout',
          message: expect.stringContaining(
            'Campaign attribute blackListEmail receives new_optout here and donotemail',
          ) as string,
        },
      ]);
    });
  });

  describe('field mappings', () => {
    it('rejects two Dynamics columns feeding one Campaign field', () => {
      const input = buildConfigInput({
        flows: buildFlows({
          contacts: { mapping: { emailaddress1: 'email', emailaddress2: { to: 'email' } } },
        }),
      });
      expect(errors(input)).toEqual([
        {
          code: 'CONFIG_MAPPING_TARGET_TWICE',
          path: 'flows.contacts.mapping.emailaddress2',
          message:
            'contacts: Campaign field email already receives emailaddress1; two Dynamics columns cannot feed one field',
        },
      ]);
    });

    it('rejects a column mapped twice in different spellings', () => {
      const input = buildConfigInput({
        flows: buildFlows({ contacts: { mapping: { firstname: 'firstName', FirstName: 'middleName' } } }),
      });
      expect(errors(input)).toEqual([
        expect.objectContaining({
          code: 'CONFIG_MAPPING_SOURCE_TWICE',
          path: 'flows.contacts.mapping.FirstName',
        }),
      ]);
    });

    it('keeps externalId for the sync', () => {
      const input = buildConfigInput({
        flows: buildFlows({ contacts: { mapping: { new_code: 'externalId' } } }),
      });
      expect(errors(input)).toEqual([
        expect.objectContaining({ code: 'CONFIG_MAPPING_RESERVED', path: 'flows.contacts.mapping.new_code' }),
      ]);
    });

    it('requires a mapping for an enabled contact flow', () => {
      const input = buildConfigInput({ flows: buildFlows({ contacts: { mapping: {} } }) });
      expect(errors(input)).toEqual([expect.objectContaining({ code: 'CONFIG_MAPPING_EMPTY' })]);
      const disabled = buildConfigInput({ flows: buildFlows({ contacts: { enabled: false, mapping: {} } }) });
      expect(errors(disabled)).toEqual([]);
    });
  });

  describe('custom tables', () => {
    it('accepts three levels of linked resources', () => {
      const input = withTables(
        buildCustomTable({ table: 'new_a', personalData: true }),
        buildCustomTable({
          table: 'new_b',
          personalData: true,
          links: [{ lookup: '_new_a_value', link: 'a', target: 'cusA' }],
        }),
        buildCustomTable({ table: 'new_c', links: [{ lookup: '_new_b_value', link: 'b', target: 'cusB' }] }),
      );
      expect(lint(input)).toEqual([]);
    });

    it('rejects a fourth level, naming the chain', () => {
      const input = withTables(
        buildCustomTable({ table: 'new_a' }),
        buildCustomTable({ table: 'new_b', links: [{ lookup: '_new_a_value', link: 'a', target: 'cusA' }] }),
        buildCustomTable({ table: 'new_c', links: [{ lookup: '_new_b_value', link: 'b', target: 'cusB' }] }),
        buildCustomTable({ table: 'new_d', links: [{ lookup: '_new_c_value', link: 'c', target: 'cusC' }] }),
      );
      expect(errors(input)).toEqual([
        {
          code: 'CONFIG_LINK_DEPTH',
          path: 'flows.customTables[3].links',
          message:
            'custom table new_d → cusD: 4 levels of linked resources (cusD → cusC → cusB → cusA); Campaign supports at most 3 (table1 → table2 → table3)',
        },
      ]);
    });

    it('rejects a link cycle', () => {
      const input = withTables(
        buildCustomTable({ table: 'new_a', links: [{ lookup: '_new_b_value', link: 'b', target: 'cusB' }] }),
        buildCustomTable({ table: 'new_b', links: [{ lookup: '_new_a_value', link: 'a', target: 'cusA' }] }),
      );
      expect(errors(input)).toEqual([
        {
          code: 'CONFIG_LINK_CYCLE',
          path: 'flows.customTables[0].links',
          message: 'links form a cycle: cusA → cusB → cusA; parents must come before children',
        },
      ]);
    });

    it('rejects a link to a resource that is not configured, with a hint', () => {
      const input = withTables(
        buildCustomTable({ table: 'new_order' }),
        buildCustomTable({
          table: 'new_line',
          links: [{ lookup: '_new_order_value', link: 'order', target: 'cusOrders' }],
        }),
      );
      expect(errors(input)).toEqual([
        {
          code: 'CONFIG_LINK_TARGET_UNKNOWN',
          path: 'flows.customTables[1].links[0].target',
          message:
            'custom table new_line → cusLine: lookup _new_order_value links to cusOrders, which is neither profile nor a configured custom resource (did you mean "cusOrder"?)',
        },
      ]);
    });

    it('rejects more than five linked columns on one resource', () => {
      const links = Array.from({ length: 6 }, (_, index) => ({
        lookup: `_new_contact${index}_value`,
        link: `contact${index}`,
        target: 'profile',
      }));
      expect(errors(withTables(buildCustomTable({ table: 'new_visit', links })))).toEqual([
        {
          code: 'CONFIG_LINK_COUNT',
          path: 'flows.customTables[0].links',
          message:
            'custom table new_visit → cusVisit: 6 linked columns; Campaign allows at most 5 per resource',
        },
      ]);
    });

    it('rejects a lookup used twice and a link declared twice', () => {
      const links = [
        { lookup: '_new_contact_value', link: 'profile', target: 'profile' },
        { lookup: '_new_contact_value', link: 'profile', target: 'profile' },
      ];
      expect(errors(withTables(buildCustomTable({ table: 'new_visit', links }))).map((e) => e.path)).toEqual([
        'flows.customTables[0].links[1].lookup',
        'flows.customTables[0].links[1].link',
      ]);
    });

    it('rejects a table mapped twice, a resource fed twice, and the contact table as a custom table', () => {
      const input = withTables(
        buildCustomTable({ table: 'new_order' }),
        buildCustomTable({ table: 'new_order', resource: 'cusOrder2' }),
        buildCustomTable({ table: 'new_other', resource: 'cusOrder' }),
        buildCustomTable({ table: 'contact', resource: 'cusContact' }),
      );
      expect(errors(input)).toEqual([
        {
          code: 'CONFIG_TABLE_TWICE',
          path: 'flows.customTables[1].table',
          message:
            'Dynamics table new_order is mapped twice (also flows.customTables[0]); a table maps to one resource',
        },
        {
          code: 'CONFIG_RESOURCE_TWICE',
          path: 'flows.customTables[2].resource',
          message:
            'Campaign resource cusOrder already receives flows.customTables[0]; one Dynamics table maps to one resource',
        },
        {
          code: 'CONFIG_TABLE_TWICE',
          path: 'flows.customTables[3].table',
          message: "Dynamics table contact is the contact flow's table; it cannot also be a custom table",
        },
      ]);
    });

    it('rejects a key column that is also a mapping target or is PKey', () => {
      const input = withTables(
        buildCustomTable({ table: 'new_order', mapping: { new_code: 'crmId' } }),
        buildCustomTable({ table: 'new_line', keyColumn: 'PKey' }),
      );
      expect(errors(input)).toEqual([
        {
          code: 'CONFIG_KEY_COLUMN_MAPPED',
          path: 'flows.customTables[0].mapping.new_code',
          message:
            'custom table new_order → cusOrder: new_code is mapped into the key column crmId, which holds the Dynamics id; map it elsewhere',
        },
        expect.objectContaining({
          code: 'CONFIG_KEY_COLUMN_INVALID',
          path: 'flows.customTables[1].keyColumn',
        }),
      ]);
    });

    it('rejects personal data that cannot reach the profile through links', () => {
      const input = withTables(
        buildCustomTable({ table: 'new_store', links: [] }),
        buildCustomTable({
          table: 'new_loyalty',
          personalData: true,
          links: [{ lookup: '_new_store_value', link: 'store', target: 'cusStore' }],
        }),
      );
      expect(errors(input)).toEqual([
        {
          code: 'CONFIG_PERSONAL_DATA_UNLINKED',
          path: 'flows.customTables[1].personalData',
          message: expect.stringContaining(
            'custom table new_loyalty → cusLoyalty holds personal data but no chain of links reaches the profile',
          ) as string,
        },
      ]);
    });
  });

  describe('transport', () => {
    it('warns about plain http to a remote host, not to loopback', () => {
      const base = buildConfigInput();
      const remote = buildConfigInput({ dynamics: { ...base.dynamics, url: 'http://crm.example.com' } });
      expect(lint(remote)).toEqual([
        expect.objectContaining({ severity: 'warning', code: 'CONFIG_INSECURE_URL', path: 'dynamics.url' }),
      ]);
      const local = buildConfigInput({ dynamics: { ...base.dynamics, url: 'http://127.0.0.1:4000' } });
      expect(lint(local)).toEqual([]);
    });

    it('warns about an inline alert webhook URL', () => {
      const input = buildConfigInput({ alerts: { webhooks: [{ url: 'https://hooks.example.test/T/B/X' }] } });
      expect(lint(input)).toEqual([
        expect.objectContaining({ severity: 'warning', code: 'CONFIG_LITERAL_WEBHOOK_URL' }),
      ]);
    });
  });

  it('lints the sections that parsed even when others are missing', () => {
    const { flows } = configSchema.parse(
      withOptOut({ mode: 'bidirectional', mapping: { donotemail: 'emailOptOut' } }),
    );
    expect(lintConfig({ flows }).map((finding) => finding.code)).toEqual([
      'CONFIG_OPTOUT_TARGET',
      'CONFIG_OPTOUT_TYPOLOGY',
    ]);
  });
});
