/**
 * Semantic lint of a configuration that passed the schema: rules that span several keys or
 * sections (opt-out targets, mapping conflicts, link graphs, personal data). Findings are data with
 * stable codes; the checks against the live tenants (columns exist, change tracking enabled,
 * cascade on links) run later, in `validate`'s live checks.
 */
import type { ConfigFinding, ConfigPath, FindingSeverity, LocateConfigPath } from './config-finding.js';
import { createFinding } from './config-finding.js';
import { campaignOptOutAttributes } from '../core/opt-out-resolver.js';
import type { SyncConfig } from './config-schema.js';
import { formatHint } from './did-you-mean.js';

type Flows = SyncConfig['flows'];
type CustomTable = Flows['customTables'][number];
type Mapping = Flows['contacts']['mapping'];

/**
 * A configuration to lint. Every section is optional: when the file fails the schema, the sections
 * that parsed are still linted, and rules that need a missing section are skipped.
 */
export type LintableConfig = {
  readonly [K in Exclude<keyof SyncConfig, 'flows'>]?: SyncConfig[K];
} & {
  readonly flows?: { readonly [K in keyof Flows]?: Flows[K] };
};

/** Options for {@link lintConfig}. */
export interface LintConfigOptions {
  /** Places findings in the source file (line and column). */
  readonly locate?: LocateConfigPath;
}

/** The most links Campaign allows on one custom resource. */
export const maxLinksPerResource = 5;
/** The deepest chain of linked custom resources (table1 → table2 → table3). */
export const maxLinkDepth = 3;

type Report = (severity: FindingSeverity, code: string, path: ConfigPath, message: string) => void;

const optOutTargets: readonly string[] = campaignOptOutAttributes;

function tablePath(index: number, ...rest: (string | number)[]): ConfigPath {
  return ['flows', 'customTables', index, ...rest];
}

