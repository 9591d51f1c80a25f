import type { ConfigFinding, ConfigPath } from '../config/config-finding.js';
import type { ResolvedFlowsConfig, ResolvedCustomTable } from '../config/resolved-config.js';
import { formatHint } from '../config/did-you-mean.js';
import {
  changeTrackingMessage,
  type SourceTableMetadata,
  type TargetLink,
  type TargetResourceMetadata,
} from '../core/ports/metadata.js';
import {
  attributeOf,
  campaignTypeOf,
  checkMappedColumns,
  checkMappedFields,
  collectFindings,
  logicalColumn,
  type MappingUnderCheck,
  type PreflightReport,
} from './mapping-preflight.js';
import type { MetadataSource } from '../core/ports/metadata.js';

/** The parts of the configuration the custom-table pre-flight reads. */
export type CustomTablePreflightConfig = Pick<ResolvedFlowsConfig, 'contacts' | 'customTables'>;

/** Length of a Dynamics unique id written into the key column (`00000000-0000-0000-0000-000000000000`). */
const guidLength = 36;

/** Dynamics attribute types of lookup columns. */
const lookupTypes: readonly string[] = ['Lookup', 'Customer', 'Owner'];

interface TableContext {
  index: number;
  table: ResolvedCustomTable;
  owner: string;
  dynamics: SourceTableMetadata | null;
  campaign: TargetResourceMetadata | null;
}

type Report = PreflightReport;

function tablePath(index: number, ...rest: (string | number)[]): ConfigPath {
  return ['flows', 'customTables', index, ...rest];
}

/**
 * Check the custom tables against both tenants (flow F2): the Dynamics table exists with change
 * tracking on; mapped, filtered and lookup columns exist with compatible types; each lookup points
 * at the table that feeds the link's target; the Campaign resource exists with the mapped fields,
 * the key column (a string that can hold a Dynamics id; a declared identification key, else a
 * warning) and the links, each targeting the configured parent; the parent's flow is enabled; and
 * a resource marked `personalData` reaches the profile through links that cascade deletes at every
 * hop. (Link depth, link count and tables mapped twice are rules of the file alone: `lintConfig`.)
 * Findings name the table, resource and column, and say how to fix them.
 */
export async function checkCustomTables(
  flows: CustomTablePreflightConfig,
  source: MetadataSource,
): Promise<ConfigFinding[]> {
  const { findings, report } = collectFindings();
  const contexts: TableContext[] = [];
  const all = flows.customTables;
  await Promise.all(
    all.map(async (table, index) => {
      if (!table.enabled) return;
      const [dynamics, campaign] = await Promise.all([
        source.sourceTable(table.table),
        source.targetResource(table.resource),
      ]);
      contexts[index] = {
        index,
        table,
        owner: `custom table ${table.table} → ${table.resource}`,
        dynamics,
        campaign,
      };
    }),
  );
  const byResource = new Map(all.map((table) => [table.resource, table]));
  for (const context of contexts) {
    if (!context) continue;
    checkDynamicsSide(context, report);
    checkCampaignSide(context, report);
    checkLinks(context, flows, byResource, report);
  }
  checkPersonalData(contexts, byResource, report);
  return findings;
}

function mappingUnderCheck({ index, table, owner }: TableContext): MappingUnderCheck {
  const filter = table.filter;
  return {
    owner,
    table: table.table,
    resource: table.resource,
    mapping: table.mapping,
    picklist: table.picklist,
    filterColumns: (filter ? (filter.all ?? filter.any ?? []) : []).map((condition) => condition.field),
    mappingPath: (column) => tablePath(index, 'mapping', column),
    filterPath: tablePath(index, 'filter'),
  };
}

