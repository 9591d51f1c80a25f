import { SyncError } from '../../core/errors.js';
import { FieldMapping, type FieldMappingRule, type TargetType } from '../../core/field-mapping.js';
import { filterColumns, type RecordFilter } from '../../core/record-filter.js';
import type { ResolvedConfig } from '../../config/resolved-config.js';
import { changeTrackingHint } from '../../connectors/dynamics/dynamics-metadata-reader.js';
import { DynamicsChangeSource } from '../../connectors/dynamics/dynamics-change-source.js';
import { CampaignRecordSink } from '../../connectors/campaign/campaign-record-sink.js';
import type { CampaignResourceMetadata } from '../../connectors/campaign/campaign-types.js';
import { tableFlowId, type FlowDefinition, type LinkDefinition } from '../../engine/flow-definition.js';
import { createMetadataSource } from '../../engine/custom-tables/custom-table-metadata-source.js';
import { checkCustomTables } from '../../engine/custom-tables/custom-table-preflight.js';
import { formatFinding } from '../../config/config-finding.js';
import type { SyncRuntime } from './sync-runtime.js';

/** Campaign metadata type → the mapper's target type. */
export function targetTypeOf(campaignType: string | undefined): TargetType {
  switch ((campaignType ?? '').toLowerCase()) {
    case 'string':
    case 'memo':
    case 'text':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'date':
      return 'date';
    case 'datetime':
    case 'timestamp':
      return 'datetime';
    case 'byte':
    case 'short':
    case 'long':
    case 'int64':
    case 'integer':
    case 'int':
      return 'integer';
    case 'double':
    case 'float':
    case 'number':
    case 'decimal':
      return 'number';
    default:
      return 'any';
  }
}

/** Lookup column as read from the Web API (`new_parentid` → `_new_parentid_value`). */
export function lookupReadName(lookup: string): string {
  return /^_.*_value$/.test(lookup) ? lookup : `_${lookup}_value`;
}

type MappingConfig = ResolvedConfig['flows']['contacts']['mapping'];

function buildRules(
  mapping: MappingConfig,
  flowPicklist: 'label' | 'value',
  metadata: CampaignResourceMetadata | null,
  extra: readonly FieldMappingRule[] = [],
): FieldMappingRule[] {
  const rules: FieldMappingRule[] = Object.entries(mapping).map(([source, m]) => {
    const field = metadata?.fields[m.to];
    return {
      source,
      target: m.to,
      applyOnUpdate: m.applyOnUpdate,
      replacements: m.replacements,
      picklist: m.picklist ?? flowPicklist,
      targetType: targetTypeOf(field?.type),
      ...(field?.length ? { maxLength: field.length } : {}),
    };
  });
  return [...rules, ...extra];
}

/**
 * The sink of one resource. With the key field declared as an identification key, records are
 * addressed by it (`GET …/<resource>/<key>`) and creates need no look-up; otherwise the key is
 * looked up through a custom filter (`by<Field>?<field>_parameter=`), every create after a look-up.
 */
function recordSink(
  runtime: SyncRuntime,
  resource: string,
  keyField: string,
  metadata: CampaignResourceMetadata | null,
  filterName: string | null,
): CampaignRecordSink {
  const keyIsUnique = metadata?.keyFields.includes(keyField) ?? false;
  const filter = filterName ?? `by${keyField.charAt(0).toUpperCase()}${keyField.slice(1)}`;
  return new CampaignRecordSink(runtime.campaign.client, {
    resource,
    keyField,
    keyIsUnique,
    lookup: keyIsUnique ? 'customKey' : { filter, parameter: `${keyField}_parameter` },
  });
}

function preflightError(message: string): SyncError {
  return new SyncError('PREFLIGHT_FAILED', message);
}

/**
 * Turn the configuration into flow definitions, checking both tenants on the way: change tracking
 * must be enabled on every table (the error names the table and says how to enable it), and
 * Campaign metadata supplies the target field types.
 */
