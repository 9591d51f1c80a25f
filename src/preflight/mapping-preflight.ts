import { createFinding, type ConfigFinding, type ConfigPath } from '../config/config-finding.js';
import { formatHint } from '../config/did-you-mean.js';
import type { ResolvedContactsFlow } from '../config/resolved-config.js';
import type { PicklistMode } from '../core/field-mapping.js';
import type {
  SourceColumn,
  SourceTableMetadata,
  TargetField,
  TargetResourceMetadata,
} from '../core/ports/metadata.js';

/** Adds one finding to a pre-flight's list. */
export type PreflightReport = (
  severity: ConfigFinding['severity'],
  code: string,
  path: ConfigPath,
  message: string,
) => void;

/** A report function and the list it fills. */
export function collectFindings(): { findings: ConfigFinding[]; report: PreflightReport } {
  const findings: ConfigFinding[] = [];
  return {
    findings,
    report: (severity, code, path, message) => findings.push(createFinding(severity, code, path, message)),
  };
}

/**
 * Campaign field types (the metadata's high-level `type`, or `resType`) each Dynamics attribute type
 * can be written to. Types not listed are not checked.
 */
export function acceptedCampaignTypes(
  dynamicsType: string,
  picklist: PicklistMode,
): readonly string[] | null {
  switch (dynamicsType) {
    case 'String':
    case 'Memo':
    case 'EntityName':
      return ['string', 'memo', 'enumeration'];
    case 'Uniqueidentifier':
    case 'Lookup':
    case 'Customer':
    case 'Owner':
      return ['string', 'memo'];
    case 'Integer':
    case 'BigInt':
    case 'Decimal':
    case 'Double':
    case 'Money':
      return ['number', 'string', 'memo'];
    case 'Boolean':
      return ['boolean', 'string'];
    case 'DateTime':
      return ['date', 'datetime', 'string'];
    case 'Picklist':
    case 'State':
    case 'Status':
      return picklist === 'label' ? ['string', 'memo', 'enumeration'] : ['number', 'string', 'memo'];
    // Several labels ("Email; Phone") or values ("2,3"): only text holds them.
    case 'MultiSelectPicklist':
      return ['string', 'memo'];
    default:
      return null;
  }
}

/** A Campaign field's type as the compatibility table names it (`memo` for memo strings). */
export function campaignTypeOf(field: TargetField): string {
  return field.resType === 'memo' ? 'memo' : field.type;
}

/** `_new_parent_value` → `new_parent`. */
export function logicalColumn(column: string): string {
  return /^_(.+)_value$/.exec(column)?.[1] ?? column;
}

/** The attribute behind a column as read (`_x_value` reads lookup `x`). */
export function attributeOf(metadata: SourceTableMetadata, column: string): SourceColumn | undefined {
  const name = logicalColumn(column);
  return metadata.attributes.find((a) => a.logicalName === name);
}

/** One flow's mapping as the pre-flight checks it. */
export interface MappingUnderCheck {
  /** Who the findings are about, e.g. `custom table new_x → cusX`. */
  readonly owner: string;
  readonly table: string;
  readonly resource: string;
  readonly mapping: ResolvedContactsFlow['mapping'];
  readonly picklist: PicklistMode;
  /** Columns a record filter reads. */
  readonly filterColumns: readonly string[];
  /** Config path of the mapping entry of a column, and of the filter. */
  readonly mappingPath: (column: string) => ConfigPath;
  readonly filterPath: ConfigPath;
}

/** Mapped and filtered columns exist on the Dynamics table. */
export function checkMappedColumns(
  flow: MappingUnderCheck,
  dynamics: SourceTableMetadata,
  report: PreflightReport,
): void {
  const names = dynamics.attributes.map((a) => a.logicalName);
  const missing = (column: string, path: ConfigPath, what: string): void =>
    report(
      'error',
      'PREFLIGHT_COLUMN_MISSING',
      path,
      `${flow.owner}: ${what} ${column} does not exist on Dynamics table ${flow.table}${formatHint(logicalColumn(column), names)}`,
    );
  for (const column of Object.keys(flow.mapping))
    if (!attributeOf(dynamics, column)) missing(column, flow.mappingPath(column), 'column');
  for (const column of flow.filterColumns)
    if (!attributeOf(dynamics, column)) missing(column, flow.filterPath, 'filter column');
}

/** Mapped Campaign fields exist, are writable and can hold the Dynamics column's type. */
export function checkMappedFields(
  flow: MappingUnderCheck,
  dynamics: SourceTableMetadata | null,
  campaign: TargetResourceMetadata,
  report: PreflightReport,
): void {
  const fieldNames = Object.keys(campaign.fields);
  for (const [column, mapping] of Object.entries(flow.mapping)) {
    const path = flow.mappingPath(column);
    const fieldName = mapping.to.split('.')[0]!;
    const field = campaign.fields[fieldName];
    if (!field) {
      report(
        'error',
        'PREFLIGHT_FIELD_MISSING',
        path,
        `${flow.owner}: Campaign field ${mapping.to} (for column ${column}) does not exist on resource ${flow.resource}${formatHint(fieldName, fieldNames)}`,
      );
      continue;
    }
    if (field.readOnly)
      report(
        'error',
        'PREFLIGHT_FIELD_READ_ONLY',
        path,
        `${flow.owner}: Campaign field ${mapping.to} of ${flow.resource} is read-only; column ${column} cannot be written to it`,
      );
    const attribute = dynamics ? attributeOf(dynamics, column) : undefined;
    // Replacements may change the value's type; the mapper checks each written value anyway.
    if (!attribute || mapping.replacements.length > 0 || mapping.to.includes('.')) continue;
    const accepted = acceptedCampaignTypes(attribute.type, mapping.picklist ?? flow.picklist);
    const actual = campaignTypeOf(field);
    if (accepted && !accepted.includes(actual) && !accepted.includes(field.resType))
      report(
        'error',
        'PREFLIGHT_TYPE_MISMATCH',
        path,
        `${flow.owner}: column ${column} of Dynamics table ${flow.table} is ${attribute.type}, but Campaign field ${mapping.to} of ${flow.resource} is ${actual}; it accepts ${accepted.join(', ')}`,
      );
  }
}