function checkDynamicsSide(context: TableContext, report: Report): void {
  const { index, table, owner, dynamics } = context;
  if (!dynamics) {
    report(
      'error',
      'PREFLIGHT_TABLE_MISSING',
      tablePath(index, 'table'),
      `${owner}: Dynamics table ${table.table} does not exist in the environment; check the logical name`,
    );
    return;
  }
  if (!dynamics.changeTrackingEnabled)
    report(
      'error',
      'PREFLIGHT_CHANGE_TRACKING',
      tablePath(index, 'table'),
      changeTrackingMessage(table.table),
    );
  if (table.entitySet !== undefined && table.entitySet !== dynamics.entitySetName)
    report(
      'error',
      'PREFLIGHT_ENTITY_SET',
      tablePath(index, 'entitySet'),
      `${owner}: "${table.entitySet}" is not the entity set of Dynamics table ${table.table}; its metadata reports "${dynamics.entitySetName}". Set entitySet to "${dynamics.entitySetName}" or leave it out (it is read from the metadata)`,
    );
  checkMappedColumns(mappingUnderCheck(context), dynamics, report);
}

function checkCampaignSide(context: TableContext, report: Report): void {
  const { index, table, owner, dynamics, campaign } = context;
  if (!campaign) {
    report(
      'error',
      'PREFLIGHT_RESOURCE_MISSING',
      tablePath(index, 'resource'),
      `${owner}: Campaign resource ${table.resource} does not exist; create and publish it (with its key column and links) before syncing`,
    );
    return;
  }
  checkMappedFields(mappingUnderCheck(context), dynamics, campaign, report);
  const fieldNames = Object.keys(campaign.fields);

  const key = campaign.fields[table.keyColumn];
  const keyPath = tablePath(index, 'keyColumn');
  if (!key) {
    report(
      'error',
      'PREFLIGHT_KEY_COLUMN_MISSING',
      keyPath,
      `${owner}: key column ${table.keyColumn} does not exist on Campaign resource ${table.resource}${formatHint(table.keyColumn, fieldNames)}; it must hold the Dynamics id (${table.table}id)`,
    );
    return;
  }
  if (campaignTypeOf(key) !== 'string' || (key.length !== null && key.length < guidLength))
    report(
      'error',
      'PREFLIGHT_KEY_COLUMN_TYPE',
      keyPath,
      `${owner}: key column ${table.keyColumn} of ${table.resource} is ${campaignTypeOf(key)}${key.length === null ? '' : `(${key.length})`}; it must be a string of at least ${guidLength} characters to hold a Dynamics id`,
    );
  if (!campaign.keyFields.includes(table.keyColumn))
    report(
      'warning',
      'PREFLIGHT_KEY_NOT_DECLARED',
      keyPath,
      `${owner}: key column ${table.keyColumn} is not a declared identification ("CRM ID") key of ${table.resource}: Campaign does not refuse duplicates, so every create needs a look-up first (2 calls instead of 1); declare it as the resource's identification key`,
    );
}

