import { ConnectorError } from '../../core/errors.js';
import {
  changeTrackingMessage,
  type SourceColumn,
  type SourceLookup,
  type SourceTableMetadata,
} from '../../core/ports/metadata.js';
import type { DynamicsWebApiClient } from './dynamics-web-api-client.js';

/** One column as the metadata reports it (the metadata port's neutral type). */
export type DynamicsAttribute = SourceColumn;

/** A lookup column and how to write it. */
export type DynamicsLookup = SourceLookup;

/** A table's definition (the metadata port's neutral type). */
export type DynamicsTableMetadata = SourceTableMetadata;

/** A column the sync needs, and the attribute types it accepts. */
export interface RequiredColumn {
  logicalName: string;
  /** Acceptable `AttributeType`s, e.g. `['Boolean']` for an opt-out flag. */
  types: readonly string[];
}

/** A problem found by {@link checkColumns}. */
export interface ColumnFinding {
  table: string;
  column: string;
  problem: 'missing' | 'incompatible-type';
  message: string;
}

interface EntityDefinitionBody {
  LogicalName?: unknown;
  ChangeTrackingEnabled?: unknown;
  EntitySetName?: unknown;
  PrimaryIdAttribute?: unknown;
  Attributes?: {
    LogicalName?: unknown;
    AttributeType?: unknown;
    AttributeTypeName?: { Value?: unknown } | null;
  }[];
  ManyToOneRelationships?: {
    ReferencingAttribute?: unknown;
    ReferencingEntityNavigationPropertyName?: unknown;
    ReferencedEntity?: unknown;
  }[];
}

/** Labels of a table's choice columns: column → option value (as text, `"2"`) → label (`"Email"`). */
export type DynamicsOptionLabels = Record<string, Record<string, string>>;

/**
 * Attribute types whose options carry labels, each read with its own cast: Dataverse does not let
 * `Attributes` be cast to their common base type, `EnumAttributeMetadata`.
 */
const choiceAttributeCasts = [
  'PicklistAttributeMetadata',
  'StateAttributeMetadata',
  'StatusAttributeMetadata',
  'MultiSelectPicklistAttributeMetadata',
] as const;

/** A column's type: its `AttributeType`, except `MultiSelectPicklist` for a choices column. */
function attributeTypeOf(attribute: {
  AttributeType?: unknown;
  AttributeTypeName?: { Value?: unknown } | null;
}): string {
  if (attribute.AttributeTypeName?.Value === 'MultiSelectPicklistType') return 'MultiSelectPicklist';
  return typeof attribute.AttributeType === 'string' ? attribute.AttributeType : 'Unknown';
}

interface LocalizedLabelBody {
  Label?: unknown;
  LanguageCode?: unknown;
}

interface ChoiceAttributesBody {
  value?: {
    LogicalName?: unknown;
    OptionSet?: {
      Options?: {
        Value?: unknown;
        Label?: { LocalizedLabels?: LocalizedLabelBody[]; UserLocalizedLabel?: LocalizedLabelBody | null };
      }[];
    } | null;
  }[];
}

/** The label in the caller's language (`UserLocalizedLabel`), else the first localized one. */
export function labelText(
  label:
    { LocalizedLabels?: LocalizedLabelBody[]; UserLocalizedLabel?: LocalizedLabelBody | null } | undefined,
): string | undefined {
  const user = label?.UserLocalizedLabel?.Label;
  if (typeof user === 'string') return user;
  const first = label?.LocalizedLabels?.[0]?.Label;
  return typeof first === 'string' ? first : undefined;
}

/**
 * Table definitions from `EntityDefinitions(LogicalName='…')`: change tracking, entity set name,
 * primary key, columns with types and lookup navigation properties.
 */
export class DynamicsMetadataReader {
  constructor(private readonly client: DynamicsWebApiClient) {}

  async getTableMetadata(logicalName: string): Promise<DynamicsTableMetadata> {
    const response = await this.client.request<EntityDefinitionBody>({
      method: 'GET',
      path: `EntityDefinitions(LogicalName='${logicalName.replace(/'/g, "''")}')`,
      query: {
        $select: 'LogicalName,ChangeTrackingEnabled,EntitySetName,PrimaryIdAttribute',
        $expand:
          'Attributes($select=LogicalName,AttributeType,AttributeTypeName),ManyToOneRelationships($select=ReferencingAttribute,ReferencingEntityNavigationPropertyName,ReferencedEntity)',
      },
      acceptStatuses: [404],
    });
    const body = response.body;
    if (response.status === 404 || !body) {
      throw new ConnectorError(
        'dynamics',
        'DYNAMICS_TABLE_NOT_FOUND',
        `Table ${logicalName} does not exist in the Dynamics environment`,
        {
          status: 404,
        },
      );
    }
    if (typeof body.EntitySetName !== 'string' || typeof body.PrimaryIdAttribute !== 'string') {
      throw new ConnectorError(
        'dynamics',
        'DYNAMICS_BAD_RESPONSE',
        `Metadata of table ${logicalName} lacks EntitySetName or PrimaryIdAttribute`,
      );
    }
    return {
      logicalName,
      changeTrackingEnabled: body.ChangeTrackingEnabled === true,
      entitySetName: body.EntitySetName,
      primaryIdAttribute: body.PrimaryIdAttribute,
      attributes: (body.Attributes ?? [])
        .filter((a) => typeof a.LogicalName === 'string')
        .map((a) => ({ logicalName: a.LogicalName as string, type: attributeTypeOf(a) })),
      lookups: (body.ManyToOneRelationships ?? [])
        .filter((r) => typeof r.ReferencingAttribute === 'string')
        .map((r) => ({
          attribute: r.ReferencingAttribute as string,
          navigationProperty:
            typeof r.ReferencingEntityNavigationPropertyName === 'string'
              ? r.ReferencingEntityNavigationPropertyName
              : '',
          target: typeof r.ReferencedEntity === 'string' ? r.ReferencedEntity : '',
        })),
    };
  }