function describeTable(table: CustomTable): string {
  return `custom table ${table.table} → ${table.resource}`;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

// ---------------------------------------------------------------------------------------------
// Field mappings (any flow)
// ---------------------------------------------------------------------------------------------

function lintMapping(mapping: Mapping, mappingPath: ConfigPath, owner: string, report: Report): void {
  const sourcesSeen = new Map<string, string>();
  const targetsSeen = new Map<string, string>();
  for (const [column, field] of Object.entries(mapping)) {
    const path = [...mappingPath, column];
    const lowered = column.toLowerCase();
    const sameSource = sourcesSeen.get(lowered);
    if (sameSource !== undefined)
      report(
        'error',
        'CONFIG_MAPPING_SOURCE_TWICE',
        path,
        `${owner}: Dynamics column ${column} is mapped twice (also as ${sameSource}); map each column once`,
      );
    else sourcesSeen.set(lowered, column);
    if (column !== lowered)
      report(
        'warning',
        'CONFIG_DYNAMICS_NAME_CASE',
        path,
        `${owner}: Dataverse logical names are lower-case; ${column} will not match a column`,
      );
    const other = targetsSeen.get(field.to);
    if (other !== undefined)
      report(
        'error',
        'CONFIG_MAPPING_TARGET_TWICE',
        path,
        `${owner}: Campaign field ${field.to} already receives ${other}; two Dynamics columns cannot feed one field`,
      );
    else targetsSeen.set(field.to, column);
  }
}

function lintContacts(flows: LintableConfig['flows'], report: Report): void {
  const contacts = flows?.contacts;
  if (!contacts) return;
  const mappingPath: ConfigPath = ['flows', 'contacts', 'mapping'];
  if (contacts.enabled && Object.keys(contacts.mapping).length === 0)
    report('error', 'CONFIG_MAPPING_EMPTY', mappingPath, 'the contact flow is enabled but maps no columns');
  lintMapping(contacts.mapping, mappingPath, 'contacts', report);
  for (const [column, field] of Object.entries(contacts.mapping)) {
    if (field.to === 'externalId' || column === `${contacts.table}id`)
      report(
        'error',
        'CONFIG_MAPPING_RESERVED',
        [...mappingPath, column],
        `contacts: externalId is managed by the sync (it always holds ${contacts.table}id); remove ${column} from the mapping`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Opt-outs
// ---------------------------------------------------------------------------------------------

function suggestOptOutTarget(attribute: string): string {
  const legacy = /^(denyList|blockList)(.*)$/.exec(attribute);
  if (legacy) {
    const apiName = `blackList${legacy[2]}`;
    if (optOutTargets.includes(apiName))
      return ` (did you mean "${apiName}"? ${legacy[1]} is the UI label; the API name is blackList…)`;
  }
  return formatHint(attribute, optOutTargets);
}

function lintOptOut(config: LintableConfig, report: Report): void {
  const optOut = config.flows?.optOut;
  if (!optOut) return;
  const mappingPath: ConfigPath = ['flows', 'optOut', 'mapping'];
  const entries = Object.entries(optOut.mapping);
  const targetsSeen = new Map<string, string>();
  for (const [column, attribute] of entries) {
    const path = [...mappingPath, column];
    if (!optOutTargets.includes(attribute))
      report(
        'error',
        'CONFIG_OPTOUT_TARGET',
        path,
        `Dynamics column ${column} → Campaign attribute ${attribute}: opt-outs may only target ${optOutTargets.join(', ')}${suggestOptOutTarget(attribute)}`,
      );
    const other = targetsSeen.get(attribute);
    if (other !== undefined)
      report(
        'error',
        'CONFIG_OPTOUT_TARGET_TWICE',
        path,
        `Campaign attribute ${attribute} already receives ${other}; each opt-out attribute takes one Dynamics column`,
      );
    else targetsSeen.set(attribute, column);
  }

  if (optOut.mode === 'disabled') {
    if (entries.length > 0)
      report(
        'warning',
        'CONFIG_OPTOUT_MAPPING_IGNORED',
        mappingPath,
        'opt-out mode is disabled, so this mapping is ignored',
      );
    return;
  }
  if (entries.length === 0)
    report(
      'error',
      'CONFIG_OPTOUT_MAPPING_EMPTY',
      mappingPath,
      `opt-out mode ${optOut.mode} needs at least one column → attribute pair`,
    );
  if ((optOut.mode === 'campaign-to-dynamics' || optOut.mode === 'bidirectional') && config.campaign)
    if (config.campaign.sftp === undefined)
      report(
        'error',
        'CONFIG_OPTOUT_NEEDS_SFTP',
        ['flows', 'optOut', 'mode'],
        `opt-out mode ${optOut.mode} reads Campaign's daily export file over SFTP; configure campaign.sftp`,
      );
  if (optOut.mode === 'campaign-to-dynamics' || optOut.mode === 'bidirectional')
    lintOptOutFile(optOut.file, report);
  report(
    'info',
    'CONFIG_OPTOUT_TYPOLOGY',
    ['flows', 'optOut', 'mode'],
    'review the default and specific typology rules in Campaign so opt-outs do not block transactional messages (e.g. order confirmations)',
  );

  const contacts = config.flows?.contacts;
  if (!contacts) return;
  for (const [column, field] of Object.entries(contacts.mapping)) {
    const path: ConfigPath = ['flows', 'contacts', 'mapping', column];
    if (optOut.mapping[column] !== undefined)
      report(
        'error',
        'CONFIG_OPTOUT_CONFLICT',
        path,
        `Dynamics column ${column} is mapped both here and in flows.optOut.mapping; opt-out columns belong in flows.optOut.mapping only`,
      );
    else if (targetsSeen.has(field.to))
      report(
        'error',
        'CONFIG_OPTOUT_CONFLICT',
        path,
        `Campaign attribute ${field.to} receives ${column} here and ${targetsSeen.get(field.to)} from flows.optOut.mapping; two sources cannot feed one attribute`,
      );
  }
}

/** A file counts as complete after this long without change at the least (docs/opt-outs.md). */
const minStableWindowMs = 60_000;
/** Above this, one line may hold this much memory while it is read. */
const largeLineBytes = 1024 * 1024;

/** Settings that weaken the guards against reading a file Campaign is still writing, or cost memory. */
function lintOptOutFile(file: Flows['optOut']['file'], report: Report): void {
  const path: ConfigPath = ['flows', 'optOut', 'file'];
  if (file.stableChecks === 1)
    report(
      'warning',
      'CONFIG_OPTOUT_STABLE_CHECKS',
      [...path, 'stableChecks'],
      'stableChecks: 1 reads an export file at first sight, while Campaign may still be writing it; only a cut last line (or a trailer, with requireTrailer) then shows it is not whole. Use 2 or more',
    );
  else if ((file.stableChecks - 1) * file.pollIntervalMs < minStableWindowMs)
    report(
      'warning',
      'CONFIG_OPTOUT_STABLE_WINDOW',
      [...path, 'stableChecks'],
      `a file counts as complete after ${(file.stableChecks - 1) * file.pollIntervalMs} ms without change (stableChecks ${file.stableChecks} × pollIntervalMs ${file.pollIntervalMs}); a Campaign workflow pausing longer between writes would be read half-written. Allow at least ${minStableWindowMs / 1000} s`,
    );
  if (file.maxLineBytes > largeLineBytes)
    report(
      'warning',
      'CONFIG_OPTOUT_LINE_LIMIT',
      [...path, 'maxLineBytes'],
      `maxLineBytes ${file.maxLineBytes} lets one line of an export file hold that much memory; an export line is about 200 bytes, the default is 65536`,
    );
}

// ---------------------------------------------------------------------------------------------
// Custom tables and their links
// ---------------------------------------------------------------------------------------------

function lintCustomTableEntries(flows: NonNullable<LintableConfig['flows']>, report: Report): void {
  const tables = flows.customTables ?? [];
  const tablesSeen = new Map<string, number>();
  const resourcesSeen = new Map<string, number>();
  const contactTable = flows.contacts?.table ?? 'contact';
  tables.forEach((table, index) => {
    const owner = describeTable(table);
    const firstTable = tablesSeen.get(table.table.toLowerCase());
    if (firstTable !== undefined)
      report(
        'error',
        'CONFIG_TABLE_TWICE',
        tablePath(index, 'table'),
        `Dynamics table ${table.table} is mapped twice (also flows.customTables[${firstTable}]); a table maps to one resource`,
      );
    else tablesSeen.set(table.table.toLowerCase(), index);
    if (table.table.toLowerCase() === contactTable)
      report(
        'error',
        'CONFIG_TABLE_TWICE',
        tablePath(index, 'table'),
        `Dynamics table ${table.table} is the contact flow's table; it cannot also be a custom table`,
      );
    const firstResource = resourcesSeen.get(table.resource);
    if (firstResource !== undefined)
      report(
        'error',
        'CONFIG_RESOURCE_TWICE',
        tablePath(index, 'resource'),
        `Campaign resource ${table.resource} already receives flows.customTables[${firstResource}]; one Dynamics table maps to one resource`,
      );
    else resourcesSeen.set(table.resource, index);

    if (table.keyColumn === 'PKey')
      report(
        'error',
        'CONFIG_KEY_COLUMN_INVALID',
        tablePath(index, 'keyColumn'),
        `${owner}: keyColumn cannot be PKey (Campaign's own key); name the "CRM ID" column that holds ${table.table}id`,
      );
    lintMapping(table.mapping, tablePath(index, 'mapping'), owner, report);
    for (const [column, field] of Object.entries(table.mapping))
      if (field.to === table.keyColumn)
        report(
          'error',
          'CONFIG_KEY_COLUMN_MAPPED',
          tablePath(index, 'mapping', column),
          `${owner}: ${column} is mapped into the key column ${table.keyColumn}, which holds the Dynamics id; map it elsewhere`,
        );
  });
}

function lintLinks(tables: readonly CustomTable[], report: Report): void {
  const byResource = new Map<string, number>();
  tables.forEach((table, index) => {
    if (!byResource.has(table.resource)) byResource.set(table.resource, index);
  });
  const resourceNames = [...byResource.keys(), 'profile'];

  tables.forEach((table, index) => {
    const owner = describeTable(table);
    if (table.links.length > maxLinksPerResource)
      report(
        'error',
        'CONFIG_LINK_COUNT',
        tablePath(index, 'links'),
        `${owner}: ${table.links.length} linked columns; Campaign allows at most ${maxLinksPerResource} per resource`,
      );
    const lookups = new Set<string>();
    const links = new Set<string>();
    table.links.forEach((link, linkIndex) => {
      const path = tablePath(index, 'links', linkIndex);
      if (lookups.has(link.lookup.toLowerCase()))
        report(
          'error',
          'CONFIG_LINK_TWICE',
          [...path, 'lookup'],
          `${owner}: lookup column ${link.lookup} is used by two links`,
        );
      lookups.add(link.lookup.toLowerCase());
      if (links.has(link.link))
        report(
          'error',
          'CONFIG_LINK_TWICE',
          [...path, 'link'],
          `${owner}: link ${link.link} is declared twice`,
        );
      links.add(link.link);
      if (link.target !== 'profile' && !byResource.has(link.target))
        report(
          'error',
          'CONFIG_LINK_TARGET_UNKNOWN',
          [...path, 'target'],
          `${owner}: lookup ${link.lookup} links to ${link.target}, which is neither profile nor a configured custom resource${formatHint(link.target, resourceNames)}`,
        );
    });
  });
}

/** Custom-resource targets of a table's links (profile and unknown targets left out). */
function parentsOf(table: CustomTable, byResource: ReadonlyMap<string, CustomTable>): CustomTable[] {
  return table.links
    .map((link) => (link.target === 'profile' ? undefined : byResource.get(link.target)))
    .filter((parent): parent is CustomTable => parent !== undefined);
}

function lintLinkGraph(tables: readonly CustomTable[], report: Report): void {
  const byResource = new Map<string, CustomTable>();
  for (const table of tables) if (!byResource.has(table.resource)) byResource.set(table.resource, table);
  const indexOf = new Map(tables.map((table, index) => [table, index] as const));

  // Cycles: depth-first search; a back edge closes a cycle, reported once per set of resources.
  const state = new Map<CustomTable, 'active' | 'done'>();
  const inCycle = new Set<CustomTable>();
  const reportedCycles = new Set<string>();
  const visit = (table: CustomTable, stack: CustomTable[]): void => {
    state.set(table, 'active');
    stack.push(table);
    for (const parent of parentsOf(table, byResource)) {
      if (state.get(parent) === 'active') {
        const cycle = stack.slice(stack.indexOf(parent));
        cycle.forEach((member) => inCycle.add(member));
        const key = cycle
          .map((member) => member.resource)
          .sort()
          .join(',');
        if (!reportedCycles.has(key)) {
          reportedCycles.add(key);
          const chain = [...cycle, parent].map((member) => member.resource).join(' → ');
          report(
            'error',
            'CONFIG_LINK_CYCLE',
            tablePath(indexOf.get(parent) ?? 0, 'links'),
            `links form a cycle: ${chain}; parents must come before children`,
          );
        }
      } else if (state.get(parent) === undefined) visit(parent, stack);
    }
    stack.pop();
    state.set(table, 'done');
  };
  for (const table of tables) if (state.get(table) === undefined) visit(table, []);

  // Depth: a resource linked to the profile (or to nothing) is level 1; its children level 2; …
  const chains = new Map<CustomTable, string[]>();
  const chainOf = (table: CustomTable): string[] => {
    const known = chains.get(table);
    if (known) return known;
    let longest: string[] = [];
    for (const parent of parentsOf(table, byResource)) {
      if (inCycle.has(parent)) continue;
      const candidate = chainOf(parent);
      if (candidate.length > longest.length) longest = candidate;
    }
    const chain = [table.resource, ...longest];
    chains.set(table, chain);
    return chain;
  };
  tables.forEach((table, index) => {
    if (inCycle.has(table)) return;
    const chain = chainOf(table);
    if (chain.length > maxLinkDepth)
      report(
        'error',
        'CONFIG_LINK_DEPTH',
        tablePath(index, 'links'),
        `${describeTable(table)}: ${chain.length} levels of linked resources (${chain.join(' → ')}); Campaign supports at most ${maxLinkDepth} (table1 → table2 → table3)`,
      );
  });

  // Personal data must reach the profile, so a privacy delete on the profile cascades to it.
  const reaches = new Map<CustomTable, boolean>();
  const reachesProfile = (table: CustomTable, seen: Set<CustomTable>): boolean => {
    const known = reaches.get(table);
    if (known !== undefined) return known;
    if (seen.has(table)) return false;
    seen.add(table);
    const result =
      table.links.some((link) => link.target === 'profile') ||
      parentsOf(table, byResource).some((parent) => reachesProfile(parent, seen));
    reaches.set(table, result);
    return result;
  };
  tables.forEach((table, index) => {
    if (table.personalData && !reachesProfile(table, new Set()))
      report(
        'error',
        'CONFIG_PERSONAL_DATA_UNLINKED',
        tablePath(index, 'personalData'),
        `${describeTable(table)} holds personal data but no chain of links reaches the profile, so a privacy delete would leave it behind; link it to profile (directly or through another resource) with cascade delete`,
      );
  });
}

// ---------------------------------------------------------------------------------------------
// Transport and surfaces
// ---------------------------------------------------------------------------------------------

function lintUrls(config: LintableConfig, report: Report): void {
  const urls: [ConfigPath, string | undefined][] = [
    [['dynamics', 'url'], config.dynamics?.url],
    [['dynamics', 'authorityHost'], config.dynamics?.authorityHost],
    [['campaign', 'url'], config.campaign?.url],
    [['campaign', 'imsUrl'], config.campaign?.imsUrl],
    [['privacy', 'serviceUrl'], config.privacy?.serviceUrl],
  ];
  for (const [path, url] of urls) {
    if (url === undefined) continue;
    const parsed = new URL(url);
    if (parsed.protocol === 'http:' && !isLoopback(parsed.hostname))
      report(
        'warning',
        'CONFIG_INSECURE_URL',
        path,
        `plain http to ${parsed.hostname} sends credentials unencrypted; use https`,
      );
  }
  (config.alerts?.webhooks ?? []).forEach((webhook, index) => {
    if (webhook.url.scheme === 'literal')
      report(
        'warning',
        'CONFIG_LITERAL_WEBHOOK_URL',
        ['alerts', 'webhooks', index, 'url'],
        'webhook URLs usually embed a token; prefer url: env:NAME',
      );
  });
  if (config.server && !isLoopback(config.server.host))
    report(
      'info',
      'CONFIG_SERVER_EXPOSED',
      ['server', 'host'],
      `the HTTP API listens on ${config.server.host}, reachable from other machines; put it behind TLS`,
    );
}

/**
 * Check the rules that the schema cannot express. Pure: no I/O; the result depends only on the
 * configuration.
 */
export function lintConfig(config: LintableConfig, options: LintConfigOptions = {}): ConfigFinding[] {
  const findings: ConfigFinding[] = [];
  const report: Report = (severity, code, path, message) =>
    findings.push(createFinding(severity, code, path, message, options.locate));
  lintContacts(config.flows, report);
  lintOptOut(config, report);
  if (config.flows?.customTables) {
    lintCustomTableEntries(config.flows, report);
    lintLinks(config.flows.customTables, report);
    lintLinkGraph(config.flows.customTables, report);
  }
  lintUrls(config, report);
  lintBulkLanes(config, report);
  return findings;
}

/** The bulk lane (F7) writes files to the Campaign SFTP: it needs `campaign.sftp`. */
function lintBulkLanes(config: LintableConfig, report: Report): void {
  if (!config.campaign || config.campaign.sftp !== undefined) return;
  const lanes: { path: ConfigPath; configured: boolean }[] = [
    { path: ['flows', 'contacts', 'bulk'], configured: config.flows?.contacts?.bulk !== undefined },
    ...(config.flows?.customTables ?? []).map((table, index) => ({
      path: ['flows', 'customTables', index, 'bulk'] as ConfigPath,
      configured: table.bulk !== undefined,
    })),
  ];
  for (const lane of lanes)
    if (lane.configured)
      report(
        'error',
        'CONFIG_BULK_NEEDS_SFTP',
        lane.path,
        'the bulk lane uploads CSV files to the Campaign SFTP account; configure campaign.sftp',
      );
}
