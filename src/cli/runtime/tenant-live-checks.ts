import { readFileSync } from 'node:fs';
import { tlsTrust } from '../../connectors/tls-trust.js';
import { Agent, request } from 'undici';
import {
  createFinding,
  formatConfigPath,
  type ConfigFinding,
  type ConfigPath,
} from '../../config/config-finding.js';
import type { LiveCheck, LiveCheckContext } from '../../config/live-check.js';
import type { ResolvedConfig } from '../../config/resolved-config.js';
import { ImsTokenProvider } from '../../connectors/adobe/ims-token-provider.js';
import { CallBudget } from '../../connectors/campaign/call-budget.js';
import type { CampaignClient } from '../../connectors/campaign/campaign-client.js';
import { DynamicsMetadataReader } from '../../connectors/dynamics/dynamics-metadata-reader.js';
import type { DynamicsWebApiClient } from '../../connectors/dynamics/dynamics-web-api-client.js';
import { PrivacyServiceClient } from '../../connectors/privacy/privacy-service-client.js';
import type { SftpReader } from '../../connectors/sftp/sftp-reader.js';
import { SftpWriter } from '../../connectors/sftp/sftp-writer.js';
import type { BulkLaneConfig } from '../../config/config-schema.js';
import { SyncError } from '../../core/errors.js';
import { emailEventTypes, type EmailEventType } from '../../core/ports/email-event-source.js';
import { parseOptOutExport } from '../../engine/opt-out/opt-out-export-parser.js';
import { isRecord } from '../../core/json.js';
import { openCampaignClient, openDynamicsClient, openSftpReader, plain } from './tenant-clients.js';

/** `campaign.clientSecret, line 9` (or without the line when the loader does not know it). */
function place(context: LiveCheckContext, path: ConfigPath): string {
  const position = context.locate?.(path);
  return `${formatConfigPath(path)}${position ? `, line ${position.line}` : ''}`;
}