  /**
   * Labels of the table's choice columns (picklist, state, status, multi-select) from their option sets:
   * `EntityDefinitions(LogicalName='…')/Attributes/Microsoft.Dynamics.CRM.<Type>AttributeMetadata`
   * with `$expand=OptionSet($select=Options)`, one request per type. Each option's
   * `UserLocalizedLabel` is used (the calling user's language), else its first localized label;
   * options without a label are left out. With `columns`, only those columns are returned
   * (an empty list asks nothing).
   */
  async getOptionLabels(logicalName: string, columns?: readonly string[]): Promise<DynamicsOptionLabels> {
    const labels: DynamicsOptionLabels = {};
    if (columns && columns.length === 0) return labels;
    const wanted = columns ? new Set(columns) : null;
    const table = logicalName.replace(/'/g, "''");
    const answers = await Promise.all(
      choiceAttributeCasts.map((cast) =>
        this.client.request<ChoiceAttributesBody>({
          method: 'GET',
          path: `EntityDefinitions(LogicalName='${table}')/Attributes/Microsoft.Dynamics.CRM.${cast}`,
          query: { $select: 'LogicalName', $expand: 'OptionSet($select=Options)' },
          acceptStatuses: [404],
        }),
      ),
    );
    for (const response of answers) {
      if (response.status === 404) {
        throw new ConnectorError(
          'dynamics',
          'DYNAMICS_TABLE_NOT_FOUND',
          `Table ${logicalName} does not exist in the Dynamics environment`,
          { status: 404 },
        );
      }
      if (!Array.isArray(response.body?.value)) {
        throw new ConnectorError(
          'dynamics',
          'DYNAMICS_BAD_RESPONSE',
          `Option set metadata of table ${logicalName} has no attribute list`,
        );
      }
      for (const attribute of response.body.value) {
        const name = attribute.LogicalName;
        if (typeof name !== 'string' || (wanted && !wanted.has(name))) continue;
        const options: Record<string, string> = {};
        for (const option of attribute.OptionSet?.Options ?? []) {
          const text = labelText(option.Label);
          if (typeof option.Value === 'number' && text !== undefined) options[String(option.Value)] = text;
        }
        labels[name] = options;
      }
    }
    return labels;
  }

  /** Fetch the metadata and fail unless change tracking is on (the start-up check). */
  async requireChangeTracking(logicalName: string): Promise<DynamicsTableMetadata> {
    const metadata = await this.getTableMetadata(logicalName);
    assertChangeTracking(metadata);
    return metadata;
  }
}

/** Throw `DYNAMICS_CHANGE_TRACKING_DISABLED` naming the table and how to fix it. */
export function assertChangeTracking(metadata: DynamicsTableMetadata): void {
  if (metadata.changeTrackingEnabled) return;
  throw new ConnectorError(
    'dynamics',
    'DYNAMICS_CHANGE_TRACKING_DISABLED',
    changeTrackingMessage(metadata.logicalName),
  );
}

/** Check that every required column exists with an acceptable type; one finding per problem. */
export function checkColumns(
  metadata: DynamicsTableMetadata,
  required: readonly RequiredColumn[],
): ColumnFinding[] {
  const byName = new Map(metadata.attributes.map((a) => [a.logicalName, a]));
  const findings: ColumnFinding[] = [];
  for (const column of required) {
    const name = /^_(.+)_value$/.exec(column.logicalName)?.[1] ?? column.logicalName;
    const attribute = byName.get(name);
    if (!attribute) {
      findings.push({
        table: metadata.logicalName,
        column: column.logicalName,
        problem: 'missing',
        message: `Column ${column.logicalName} does not exist on Dynamics table ${metadata.logicalName}`,
      });
    } else if (!column.types.includes(attribute.type)) {
      findings.push({
        table: metadata.logicalName,
        column: column.logicalName,
        problem: 'incompatible-type',
        message: `Column ${column.logicalName} of Dynamics table ${metadata.logicalName} is ${attribute.type}; expected ${column.types.join(' or ')}`,
      });
    }
  }
  return findings;
}
