import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodes } from '../../../src/cli/exit-codes.js';
import type { ConfigFinding } from '../../../src/config/config-finding.js';
import { runDcsync, validateJson } from '../../support/cli-runner.js';
import { SyncTestBed, testEnv } from '../../support/sync-test-bed.js';

let bed: SyncTestBed;
let base: Record<string, unknown>;
let file = 0;

beforeAll(async () => {
  bed = await SyncTestBed.start({ dynamics: { contacts: 0 } });
  base = parse(readFileSync(bed.configPath, 'utf8')) as Record<string, unknown>;
});
afterAll(async () => {
  await bed.close();
});

/** The test configuration with these flows overrides; returns its path. */
function writeConfig(flows: Record<string, unknown>): string {
  const path = join(bed.dir, `contact-preflight-${++file}.yaml`);
  const baseFlows = base.flows as Record<string, unknown>;
  writeFileSync(path, stringify({ ...base, flows: { ...baseFlows, ...flows } }));
  return path;
}

/** `validate --json` of the test configuration with these flows overrides. */
function validate(flows: Record<string, unknown>): Promise<{ code: number; findings: ConfigFinding[] }> {
  return validateJson(writeConfig(flows), testEnv);
}

const errors = (findings: ConfigFinding[]): ConfigFinding[] => findings.filter((f) => f.severity === 'error');

function contacts(mapping: Record<string, unknown>): Record<string, unknown> {
  return { contacts: { ...(base.flows as { contacts: object }).contacts, mapping } };
}

describe('contacts and opt-outs: pre-flight against both tenants (validate live check)', () => {
  it('passes the contact flow with Boolean opt-out columns mapped to blackList attributes', async () => {
    const { code, findings } = await validate({
      optOut: {
        mode: 'dynamics-to-campaign',
        mapping: { donotbulkemail: 'blackListEmail', donotphone: 'blackListPhone' },
      },
    });
    expect(errors(findings)).toEqual([]);
    expect(code).toBe(exitCodes.ok);
  });

  it('refuses an opt-out column that is not a Boolean column, naming its type', async () => {
    const { code, findings } = await validate({
      optOut: {
        mode: 'dynamics-to-campaign',
        mapping: { donotemail: 'blackListEmail', mobilephone: 'blackListMobile' },
      },
    });
    expect(code).toBe(exitCodes.preflight);
    expect(errors(findings)).toEqual([
      expect.objectContaining({
        code: 'PREFLIGHT_OPTOUT_COLUMN_TYPE',
        path: 'flows.optOut.mapping.mobilephone',
        message:
          'opt-outs: column mobilephone of Dynamics table contact is String; an opt-out column must be a Boolean (yes/no) column such as donotbulkemail',
      }),
    ]);
  });

  it('names a missing opt-out column with a hint', async () => {
    const { findings } = await validate({
      optOut: { mode: 'dynamics-to-campaign', mapping: { donotemial: 'blackListEmail' } },
    });
    expect(errors(findings)).toEqual([
      expect.objectContaining({
        code: 'PREFLIGHT_COLUMN_MISSING',
        path: 'flows.optOut.mapping.donotemial',
        message:
          'opt-outs: column donotemial does not exist on Dynamics table contact (did you mean "donotemail"?)',
      }),
    ]);
  });

  it('names a mapped contact column or profile field that does not exist', async () => {
    const { code, findings } = await validate(
      contacts({ firstname: 'firstName', lastnme: 'lastName', emailaddress1: 'emial' }),
    );
    expect(code).toBe(exitCodes.preflight);
    const found = errors(findings).map((f) => [f.code, f.path, f.message]);
    expect(found).toEqual(
      expect.arrayContaining([
        [
          'PREFLIGHT_COLUMN_MISSING',
          'flows.contacts.mapping.lastnme',
          'contacts (contact → profile): column lastnme does not exist on Dynamics table contact (did you mean "lastname"?)',
        ],
        [
          'PREFLIGHT_FIELD_MISSING',
          'flows.contacts.mapping.emailaddress1',
          expect.stringContaining(
            'Campaign field emial (for column emailaddress1) does not exist on resource profile',
          ),
        ],
      ]),
    );
    expect(found).toHaveLength(2);
  });

  it('dcsync run refuses to start on the same findings (exit 6) and syncs nothing', async () => {
    const path = writeConfig({
      ...contacts({ firstname: 'firstName', lastname: 'lastName', emailaddress1: 'emial' }),
      optOut: { mode: 'dynamics-to-campaign', mapping: { mobilephone: 'blackListMobile' } },
    });
    bed.dynamics.admin.createContact({ firstname: 'Refused', lastname: 'Start' });
    const result = await runDcsync(['run', '--config', path, '--until-idle'], testEnv);
    expect(result.code).toBe(exitCodes.preflight);
    expect(result.stderr).toContain('The contact flow failed the pre-flight check:');
    expect(result.stderr).toContain('error PREFLIGHT_FIELD_MISSING flows.contacts.mapping.emailaddress1');
    expect(result.stderr).toContain('error PREFLIGHT_OPTOUT_COLUMN_TYPE flows.optOut.mapping.mobilephone');
    expect(bed.campaign.admin.countRecords('profile').total).toBe(0);
  });
});
