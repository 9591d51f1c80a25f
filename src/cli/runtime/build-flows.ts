import { SyncError } from '../../core/errors.js';
import {
  FieldMapping,
  type FieldMappingRule,
  type OptionLabels,
  type TargetType,
} from '../../core/field-mapping.js';
import { filterColumns, type RecordFilter } from '../../core/record-filter.js';
import type { ResolvedConfig } from '../../config/resolved-config.js';
import { emailEventsFlowId } from '../../engine/email-events/email-event-settings.js';
import type { StatusFlow } from '../../engine/flow-status.js';
import { DynamicsChangeSource } from '../../connectors/dynamics/dynamics-change-source.js';
import { CampaignRecordSink } from '../../connectors/campaign/campaign-record-sink.js';
import {
  changeTrackingMessage,
  choiceColumnTypes,
  type SourceTableMetadata,
  type TargetResourceMetadata,
} from '../../core/ports/metadata.js';
import {
  tableFlowId,
  type LinkDefinition,
  type RecordFlowSettings,
} from '../../engine/records/record-flow.js';
import { createMetadataSource } from '../../preflight/metadata-source.js';
import { checkCustomTables } from '../../preflight/custom-table-preflight.js';
import { checkContactFlow } from '../../preflight/contact-flow-preflight.js';
import { formatFinding, type ConfigFinding } from '../../config/config-finding.js';
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
  metadata: TargetResourceMetadata | null,
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
export function recordSink(
  runtime: { readonly campaign: Pick<SyncRuntime['campaign'], 'client'> },
  resource: string,
  keyField: string,
  metadata: TargetResourceMetadata | null,
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

/** Mapped choice columns (picklist, state, status) whose rule writes the label. */
function labelledChoiceColumns(mapping: FieldMapping, metadata: SourceTableMetadata): string[] {
  const types = new Map(metadata.attributes.map((a) => [a.logicalName, a.type]));
  return mapping.rules
    .filter((r) => r.picklist === 'label' && choiceColumnTypes.includes(types.get(r.source) ?? ''))
    .map((r) => r.source);
}

/**
 * Turn the configuration into flow definitions, checking both tenants on the way: change tracking
 * must be enabled on every table (the error names the table and says how to enable it), a
 * configured `entitySet` must be the table's, Campaign metadata supplies the target field types,
 * and the labels of choice columns written as labels are read from the table's option sets (once,
 * here: a restart picks up changed labels).
 */
export async function buildRecordFlows(runtime: SyncRuntime): Promise<RecordFlowSettings[]> {
  const { config } = runtime;
  const flows: RecordFlowSettings[] = [];
  const pageSize = config.dynamics.pageSize;
  // Every metadata read of the start goes through one source: each table and resource is read
  // once (the pre-flights and the flows below ask about the same ones).
  const metadataSource = createMetadataSource({
    dynamics: runtime.dynamics.metadata,
    campaign: runtime.campaign.client,
  });

  async function readTable(table: string): Promise<SourceTableMetadata> {
    const metadata = await metadataSource.sourceTable(table);
    if (!metadata) throw preflightError(`Dynamics table "${table}" does not exist in the environment.`);
    return metadata;
  }

  function tableSource(metadata: SourceTableMetadata, select: string[]): DynamicsChangeSource {
    const table = metadata.logicalName;
    if (!metadata.changeTrackingEnabled) {
      throw preflightError(changeTrackingMessage(table));
    }
    return new DynamicsChangeSource(runtime.dynamics.reader, runtime.dynamics.client, {
      table,
      entitySetName: metadata.entitySetName,
      primaryIdAttribute: metadata.primaryIdAttribute,
      select: [...new Set(select)],
      pageSize,
    });
  }

  /**
   * Labels of the mapped choice columns that are written as labels, read once from the table's
   * option sets; none asked when no such column is mapped. Without them the flow would write raw
   * values where labels are configured, so a failed read stops the start.
   */
  async function optionLabels(
    mappingPath: string,
    metadata: SourceTableMetadata,
    mapping: FieldMapping,
  ): Promise<OptionLabels> {
    const columns = labelledChoiceColumns(mapping, metadata);
    if (columns.length === 0) return {};
    try {
      return await runtime.dynamics.metadata.getOptionLabels(metadata.logicalName, columns);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw preflightError(
        `Could not read the choice labels of Dynamics table "${metadata.logicalName}" (${mappingPath} writes ${columns.join(', ')} as labels): ${reason}. ` +
          `Check that the application user may read the table's metadata, or set picklist: value.`,
      );
    }
  }

  async function resourceMetadata(resource: string): Promise<TargetResourceMetadata | null> {
    try {
      return await metadataSource.targetResource(resource);
    } catch (error) {
      runtime.logger.warn(
        { err: error, resource },
        'Campaign metadata unavailable; writing values without type conversion',
      );
      return null;
    }
  }

  // The same pre-flights as `validate` (both tenants' metadata), fatal on errors.
  function reportPreflight(what: string, findings: readonly ConfigFinding[]): void {
    for (const finding of findings.filter((f) => f.severity !== 'error'))
      runtime.logger.warn({ code: finding.code, path: finding.path }, finding.message);
    const errors = findings.filter((f) => f.severity === 'error');
    if (errors.length > 0)
      throw preflightError(
        `${what} failed the pre-flight check:\n${errors.map((f) => `  ${formatFinding(f)}`).join('\n')}`,
      );
  }
  // Contacts and opt-outs: a metadata read that keeps failing only costs the check (the flow
  // below still refuses a table without change tracking); wrong columns and fields stop the start.
  const contactFindings = await checkContactFlow(config.flows, metadataSource).catch((error: unknown) => {
    runtime.logger.warn({ err: error }, 'contact pre-flight skipped: metadata unavailable');
    return [];
  });
  reportPreflight('The contact flow', contactFindings);

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
    const tableMetadata = await readTable(contacts.table);
    const source = tableSource(tableMetadata, select);
    flows.push({
      id: 'contacts',
      table: contacts.table,
      feed: source,
      sink: recordSink(runtime, 'profile', 'externalId', metadata, config.campaign.externalIdFilter),
      mapping,
      optionLabels: await optionLabels('flows.contacts.mapping', tableMetadata, mapping),
      filter,
      deletes: contacts.deletes,
      deleteWhenFilteredOut: contacts.deleteWhenFilteredOut,
      links: [],
    });
  }

  const byResource = new Map(config.flows.customTables.map((t) => [t.resource, t]));
  if (config.flows.customTables.some((t) => t.enabled)) {
    // Custom tables: the same pre-flight as `validate`; a tenant that cannot answer stops the start.
    reportPreflight('Custom tables', await checkCustomTables(config.flows, metadataSource));
  }
  for (const table of config.flows.customTables) {
    if (!table.enabled) continue;
    const metadata = await metadataSource.targetResource(table.resource);
    const mappingPath = `flows.customTables[${table.table}].mapping`;
    const mapping = new FieldMapping(buildRules(table.mapping, table.picklist, metadata), mappingPath);
    const tableMetadata = await readTable(table.table);
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
    const source = tableSource(tableMetadata, select);
    flows.push({
      id: tableFlowId(table.table),
      table: table.table,
      feed: source,
      sink: recordSink(runtime, table.resource, table.keyColumn, metadata, null),
      mapping,
      optionLabels: await optionLabels(mappingPath, tableMetadata, mapping),
      filter,
      deletes: table.deletes,
      deleteWhenFilteredOut: table.deleteWhenFilteredOut,
      links,
    });
  }
  return flows;
}