function checkLinks(
  context: TableContext,
  flows: CustomTablePreflightConfig,
  byResource: ReadonlyMap<string, ResolvedCustomTable>,
  report: Report,
): void {
  const { index, table, owner, dynamics, campaign } = context;
  table.links.forEach((link, linkIndex) => {
    const path = tablePath(index, 'links', linkIndex);
    const parentTable = link.target === 'profile' ? flows.contacts.table : byResource.get(link.target)?.table;
    const parentEnabled =
      link.target === 'profile' ? flows.contacts.enabled : (byResource.get(link.target)?.enabled ?? true);
    if (!parentEnabled)
      report(
        'error',
        'PREFLIGHT_PARENT_FLOW_DISABLED',
        [...path, 'target'],
        `${owner}: link ${link.link} targets ${link.target}, whose flow is disabled, so its records would wait for parents forever; enable the ${link.target === 'profile' ? 'contacts flow' : `custom table ${parentTable ?? link.target}`}`,
      );
    if (dynamics) {
      const column = logicalColumn(link.lookup);
      const attribute = attributeOf(dynamics, link.lookup);
      if (!attribute)
        report(
          'error',
          'PREFLIGHT_LOOKUP_MISSING',
          [...path, 'lookup'],
          `${owner}: lookup column ${link.lookup} does not exist on Dynamics table ${table.table}${formatHint(
            column,
            dynamics.lookups.map((l) => l.attribute),
          )}`,
        );
      else if (!lookupTypes.includes(attribute.type))
        report(
          'error',
          'PREFLIGHT_LOOKUP_NOT_LOOKUP',
          [...path, 'lookup'],
          `${owner}: column ${link.lookup} of Dynamics table ${table.table} is ${attribute.type}, not a lookup`,
        );
      else if (parentTable !== undefined) {
        const targets = dynamics.lookups.filter((l) => l.attribute === column).map((l) => l.target);
        if (targets.length > 0 && !targets.includes(parentTable))
          report(
            'error',
            'PREFLIGHT_LOOKUP_TARGET',
            [...path, 'lookup'],
            `${owner}: lookup ${link.lookup} of Dynamics table ${table.table} points to ${targets.join(' or ')}, but link ${link.link} targets ${link.target}, which is fed by Dynamics table ${parentTable}`,
          );
      }
    }
    if (!campaign) return;
    const campaignLink = campaign.links[link.link];
    if (!campaignLink) {
      report(
        'error',
        'PREFLIGHT_LINK_MISSING',
        [...path, 'link'],
        `${owner}: Campaign resource ${table.resource} has no link ${link.link}${formatHint(link.link, Object.keys(campaign.links))}; create the link to ${link.target} in Campaign`,
      );
      return;
    }
    if (campaignLink.target !== link.target)
      report(
        'error',
        'PREFLIGHT_LINK_TARGET',
        [...path, 'target'],
        `${owner}: Campaign link ${link.link} of ${table.resource} targets ${campaignLink.target || '(unknown)'}, but the configuration links it to ${link.target}`,
      );
    if (campaignLink.cardinality === '1' && campaignLink.onDelete === 'none')
      report(
        'warning',
        'PREFLIGHT_LINK_HIDES_CHILDREN',
        [...path, 'link'],
        `${owner}: Campaign link ${link.link} has cardinality 1 and no cascade delete: when a ${link.target} record is deleted, its ${table.resource} records stay behind, hidden; use cascade delete or cardinality 0..1`,
      );
  });
}

/** Why a hop does not cascade, or null when it does. */
function hopProblem(resource: string, linkName: string, link: TargetLink | undefined): string | null {
  if (!link) return `link ${linkName} of ${resource} is missing in Campaign`;
  if (link.onDelete !== 'cascade')
    return `link ${linkName} of ${resource} deletes '${link.onDelete ?? 'unknown'}', not 'cascade'`;
  return null;
}

function checkPersonalData(
  contexts: readonly (TableContext | undefined)[],
  byResource: ReadonlyMap<string, ResolvedCustomTable>,
  report: Report,
): void {
  const byTable = new Map<ResolvedCustomTable, TableContext>();
  for (const context of contexts) if (context) byTable.set(context.table, context);
  // Walk configured links: a hop counts only when its Campaign link cascades deletes.
  const walk = (table: ResolvedCustomTable, seen: Set<ResolvedCustomTable>, problems: string[]): boolean => {
    if (seen.has(table)) return false;
    seen.add(table);
    const campaign = byTable.get(table)?.campaign;
    if (!campaign) return false;
    let reaches = false;
    for (const link of table.links) {
      const parent = link.target === 'profile' ? 'profile' : byResource.get(link.target);
      if (!parent) continue;
      const problem = hopProblem(table.resource, link.link, campaign.links[link.link]);
      if (problem) {
        problems.push(problem);
        continue;
      }
      if (parent === 'profile' || walk(parent, seen, problems)) reaches = true;
    }
    return reaches;
  };
  for (const context of byTable.values()) {
    if (!context.table.personalData || !context.campaign) continue;
    const problems: string[] = [];
    if (walk(context.table, new Set(), problems)) continue;
    report(
      'error',
      'PREFLIGHT_PERSONAL_DATA_NOT_CASCADED',
      tablePath(context.index, 'personalData'),
      `${context.owner} holds personal data, but no chain of links with cascade delete reaches the profile${problems.length > 0 ? ` (${[...new Set(problems)].join('; ')})` : ''}, so a privacy delete of the profile would leave its records behind; in Campaign, set "Deleting the target record implies deleting records referenced by the link" on every link up to the profile`,
    );
  }
}