function codeOf(error: unknown): string {
  return error instanceof SyncError ? error.code : 'UNEXPECTED';
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function fail(context: LiveCheckContext, code: string, path: ConfigPath, message: string): ConfigFinding[] {
  return [createFinding('error', code, path, message, context.locate)];
}

function note(message: string): ConfigFinding[] {
  return [{ severity: 'info', code: 'PREFLIGHT_OK', path: '', message }];
}

function openDynamics(config: ResolvedConfig): DynamicsWebApiClient {
  return openDynamicsClient(config);
}

async function withDynamics<T>(
  config: ResolvedConfig,
  use: (client: DynamicsWebApiClient) => Promise<T>,
): Promise<T> {
  const client = openDynamics(config);
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

function campaignCa(config: ResolvedConfig): string | undefined {
  return config.campaign.caFile ? readFileSync(config.campaign.caFile, 'utf8') : undefined;
}

async function withCampaign<T>(
  config: ResolvedConfig,
  use: (client: CampaignClient) => Promise<T>,
): Promise<T> {
  const budget = new CallBudget({
    callsPerSecond: config.campaign.budget.callsPerSecond,
    callsPerDay: config.campaign.budget.callsPerDay,
  });
  const client = openCampaignClient(config, budget);
  try {
    return await use(client);
  } finally {
    budget.close();
    await client.close();
  }
}

/** The Dynamics tables the sync reads: the contact table and each enabled custom table. */
function syncedTables(config: ResolvedConfig): string[] {
  const tables = new Set<string>();
  if (config.flows.contacts.enabled || config.flows.optOut.mode !== 'disabled')
    tables.add(config.flows.contacts.table);
  for (const table of config.flows.customTables) if (table.enabled) tables.add(table.table);
  return [...tables];
}

/**
 * What the tenant's OpenID configuration answers, when MSAL could not resolve the authority:
 * no connection (`unreachable`), Entra's 400 `AADSTS90002` for a tenant it does not know
 * (`unknown-tenant`), or anything else (`other`).
 */
async function probeAuthority(config: ResolvedConfig): Promise<'unreachable' | 'unknown-tenant' | 'other'> {
  const ca = config.dynamics.caFile ? readFileSync(config.dynamics.caFile, 'utf8') : undefined;
  const agent = new Agent({ connect: tlsTrust(ca || undefined) });
  try {
    const url = `${config.dynamics.authorityHost.replace(/\/+$/, '')}/${config.dynamics.tenantId}/v2.0/.well-known/openid-configuration`;
    const response = await request(url, { dispatcher: agent, signal: AbortSignal.timeout(10_000) });
    const text = await response.body.text();
    if (response.statusCode === 400 && /AADSTS90002|AADSTS900023|invalid_tenant/i.test(text))
      return 'unknown-tenant';
    return 'other';
  } catch {
    return 'unreachable';
  } finally {
    await agent.close();
  }
}

/** `entra-token`: a client-credentials token from Entra ID. */
export const entraTokenCheck: LiveCheck = {
  name: 'entra-token',
  title: 'Entra ID token',
  configPath: ['dynamics', 'clientSecret'],
  async run(context) {
    return withDynamics(context.config, async (client) => {
      try {
        context.redactor.addSecret(await client.tokenSource.getToken());
        return note(`token issued for client ${plain(context.config.dynamics.clientId)}`);
      } catch (error) {
        const code = codeOf(error);
        const reason = reasonOf(error);
        const authority = /AADSTS90002|AADSTS900023|endpoints_resolution_error/i.test(reason)
          ? await probeAuthority(context.config)
          : null;
        if (authority === 'unknown-tenant')
          return fail(
            context,
            'PREFLIGHT_ENTRA_TENANT',
            ['dynamics', 'tenantId'],
            `Entra does not know the tenant (${place(context, ['dynamics', 'tenantId'])}): AADSTS90002; use the directory (tenant) id of the app registration`,
          );
        if (authority === 'unreachable' || code === 'ENTRA_UNAVAILABLE')
          return fail(
            context,
            'PREFLIGHT_ENTRA_UNREACHABLE',
            ['dynamics', 'authorityHost'],
            `Entra ID is unreachable (${place(context, ['dynamics', 'authorityHost'])}): check the network, proxy and caFile`,
          );
        if (code === 'ENTRA_INVALID_CLIENT')
          return fail(
            context,
            'PREFLIGHT_ENTRA_REFUSED',
            ['dynamics', 'clientSecret'],
            `Entra refused the client credentials (${place(context, ['dynamics', 'clientSecret'])}): invalid_client; use the secret's value (not its id) and check it has not expired`,
          );
        if (code === 'ENTRA_UNAUTHORIZED_CLIENT')
          return fail(
            context,
            'PREFLIGHT_ENTRA_REFUSED',
            ['dynamics', 'clientId'],
            `Entra does not know the application (${place(context, ['dynamics', 'clientId'])}) in this tenant`,
          );
        return fail(
          context,
          'PREFLIGHT_ENTRA_REFUSED',
          ['dynamics', 'clientSecret'],
          `Entra: ${reason} (${code})`,
        );
      }
    });
  },
};

/** `dataverse-whoami`: the Web API answers WhoAmI with the application user. */
export const dataverseWhoAmICheck: LiveCheck = {
  name: 'dataverse-whoami',
  title: 'Dataverse reachable (WhoAmI)',
  configPath: ['dynamics', 'url'],
  dependsOn: ['entra-token'],
  async run(context) {
    return withDynamics(context.config, async (client) => {
      try {
        const answer = await client.request<{ UserId?: string }>({ method: 'GET', path: 'WhoAmI' });
        return note(`application user ${answer.body?.UserId ?? '(unknown)'}`);
      } catch (error) {
        return fail(
          context,
          'PREFLIGHT_DATAVERSE',
          ['dynamics', 'url'],
          `Dataverse did not answer WhoAmI (${place(context, ['dynamics', 'url'])}): ${reasonOf(error)}; check the URL and that the application user exists with a security role`,
        );
      }
    });
  },
};

/** Dataverse service endpoint `contract` 8: Webhook; `authtype` 5: Http Header (ServiceEndpoint table reference). */
const webhookContract = 8;
const httpHeaderAuth = 5;
const webhookPath = '/webhooks/dynamics';

/** The host of a URL (never its path or query, which may carry a key), or the text when it is no URL. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(not a URL)';
  }
}

function webhookUrlMatches(url: string): boolean {
  try {
    return new URL(url).pathname.replace(/\/+$/, '').endsWith(webhookPath);
  } catch {
    return false;
  }
}

/**
 * `dataverse-webhook` (only with `dynamics.webhook`): a webhook service endpoint (contract 8) is
 * registered in Dataverse for `…/webhooks/dynamics` with Http Header authentication. Reads
 * `serviceendpoints` (name, url, contract, authtype — never `authvalue`, which Dataverse does not
 * return anyway). The step registrations (which tables and messages fire it) are not checked.
 */
export const dataverseWebhookCheck: LiveCheck = {
  name: 'dataverse-webhook',
  title: 'Dataverse webhook registered for /webhooks/dynamics',
  configPath: ['dynamics', 'webhook'],
  dependsOn: ['dataverse-whoami'],
  appliesTo: (config) => config.dynamics.webhook !== undefined && config.dynamics.webhook.enabled,
  async run(context) {
    return withDynamics(context.config, async (client) => {
      const answer = await client.request<{ value?: unknown }>({
        method: 'GET',
        path: 'serviceendpoints',
        query: { $select: 'name,url,contract,authtype', $filter: `contract eq ${webhookContract}` },
        acceptStatuses: [403],
      });
      if (answer.status === 403)
        return [
          createFinding(
            'warning',
            'PREFLIGHT_DATAVERSE_WEBHOOK',
            ['dynamics', 'webhook'],
            'cannot read service endpoints (privilege prvReadServiceEndpoint, Service Endpoint Read in the security role): the webhook registration is not proven',
            context.locate,
          ),
        ];
      const endpoints = (Array.isArray(answer.body?.value) ? answer.body.value : []).flatMap(
        (row: unknown) =>
          isRecord(row) && typeof row.url === 'string' && row.contract === webhookContract
            ? [{ url: row.url, authtype: row.authtype }]
            : [],
      );
      const ours = endpoints.filter((endpoint) => webhookUrlMatches(endpoint.url));
      const good = ours.find((endpoint) => endpoint.authtype === httpHeaderAuth);
      if (good)
        return note(`webhook registered for ${hostOf(good.url)}${webhookPath} (Http Header authentication)`);
      if (ours.length > 0)
        return [
          createFinding(
            'warning',
            'PREFLIGHT_DATAVERSE_WEBHOOK',
            ['dynamics', 'webhook'],
            `the Dataverse webhook for ${hostOf(ours[0]!.url)}${webhookPath} does not use HttpHeader authentication (authtype ${String(ours[0]!.authtype)}): dcsync expects the key in the ${context.config.dynamics.webhook!.header} header (docs/operations.md#dataverse-webhooks)`,
            context.locate,
          ),
        ];
      return fail(
        context,
        'PREFLIGHT_DATAVERSE_WEBHOOK',
        ['dynamics', 'webhook'],
        `no Dataverse webhook points at …${webhookPath}: register one (docs/operations.md#dataverse-webhooks)`,
      );
    });
  },
};

/** `dataverse-read`: a `$top=1` read of every synced table (the security role's read privilege). */
export const dataverseReadCheck: LiveCheck = {
  name: 'dataverse-read',
  title: 'Dataverse read privilege on each synced table',
  configPath: ['flows'],
  dependsOn: ['dataverse-whoami'],
  appliesTo: (config) => syncedTables(config).length > 0,
  async run(context) {
    return withDynamics(context.config, async (client) => {
      const metadata = new DynamicsMetadataReader(client);
      const findings: ConfigFinding[] = [];
      const tables = syncedTables(context.config);
      for (const table of tables) {
        try {
          const { entitySetName, primaryIdAttribute } = await metadata.getTableMetadata(table);
          await client.request({
            method: 'GET',
            path: entitySetName,
            query: { $select: primaryIdAttribute, $top: '1' },
          });
        } catch (error) {
          findings.push({
            severity: 'error',
            code: 'PREFLIGHT_DATAVERSE_READ',
            path: 'flows',
            message: `cannot read Dynamics table ${table}: ${reasonOf(error)}; give the application user's security role Read on it`,
          });
        }
      }
      return findings.length > 0
        ? findings
        : note(`${tables.length} table(s) readable: ${tables.join(', ')}`);
    });
  },
};

/** Whether opt-outs flow from Campaign to Dynamics (the sync writes the opt-out columns). */
function writesOptOuts(config: ResolvedConfig): boolean {
  return config.flows.optOut.mode === 'campaign-to-dynamics' || config.flows.optOut.mode === 'bidirectional';
}

/**
 * `dataverse-optout-write`: the opt-out columns the sync writes (Campaign → Dynamics) are
 * updatable (`IsValidForUpdate` in the attribute metadata). Write privilege itself is assumed: no
 * write is attempted (a no-op write would still touch `modifiedon` and feed the change tracking).
 */
export const dataverseOptOutWriteCheck: LiveCheck = {
  name: 'dataverse-optout-write',
  title: 'Dynamics opt-out columns updatable',
  configPath: ['flows', 'optOut', 'mapping'],
  dependsOn: ['dataverse-whoami'],
  appliesTo: (config) => writesOptOuts(config) && Object.keys(config.flows.optOut.mapping).length > 0,
  async run(context) {
    const table = context.config.flows.contacts.table;
    const columns = Object.keys(context.config.flows.optOut.mapping);
    return withDynamics(context.config, async (client) => {
      const answer = await client.request<{ Attributes?: unknown }>({
        method: 'GET',
        path: `EntityDefinitions(LogicalName='${table.replace(/'/g, "''")}')`,
        query: { $select: 'LogicalName', $expand: 'Attributes($select=LogicalName,IsValidForUpdate)' },
      });
      const attributes = Array.isArray(answer.body?.Attributes) ? answer.body.Attributes : [];
      const updatable = new Map<string, boolean>();
      for (const attribute of attributes)
        if (isRecord(attribute) && typeof attribute.LogicalName === 'string')
          updatable.set(attribute.LogicalName, attribute.IsValidForUpdate !== false);
      const findings: ConfigFinding[] = [];
      for (const column of columns) {
        const state = updatable.get(column);
        if (state === false)
          findings.push(
            createFinding(
              'error',
              'PREFLIGHT_OPTOUT_COLUMN_READ_ONLY',
              ['flows', 'optOut', 'mapping', column],
              `Dynamics column ${table}.${column} cannot be updated (IsValidForUpdate is false): map an updatable Boolean column`,
              context.locate,
            ),
          );
      }
      return findings.length > 0
        ? findings
        : note(
            `${columns.join(', ')} updatable; write privilege assumed (no write attempted): the security role needs Write on ${table}`,
          );
    });
  },
};

const emailEventTablesDoc = 'docs/email-events.md#the-activity-tables-to-create-in-dynamics';

/** The activity tables flow F6 writes (each enabled type's), with the columns each must have. */
function emailEventTables(config: ResolvedConfig): {
  table: string;
  types: EmailEventType[];
  columns: { name: string; field: string }[];
}[] {
  const events = config.flows.emailEvents;
  const tables = new Map<string, { types: EmailEventType[]; columns: Map<string, string> }>();
  for (const type of emailEventTypes) {
    if (!events.types[type]) continue;
    const table = events.tables[type];
    const entry = tables.get(table) ?? { types: [], columns: new Map<string, string>() };
    entry.types.push(type);
    const fields: (keyof typeof events.fields)[] = ['eventId', 'campaignName', 'deliveryName'];
    if (type === 'click') fields.push('trackingUrl');
    fields.push('mirrorPageUrl');
    for (const field of fields) entry.columns.set(events.fields[field], field);
    tables.set(table, entry);
  }
  return [...tables].map(([table, { types, columns }]) => ({
    table,
    types,
    columns: [...columns].map(([name, field]) => ({ name, field })),
  }));
}

/**
 * What is wrong with the alternate key on the event id column (`EntityMetadata.Keys`: one key whose
 * `KeyAttributes` are exactly that column, its index `Active`), or null when it is there.
 */
function eventIdKeyProblem(keys: unknown, column: string): string | null {
  const onColumn = (Array.isArray(keys) ? keys : []).filter(
    (key: unknown): key is Record<string, unknown> =>
      isRecord(key) &&
      Array.isArray(key.KeyAttributes) &&
      key.KeyAttributes.length === 1 &&
      key.KeyAttributes[0] === column,
  );
  if (onColumn.length === 0) return `has no alternate key on ${column}`;
  if (onColumn.some((key) => key.EntityKeyIndexStatus === undefined || key.EntityKeyIndexStatus === 'Active'))
    return null;
  const key = onColumn[0]!;
  const status = typeof key.EntityKeyIndexStatus === 'string' ? key.EntityKeyIndexStatus : 'unknown';
  const name = typeof key.LogicalName === 'string' ? key.LogicalName : '(unnamed)';
  return status === 'Failed'
    ? `has an alternate key ${name} on ${column} whose index failed to build (EntityKeyIndexStatus Failed: rows repeating an event id, usually); reactivate it (Keys → ${name} → Reactivate) once they are removed`
    : `has an alternate key ${name} on ${column} that is not active yet (EntityKeyIndexStatus ${status}: Dataverse builds its index in the background)`;
}

/**
 * `email-event-tables` (only with `flows.emailEvents` enabled): each enabled type's table exists
 * in Dynamics as an activity table (`IsActivity`), under the entity set the sync writes to, with
 * the configured columns (event id, campaign name, delivery name, tracking URL on the click
 * table, mirror page URL), and an active alternate key on the event id column (a warning when not:
 * the derived activity id still refuses a second create). Read from `EntityDefinitions`.
 */
export const emailEventTablesCheck: LiveCheck = {
  name: 'email-event-tables',
  title: 'E-mail event activity tables and columns (flow F6)',
  configPath: ['flows', 'emailEvents', 'tables'],
  dependsOn: ['dataverse-whoami'],
  appliesTo: (config) => config.flows.emailEvents.enabled && emailEventTables(config).length > 0,
  async run(context) {
    const events = context.config.flows.emailEvents;
    const wanted = emailEventTables(context.config);
    return withDynamics(context.config, async (client) => {
      const findings: ConfigFinding[] = [];
      const error = (path: ConfigPath, code: string, message: string): void => {
        findings.push(createFinding('error', code, path, message, context.locate));
      };
      for (const { table, types, columns } of wanted) {
        const path: ConfigPath = ['flows', 'emailEvents', 'tables', types[0]!];
        const what = `the ${types.join('/')} activity table ${table}`;
        const answer = await client.request<{
          Attributes?: unknown;
          Keys?: unknown;
          IsActivity?: unknown;
          EntitySetName?: unknown;
        }>({
          method: 'GET',
          path: `EntityDefinitions(LogicalName='${table.replace(/'/g, "''")}')`,
          query: {
            $select: 'LogicalName,IsActivity,EntitySetName',
            $expand:
              'Attributes($select=LogicalName),Keys($select=LogicalName,KeyAttributes,EntityKeyIndexStatus)',
          },
          acceptStatuses: [404],
        });
        if (answer.status === 404 || !answer.body) {
          error(
            path,
            'PREFLIGHT_EMAIL_EVENT_TABLE',
            `Dynamics has no table ${table} (${place(context, path)}): create ${what} (Power Apps → Tables → New table → Advanced options → Table type: Activity table) with the columns ${columns.map((c) => c.name).join(', ')} and an alternate key on ${events.fields.eventId} (${emailEventTablesDoc})`,
          );
          continue;
        }
        if (answer.body.IsActivity !== true) {
          error(
            path,
            'PREFLIGHT_EMAIL_EVENT_TABLE',
            `Dynamics table ${table} is not an activity table (IsActivity is false): ${what} must be created with Table type: Activity table, which cannot be changed afterwards (${emailEventTablesDoc})`,
          );
          continue;
        }
        const entitySet = events.entitySets[table] ?? `${table}s`;
        if (answer.body.EntitySetName !== entitySet)
          error(
            ['flows', 'emailEvents', 'entitySets'],
            'PREFLIGHT_EMAIL_EVENT_TABLE',
            `the entity set of ${table} is ${String(answer.body.EntitySetName)}, not ${entitySet}: set flows.emailEvents.entitySets.${table}: ${String(answer.body.EntitySetName)}`,
          );
        const attributes = new Set(
          (Array.isArray(answer.body.Attributes) ? answer.body.Attributes : []).flatMap(
            (attribute: unknown) =>
              isRecord(attribute) && typeof attribute.LogicalName === 'string' ? [attribute.LogicalName] : [],
          ),
        );
        for (const column of columns)
          if (!attributes.has(column.name)) {
            const columnPath: ConfigPath = ['flows', 'emailEvents', 'fields', column.field];
            error(
              columnPath,
              'PREFLIGHT_EMAIL_EVENT_COLUMN',
              `the activity table ${table} has no column ${column.name} (${place(context, columnPath)}): add it to ${table} as Single line of text${column.field === 'eventId' ? ' (100), with an alternate key on it' : ''} (${emailEventTablesDoc})`,
            );
          }
        if (attributes.has(events.fields.eventId)) {
          const problem = eventIdKeyProblem(answer.body.Keys, events.fields.eventId);
          if (problem !== null)
            findings.push(
              createFinding(
                'warning',
                'PREFLIGHT_EMAIL_EVENT_KEY',
                ['flows', 'emailEvents', 'fields', 'eventId'],
                `the activity table ${table} ${problem}. Each activity's id is derived from its event id, so a second create of one event is still refused; the key makes Dataverse refuse a second row for an event id whoever writes it. Create it in Power Apps → Tables → ${table} → Keys → New key → column ${events.fields.eventId}, or with the Web API: POST EntityDefinitions(LogicalName='${table}')/Keys {"SchemaName":"${table}_eventidkey","DisplayName":{"LocalizedLabels":[{"Label":"Event id","LanguageCode":1033}]},"KeyAttributes":["${events.fields.eventId}"]} (${emailEventTablesDoc})`,
                context.locate,
              ),
            );
        }
      }
      return findings.length > 0
        ? findings
        : note(
            `${wanted.map(({ table }) => table).join(', ')}: activity tables with ${[...new Set(wanted.flatMap(({ columns }) => columns.map((c) => c.name)))].join(', ')}, an active alternate key on ${events.fields.eventId}`,
          );
    });
  },
};

/** `ims-token`: IMS issues a token for the Campaign credential (refused → at once, no retry). */
export const imsTokenCheck: LiveCheck = {
  name: 'ims-token',
  title: 'Adobe IMS token',
  configPath: ['campaign', 'clientSecret'],
  async run(context) {
    const { config } = context;
    const ims = new ImsTokenProvider({
      imsUrl: config.campaign.imsUrl,
      clientId: plain(config.campaign.clientId),
      clientSecret: config.campaign.clientSecret.reveal(),
      caCert: campaignCa(config),
      scope: config.campaign.scope,
    });
    try {
      context.redactor.addSecret(await ims.getToken());
      return note(`token issued for client ${plain(config.campaign.clientId)}`);
    } catch (error) {
      if (codeOf(error) === 'IMS_AUTH')
        return fail(
          context,
          'PREFLIGHT_IMS_REFUSED',
          ['campaign', 'clientSecret'],
          `IMS refused the client credentials (${place(context, ['campaign', 'clientSecret'])})`,
        );
      return fail(
        context,
        'PREFLIGHT_IMS_UNREACHABLE',
        ['campaign', 'imsUrl'],
        `IMS did not issue a token (${place(context, ['campaign', 'imsUrl'])}): ${reasonOf(error)}`,
      );
    } finally {
      await ims.close();
    }
  },
};

/** `campaign-api`: the profile metadata through the API (API key, organization, product profile). */
export const campaignApiCheck: LiveCheck = {
  name: 'campaign-api',
  title: 'Campaign API (API key and organization)',
  configPath: ['campaign', 'url'],
  dependsOn: ['ims-token'],
  async run(context) {
    return withCampaign(context.config, async (client) => {
      try {
        await client.describeResource('profile');
        return note(`${context.config.campaign.profileResource} answers`);
      } catch (error) {
        return fail(
          context,
          'PREFLIGHT_CAMPAIGN_API',
          ['campaign', 'url'],
          `Campaign did not answer (${place(context, ['campaign', 'url'])}): ${reasonOf(error)}`,
        );
      }
    });
  },
};

/**
 * `campaign-keys`: `externalId` is the profile's declared identification key in Campaign's
 * metadata (`identificationKey` / `isKey`) — the client addresses profiles by it. A custom
 * resource's key column is checked by `custom-tables` (a warning: the client looks it up first).
 */
export const campaignKeysCheck: LiveCheck = {
  name: 'campaign-keys',
  title: 'Campaign identification keys declared',
  configPath: ['campaign', 'profileResource'],
  dependsOn: ['campaign-api'],
  appliesTo: (config) => config.flows.contacts.enabled,
  async run(context) {
    const { config } = context;
    return withCampaign(config, async (client) => {
      const findings: ConfigFinding[] = [];
      const wanted: { resource: string; key: string; path: ConfigPath }[] = [];
      if (config.flows.contacts.enabled)
        wanted.push({ resource: 'profile', key: 'externalId', path: ['campaign', 'profileResource'] });
      for (const { resource, key, path } of wanted) {
        const metadata = await client.describeResource(resource);
        if (!metadata.keyFields.includes(key))
          findings.push(
            createFinding(
              'error',
              'PREFLIGHT_CAMPAIGN_KEY',
              path,
              `${key} is not declared as an identification key of ${resource} (declared: ${metadata.keyFields.join(', ') || 'none'}): in Campaign, Administration → Development → Custom resources → ${resource === 'profile' ? 'Profile (extension)' : resource} → Identification keys, add ${key}, then publish`,
              context.locate,
            ),
          );
      }
      return findings.length > 0
        ? findings
        : note(wanted.map(({ resource, key }) => `${resource}.${key}`).join(', ') || 'no keyed resource');
    });
  },
};

/**
 * `campaign-filters`: the profile filters the client uses answer — `byEmail` (the privacy subject
 * look-up) when `privacy` is set. (`byExternalId` is used only without a declared key, which
 * `campaign-keys` already fails.)
 */
export const campaignFiltersCheck: LiveCheck = {
  name: 'campaign-filters',
  title: 'Campaign profile filters the client uses',
  configPath: ['campaign', 'profileResource'],
  dependsOn: ['campaign-api'],
  appliesTo: (config) => config.privacy !== undefined,
  async run(context) {
    return withCampaign(context.config, async (client) => {
      try {
        await client.findProfilesByEmail('dcsync-validate@example.invalid', { signal: context.signal });
        return note('byEmail answers');
      } catch (error) {
        return fail(
          context,
          'PREFLIGHT_CAMPAIGN_FILTER',
          ['campaign', 'profileResource'],
          `the profile filter byEmail does not answer on ${context.config.campaign.profileResource}: ${reasonOf(error)}`,
        );
      }
    });
  },
};

function openSftp(config: ResolvedConfig): SftpReader {
  return openSftpReader(config.campaign.sftp!, { timeoutMs: 10_000 });
}

/** `sftp`: connect (host key pinned and matching), list the export folder, the archive folder usable, usage. */
export const sftpCheck: LiveCheck = {
  name: 'sftp',
  title: 'Campaign SFTP (login, host key, folders, quota)',
  configPath: ['campaign', 'sftp'],
  appliesTo: (config) => config.campaign.sftp !== undefined,
  async run(context) {
    const sftp = context.config.campaign.sftp!;
    const reader = openSftp(context.config);
    try {
      try {
        await reader.connect();
      } catch (error) {
        const code = codeOf(error);
        if (code === 'SFTP_HOST_KEY_MISMATCH')
          return fail(
            context,
            'PREFLIGHT_SFTP_HOST_KEY',
            ['campaign', 'sftp', 'hostKeySha256'],
            `the SFTP server's host key does not match the pinned fingerprint (${place(context, ['campaign', 'sftp', 'hostKeySha256'])}): compare with ssh-keyscan ${sftp.host} | ssh-keygen -lf -`,
          );
        if (code === 'SFTP_AUTH') {
          const secret: ConfigPath = ['campaign', 'sftp', sftp.password ? 'password' : 'privateKey'];
          return fail(
            context,
            'PREFLIGHT_SFTP_AUTH',
            secret,
            `the SFTP server refused the login of ${sftp.username} (${place(context, secret)})`,
          );
        }
        return fail(
          context,
          'PREFLIGHT_SFTP_UNREACHABLE',
          ['campaign', 'sftp', 'host'],
          `cannot connect to SFTP (${place(context, ['campaign', 'sftp', 'host'])}): ${reasonOf(error)}`,
        );
      }
      const archiveDir = sftp.archiveDir ?? `${sftp.exportDir.replace(/\/+$/, '')}/archive`;
      try {
        await reader.list(sftp.exportDir);
      } catch (error) {
        return fail(
          context,
          'PREFLIGHT_SFTP_FOLDER',
          ['campaign', 'sftp', 'exportDir'],
          `cannot list the export folder ${sftp.exportDir}: ${reasonOf(error)}`,
        );
      }
      try {
        await reader.ensureDirectory(archiveDir);
        await reader.list(archiveDir);
      } catch (error) {
        return fail(
          context,
          'PREFLIGHT_SFTP_FOLDER',
          ['campaign', 'sftp', 'archiveDir'],
          `cannot create or list the archive folder ${archiveDir}: ${reasonOf(error)}`,
        );
      }
      const usage = await reader.usage(sftp.exportDir);
      if (sftp.quotaBytes !== undefined && usage.usedBytes >= sftp.quotaBytes * 0.8)
        return [
          createFinding(
            'warning',
            'PREFLIGHT_SFTP_USAGE',
            ['campaign', 'sftp', 'quotaBytes'],
            `the SFTP folder uses ${Math.round((usage.usedBytes / sftp.quotaBytes) * 100)} % of the quota`,
            context.locate,
          ),
        ];
      return note(
        `logged in, host key matches, ${sftp.exportDir} and ${archiveDir} usable, ${usage.fileCount} file(s), ${usage.usedBytes} bytes${sftp.quotaBytes ? ` of ${sftp.quotaBytes}` : ''}`,
      );
    } finally {
      await reader.close();
    }
  },
};

/** The flows with a bulk lane, with the config path of their `bulk` section. */
function bulkLanesOf(config: ResolvedConfig) {
  const lanes: { flow: string; bulk: BulkLaneConfig; path: ConfigPath }[] = [];
  if (config.flows.contacts.enabled && config.flows.contacts.bulk)
    lanes.push({ flow: 'contacts', bulk: config.flows.contacts.bulk, path: ['flows', 'contacts', 'bulk'] });
  config.flows.customTables.forEach((table, index) => {
    if (table.enabled && table.bulk)
      lanes.push({ flow: table.table, bulk: table.bulk, path: ['flows', 'customTables', index, 'bulk'] });
  });
  return lanes;
}

/**
 * `bulk-workflows` (F7, docs/bulk-loads.md): for each flow with a bulk lane, its import workflow
 * exists, is started, has the External signal activity with the file parameter (when the execution
 * lists parameters), and the SFTP import folder takes a file (a probe written, then removed).
 */
export const bulkWorkflowsCheck: LiveCheck = {
  name: 'bulk-workflows',
  title: 'Bulk lanes: import workflows and the SFTP import folders',
  configPath: ['flows'],
  dependsOn: ['campaign-api', 'sftp'],
  appliesTo: (config) => bulkLanesOf(config).length > 0,
  async run(context) {
    const lanes = bulkLanesOf(context.config);
    const findings: ConfigFinding[] = [];
    const bad = (path: ConfigPath, message: string) =>
      findings.push(...fail(context, 'PREFLIGHT_BULK_WORKFLOW', path, message));
    await withCampaign(context.config, async (client) => {
      for (const { bulk, path } of lanes) {
        const at = place(context, [...path, 'workflowId']);
        let execution;
        try {
          execution = await client.getWorkflowExecution(bulk.workflowId);
        } catch (error) {
          bad(
            [...path, 'workflowId'],
            `workflow ${bulk.workflowId} cannot be read (${at}): ${reasonOf(error)}`,
          );
          continue;
        }
        if (execution.state !== '' && execution.state !== 'started')
          bad(
            [...path, 'workflowId'],
            `workflow ${bulk.workflowId} is ${execution.state} (${at}): start it in Campaign, a signal is refused otherwise`,
          );
        const signals = execution.activities.filter((a) => a.triggerHref !== null);
        const signal =
          bulk.signalActivity === undefined
            ? signals.length === 1
              ? signals[0]
              : undefined
            : signals.find((a) => a.name === bulk.signalActivity);
        if (!signal) {
          bad(
            [...path, bulk.signalActivity === undefined ? 'workflowId' : 'signalActivity'],
            bulk.signalActivity === undefined
              ? `workflow ${bulk.workflowId} has ${signals.length} External signal activities (${at}): it needs exactly one, or name it in signalActivity`
              : `workflow ${bulk.workflowId} has no External signal activity '${bulk.signalActivity}' (${place(context, [...path, 'signalActivity'])})`,
          );
          continue;
        }
        if (signal.parameters.length > 0 && !signal.parameters.some((p) => p.name === bulk.fileParameter))
          bad(
            [...path, 'fileParameter'],
            `the signal activity ${signal.name} of ${bulk.workflowId} declares no '${bulk.fileParameter}' parameter (${place(context, [...path, 'fileParameter'])}): declare it as a string`,
          );
      }
    });
    const sftp = context.config.campaign.sftp;
    if (sftp) {
      const writer = new SftpWriter({
        host: sftp.host,
        port: sftp.port,
        username: sftp.username,
        hostKeySha256: sftp.hostKeySha256,
        timeoutMs: 10_000,
        ...(sftp.privateKey ? { privateKey: sftp.privateKey.reveal() } : {}),
        ...(sftp.passphrase ? { passphrase: sftp.passphrase.reveal() } : {}),
        ...(sftp.password ? { password: sftp.password.reveal() } : {}),
      });
      try {
        for (const folder of new Set(lanes.map((l) => l.bulk.importFolder))) {
          const lane = lanes.find((l) => l.bulk.importFolder === folder)!;
          const probe = `${folder.replace(/\/+$/, '')}/.dcsync-validate-${process.pid}.probe`;
          try {
            await writer.upload(probeBytes(), probe);
            await writer.remove(probe);
          } catch (error) {
            bad(
              [...lane.path, 'importFolder'],
              `cannot write to the SFTP import folder ${folder} (${place(context, [...lane.path, 'importFolder'])}): ${reasonOf(error)}`,
            );
          }
        }
      } finally {
        await writer.close();
      }
    }
    if (findings.length > 0) return findings;
    return note(
      lanes
        .map(
          (l) =>
            `${l.flow}: workflow ${l.bulk.workflowId} started, signal ready, ${l.bulk.importFolder} writable`,
        )
        .join('; '),
    );
  },
};

async function* probeBytes(): AsyncIterable<Uint8Array> {
  yield new TextEncoder().encode('dcsync validate: this file is removed at once\n');
  await Promise.resolve();
}

const optOutExportName = /^optout_.*\.csv$/i;

/**
 * `optout-export`: the Campaign export workflow has written a file (in the export or the archive
 * folder) — a warning before go-live, an error with `--strict` — and the latest one's header has
 * the columns the sync reads (an error).
 */
export const optOutExportCheck: LiveCheck = {
  name: 'optout-export',
  title: 'Opt-out export workflow has written a file with the expected header',
  configPath: ['campaign', 'sftp', 'exportDir'],
  dependsOn: ['sftp'],
  appliesTo: (config) => config.campaign.sftp !== undefined && writesOptOuts(config),
  async run(context) {
    const sftp = context.config.campaign.sftp!;
    const reader = openSftp(context.config);
    try {
      await reader.connect();
      const archiveDir = sftp.archiveDir ?? `${sftp.exportDir.replace(/\/+$/, '')}/archive`;
      const files = [
        ...(await reader.list(sftp.exportDir)),
        ...(await reader.list(archiveDir).catch(() => [])),
      ].filter((entry) => optOutExportName.test(entry.name));
      if (files.length === 0)
        return [
          createFinding(
            context.strict ? 'error' : 'warning',
            'PREFLIGHT_OPTOUT_EXPORT',
            ['campaign', 'sftp', 'exportDir'],
            `no opt-out export file (optout_*.csv) in ${sftp.exportDir} or ${archiveDir}: schedule the Campaign export workflow and let it run once`,
            context.locate,
          ),
        ];
      const latest = files.reduce((a, b) => (b.mtimeMs > a.mtimeMs ? b : a));
      const requiredAttributes = Object.values(context.config.flows.optOut.mapping);
      try {
        // The parser checks the header before it yields the first line: reading one is enough.
        const lines = parseOptOutExport(reader.download(latest.path), {
          requiredAttributes,
          maxLineBytes: context.config.flows.optOut.file.maxLineBytes,
        });
        await lines.next();
        await lines.return(undefined);
      } catch (error) {
        const code = codeOf(error);
        if (code === 'OPTOUT_FILE_HEADER_INVALID' || code === 'OPTOUT_FILE_EMPTY')
          return fail(
            context,
            'PREFLIGHT_OPTOUT_EXPORT_HEADER',
            ['flows', 'optOut', 'mapping'],
            `the latest opt-out export file ${latest.name}: ${reasonOf(error)}; the export workflow must write PKey, externalId and, for each mapped attribute, the attribute and <attribute>LastModified`,
          );
        throw error;
      }
      return note(`${files.length} export file(s), latest ${latest.name}, header as expected`);
    } finally {
      await reader.close();
    }
  },
};

/** The Identity Service "list namespaces" URL next to the Privacy Service's, or null. */
function identityNamespacesUrl(serviceUrl: string): string | null {
  const base = serviceUrl.replace(/\/+$/, '');
  return base.endsWith('/privacy') ? `${base.slice(0, -'/privacy'.length)}/idnamespace/identities` : null;
}

/** The namespace codes Identity Service lists for the organization (null: it did not answer). */
async function listIdentityNamespaces(config: ResolvedConfig, url: string): Promise<Set<string> | null> {
  const ims = new ImsTokenProvider({
    imsUrl: config.campaign.imsUrl,
    clientId: plain(config.campaign.clientId),
    clientSecret: config.campaign.clientSecret.reveal(),
    caCert: campaignCa(config),
    scope: config.campaign.scope,
  });
  const ca = campaignCa(config);
  const agent = new Agent({ connect: tlsTrust(ca || undefined) });
  try {
    const response = await request(url, {
      dispatcher: agent,
      signal: AbortSignal.timeout(10_000),
      headers: {
        authorization: `Bearer ${await ims.getToken()}`,
        'x-api-key': plain(config.campaign.clientId),
        'x-gw-ims-org-id': config.privacy!.imsOrgId,
        accept: 'application/json',
      },
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) return null;
    const body: unknown = JSON.parse(text);
    if (!Array.isArray(body)) return null;
    return new Set(
      body.flatMap((entry: unknown) =>
        isRecord(entry) && typeof entry.code === 'string' ? [entry.code.toLowerCase()] : [],
      ),
    );
  } catch {
    return null;
  } finally {
    await Promise.allSettled([agent.close(), ims.close()]);
  }
}

/**
 * `privacy-service`: the Privacy Service lists jobs for the organization with the IMS token, and
 * Identity Service lists every configured identity namespace (`privacy.namespaces`).
 */
export const privacyServiceCheck: LiveCheck = {
  name: 'privacy-service',
  title: 'Privacy Service (token, organization, identity namespaces)',
  configPath: ['privacy', 'imsOrgId'],
  dependsOn: ['ims-token'],
  appliesTo: (config) => config.privacy !== undefined,
  async run(context) {
    const { config } = context;
    const privacy = config.privacy!;
    const client = new PrivacyServiceClient({
      url: privacy.serviceUrl,
      imsOrgId: privacy.imsOrgId,
      imsUrl: config.campaign.imsUrl,
      clientId: plain(config.campaign.clientId),
      clientSecret: config.campaign.clientSecret.reveal(),
      caCert: campaignCa(config),
      scope: config.campaign.scope,
    });
    try {
      await client.listJobs({ regulation: privacy.regulation, size: 1 }, context.signal);
    } catch (error) {
      return fail(
        context,
        'PREFLIGHT_PRIVACY',
        ['privacy', 'imsOrgId'],
        `the Privacy Service refused or did not answer (${place(context, ['privacy', 'imsOrgId'])}): ${reasonOf(error)}`,
      );
    } finally {
      await client.close();
    }
    const url = identityNamespacesUrl(privacy.serviceUrl);
    const listed = url ? await listIdentityNamespaces(config, url) : null;
    if (listed === null)
      return [
        createFinding(
          'warning',
          'PREFLIGHT_PRIVACY_NAMESPACES',
          ['privacy', 'namespaces'],
          'jobs listed, but Identity Service did not list the identity namespaces: check them by hand (Identities → Browse)',
          context.locate,
        ),
      ];
    const findings: ConfigFinding[] = [];
    privacy.namespaces.forEach((namespace, index) => {
      if (!listed.has(namespace.namespace.toLowerCase()))
        findings.push(
          createFinding(
            'error',
            'PREFLIGHT_PRIVACY_NAMESPACE',
            ['privacy', 'namespaces', index, 'namespace'],
            `identity namespace ${namespace.namespace} is not defined for ${privacy.imsOrgId} (${place(context, ['privacy', 'namespaces', index, 'namespace'])}): create it in Identity Service (Identities → Create identity namespace) and map it in Campaign (Administration → Application settings → Namespaces)`,
            context.locate,
          ),
        );
    });
    return findings.length > 0
      ? findings
      : note(
          `jobs listed for ${privacy.imsOrgId}; namespaces ${privacy.namespaces.map((n) => n.namespace).join(', ')} defined`,
        );
  },
};

/**
 * Every live check, in the order `validate` prints them: the metadata checks (`contacts`,
 * `custom-tables`: columns, types, change tracking per table) run once both tokens were issued.
 */
export function createTenantLiveChecks(metadata: {
  contacts: LiveCheck;
  customTables: LiveCheck;
}): LiveCheck[] {
  return [
    entraTokenCheck,
    dataverseWhoAmICheck,
    dataverseWebhookCheck,
    dataverseReadCheck,
    dataverseOptOutWriteCheck,
    emailEventTablesCheck,
    imsTokenCheck,
    campaignApiCheck,
    campaignKeysCheck,
    campaignFiltersCheck,
    {
      ...metadata.contacts,
      title: 'Contact flow: columns, opt-out columns, change tracking',
      dependsOn: ['dataverse-whoami', 'campaign-api'],
    },
    {
      ...metadata.customTables,
      title: 'Custom tables: columns, links, change tracking',
      dependsOn: ['dataverse-whoami', 'campaign-api'],
    },
    sftpCheck,
    bulkWorkflowsCheck,
    optOutExportCheck,
    privacyServiceCheck,
  ];
}