/** Flow ids and tables named by the configuration (no network calls). */
export function configuredFlows(config: ResolvedConfig): StatusFlow[] {
  const flows: StatusFlow[] = [];
  const { contacts } = config.flows;
  if (contacts.enabled)
    flows.push({ id: 'contacts', table: contacts.table, ...(contacts.bulk ? { bulk: contacts.bulk } : {}) });
  for (const t of config.flows.customTables)
    if (t.enabled)
      flows.push({ id: tableFlowId(t.table), table: t.table, ...(t.bulk ? { bulk: t.bulk } : {}) });
  return flows;
}

/** What status shows as the "table" of the e-mail event flow (F6), which reads Campaign's journal. */
export const emailEventsStatusTable = 'Campaign e-mail events journal';

/** The flows read from an event journal (F6 when `flows.emailEvents` is enabled), for status. */
export function journalFlows(config: ResolvedConfig): StatusFlow[] {
  return config.flows.emailEvents.enabled
    ? [
        {
          id: emailEventsFlowId,
          table: emailEventsStatusTable,
          journal: true,
          direction: 'campaign-to-dynamics',
        },
      ]
    : [];
}

/** The flow that reads `table` (a logical name such as `contact`), or a flow id given as is. */
export function resolveFlowId(config: ResolvedConfig, tableOrFlow: string): string | null {
  const match = configuredFlows(config).find((f) => f.table === tableOrFlow || f.id === tableOrFlow);
  return match?.id ?? null;
}
