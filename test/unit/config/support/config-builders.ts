import type { SyncConfigInput } from '../../../../src/config/config-schema.js';

type CustomTableInput = NonNullable<SyncConfigInput['flows']['customTables']>[number];

/** Environment that satisfies every reference in {@link minimalConfigYaml} and examples/sync.yaml. */
export function buildTestEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DYNAMICS_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
    DYNAMICS_CLIENT_SECRET: 'test-dynamics-secret',
    CAMPAIGN_CLIENT_ID: 'test-campaign-client-id',
    CAMPAIGN_CLIENT_SECRET: 'test-campaign-secret',
    CAMPAIGN_SFTP_PRIVATE_KEY: 'test-sftp-private-key',
    DCSYNC_ADMIN_TOKEN: 'test-admin-token',
    DCSYNC_WEBHOOK_KEY: 'test-webhook-key',
    DCSYNC_ALERT_WEBHOOK_URL: 'https://hooks.example.test/services/T0/B0/XYZ',
    ...overrides,
  };
}

/** The smallest valid file, one key per line so tests can point at lines. */
export const minimalConfigYaml = `dynamics:
  url: https://contoso.crm.dynamics.com
  tenantId: 00000000-0000-0000-0000-000000000000
  clientId: env:DYNAMICS_CLIENT_ID
  clientSecret: env:DYNAMICS_CLIENT_SECRET
campaign:
  url: https://mc.adobe.io/contoso
  clientId: env:CAMPAIGN_CLIENT_ID
  clientSecret: env:CAMPAIGN_CLIENT_SECRET
  budget: { callsPerSecond: 20, callsPerDay: 500000 }
flows:
  contacts:
    mapping: { firstname: firstName, lastname: lastName, emailaddress1: email }
server:
  adminToken: env:DCSYNC_ADMIN_TOKEN
`;

/** A valid configuration object (as YAML would give it); override sections as a test needs. */
export function buildConfigInput(overrides: Partial<SyncConfigInput> = {}): SyncConfigInput {
  return {
    dynamics: {
      url: 'https://contoso.crm.dynamics.com',
      tenantId: '00000000-0000-0000-0000-000000000000',
      clientId: 'env:DYNAMICS_CLIENT_ID',
      clientSecret: 'env:DYNAMICS_CLIENT_SECRET',
    },
    campaign: {
      url: 'https://mc.adobe.io/contoso',
      clientId: 'env:CAMPAIGN_CLIENT_ID',
      clientSecret: 'env:CAMPAIGN_CLIENT_SECRET',
      budget: { callsPerSecond: 20, callsPerDay: 500_000 },
    },
    flows: {
      contacts: { mapping: { firstname: 'firstName', lastname: 'lastName', emailaddress1: 'email' } },
    },
    server: { adminToken: 'env:DCSYNC_ADMIN_TOKEN' },
    ...overrides,
  };
}

/** Flows with the given custom tables (and the default contact flow). */
export function buildFlows(overrides: Partial<SyncConfigInput['flows']> = {}): SyncConfigInput['flows'] {
  return {
    contacts: { mapping: { firstname: 'firstName', lastname: 'lastName', emailaddress1: 'email' } },
    ...overrides,
  };
}

/** A custom table linked to the profile unless `links` says otherwise. */
export function buildCustomTable(overrides: Partial<CustomTableInput> & { table: string }): CustomTableInput {
  return {
    resource: `cus${overrides.table.replace(/^new_/, '').replace(/^./, (c) => c.toUpperCase())}`,
    keyColumn: 'crmId',
    mapping: { new_name: 'name' },
    links: [{ lookup: '_new_contact_value', link: 'profile', target: 'profile' }],
    ...overrides,
  };
}

/** An SFTP section that passes the schema. */
export function buildSftp(): NonNullable<SyncConfigInput['campaign']['sftp']> {
  return {
    host: 'contoso.campaign.adobe.com',
    username: 'contoso',
    privateKey: 'env:CAMPAIGN_SFTP_PRIVATE_KEY',
    hostKeySha256: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU',
  };
}