export async function buildFlowDefinitions(runtime: SyncRuntime): Promise<FlowDefinition[]> {
  const { config } = runtime;
  const flows: FlowDefinition[] = [];
  const pageSize = config.dynamics.pageSize;

  async function tableSource(table: string, select: string[]): Promise<DynamicsChangeSource> {
    const metadata = await runtime.dynamics.metadata.getTableMetadata(table);
    if (!metadata.changeTrackingEnabled) {
      throw preflightError(
        `Change tracking is not enabled on Dynamics table "${table}". ${changeTrackingHint(table)}.`,
      );
    }
    return new DynamicsChangeSource(runtime.dynamics.reader, runtime.dynamics.client, {
      table,
      entitySetName: metadata.entitySetName,
      primaryIdAttribute: metadata.primaryIdAttribute,
      select: [...new Set(select)],
      pageSize,
    });
  }

  async function resourceMetadata(resource: string): Promise<CampaignResourceMetadata | null> {
    try {
      return await runtime.campaign.client.describeResource(resource);
    } catch (error) {
      runtime.logger.warn(
        { err: error, resource },
        'Campaign metadata unavailable; writing values without type conversion',
      );
      return null;
    }
  }

  const contacts = config.flows.contacts;
  if (contacts.enabled) {
    const metadata = await resourceMetadata('profile');
    const optOut = config.flows.optOut;
    // In dynamics-to-campaign mode the opt-out columns simply travel with the contact flow.
    const optOutRules: FieldMappingRule[] =
      optOut.mode === 'dynamics-to-campaign'
        ? Object.entries(optOut.mapping).map(([source, target]) => ({
            source,
            target,
            applyOnUpdate: true,
            replacements: [],
            picklist: 'value',
            targetType: 'boolean',
          }))
        : [];
    const mapping = new FieldMapping(
      buildRules(contacts.mapping, contacts.picklist, metadata, optOutRules),
      'flows.contacts.mapping',
    );
    const filter = (contacts.filter as RecordFilter | undefined) ?? null;
    const select = [...mapping.sourceColumns(), ...filterColumns(filter)];
    if (optOut.mode === 'bidirectional' || optOut.mode === 'campaign-to-dynamics')
      select.push(...Object.keys(optOut.mapping));
    flows.push({
      id: 'contacts',
      table: contacts.table,
      source: await tableSource(contacts.table, select),
      sink: recordSink(runtime, 'profile', 'externalId', metadata, config.campaign.externalIdFilter),
      mapping,
      optionLabels: {},
      filter,
      deletes: contacts.deletes,
      deleteWhenFilteredOut: contacts.deleteWhenFilteredOut,
      links: [],
    });
  }

  const byResource = new Map(config.flows.customTables.map((t) => [t.resource, t]));
  // Custom tables: the same pre-flight as `validate` (both tenants' metadata), fatal on errors.
  const metadataSource = createMetadataSource({
    dynamics: runtime.dynamics.metadata,
    campaign: runtime.campaign.client,
  });
  if (config.flows.customTables.some((t) => t.enabled)) {
    const findings = await checkCustomTables(config.flows, metadataSource);
    for (const finding of findings.filter((f) => f.severity !== 'error'))
      runtime.logger.warn({ code: finding.code, path: finding.path }, finding.message);
    const errors = findings.filter((f) => f.severity === 'error');
    if (errors.length > 0)
      throw preflightError(
        `Custom tables failed the pre-flight check:\n${errors.map((f) => `  ${formatFinding(f)}`).join('\n')}`,
      );
  }
  for (const table of config.flows.customTables) {
    if (!table.enabled) continue;
    const metadata = await metadataSource.campaignResource(table.resource);
    const mapping = new FieldMapping(
      buildRules(table.mapping, table.picklist, metadata),
      `flows.customTables[${table.table}].mapping`,
    );
    const links: LinkDefinition[] = table.links.map((link) => {
      const parent = link.target === 'profile' ? 'contacts' : byResource.get(link.target);
      if (!parent)
        throw preflightError(
          `flows.customTables[${table.table}]: link ${link.link} targets unknown resource ${link.target}`,
        );
      return {
        lookup: lookupReadName(link.lookup),
        link: link.link,
        parentFlow: parent === 'contacts' ? 'contacts' : tableFlowId(parent.table),
        // Without its parent a record of a cardinality-1 link would be hidden in Campaign.
        required: metadata?.links[link.link]?.cardinality === '1',
      };
    });
    const filter = (table.filter as RecordFilter | undefined) ?? null;
    const select = [...mapping.sourceColumns(), ...filterColumns(filter), ...links.map((l) => l.lookup)];
    flows.push({
      id: tableFlowId(table.table),
      table: table.table,
      source: await tableSource(table.table, select),
      sink: recordSink(runtime, table.resource, table.keyColumn, metadata, null),
      mapping,
      optionLabels: {},
      filter,
      deletes: table.deletes,
      deleteWhenFilteredOut: table.deleteWhenFilteredOut,
      links,
    });
  }
  return flows;
}

/** Flow ids and tables named by the configuration (no network calls). */
export function configuredFlows(config: ResolvedConfig): { id: string; table: string }[] {
  const flows: { id: string; table: string }[] = [];
  if (config.flows.contacts.enabled) flows.push({ id: 'contacts', table: config.flows.contacts.table });
  for (const t of config.flows.customTables)
    if (t.enabled) flows.push({ id: tableFlowId(t.table), table: t.table });
  return flows;
}

/** The flow that reads `table` (a logical name such as `contact`), or a flow id given as is. */
export function resolveFlowId(config: ResolvedConfig, tableOrFlow: string): string | null {
  const match = configuredFlows(config).find((f) => f.table === tableOrFlow || f.id === tableOrFlow);
  return match?.id ?? null;
}
