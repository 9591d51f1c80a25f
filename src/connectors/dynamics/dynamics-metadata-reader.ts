import { ConnectorError } from '../../core/errors.js';
import type { DynamicsWebApiClient } from './dynamics-web-api-client.js';

/** One column as the metadata reports it. */
export interface DynamicsAttribute {
  logicalName: string;
  /** `AttributeType`: String, Memo, Integer, BigInt, Decimal, Double, Money, Boolean, DateTime, Lookup, Picklist, … */
  type: string;
}

/** A lookup column and how to write it. */
export interface DynamicsLookup {
  /** Logical name of the lookup column (read as `_<name>_value`). */
  attribute: string;
  /** Navigation property for `<name>@odata.bind` (case-sensitive). */
  navigationProperty: string;
  /** Logical name of the referenced table. */
  target: string;
}

export interface DynamicsTableMetadata {
  logicalName: string;
  changeTrackingEnabled: boolean;
  entitySetName: string;
  primaryIdAttribute: string;
  attributes: DynamicsAttribute[];
  lookups: DynamicsLookup[];
}

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
  Attributes?: { LogicalName?: unknown; AttributeType?: unknown }[];
  ManyToOneRelationships?: {
    ReferencingAttribute?: unknown;
    ReferencingEntityNavigationPropertyName?: unknown;
    ReferencedEntity?: unknown;
  }[];
}

/** How to enable change tracking, for error messages and `validate` output. */
export function changeTrackingHint(table: string): string {
  return `Enable 'Track changes' on table ${table} in Power Apps (Tables → ${table} → Properties → Advanced options) or set ChangeTrackingEnabled=true on EntityDefinitions`;
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
          'Attributes($select=LogicalName,AttributeType),ManyToOneRelationships($select=ReferencingAttribute,ReferencingEntityNavigationPropertyName,ReferencedEntity)',
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
          retryable: false,
        },
      );
    }
    if (typeof body.EntitySetName !== 'string' || typeof body.PrimaryIdAttribute !== 'string') {
      throw new ConnectorError(
        'dynamics',
        'DYNAMICS_BAD_RESPONSE',
        `Metadata of table ${logicalName} lacks EntitySetName or PrimaryIdAttribute`,
        {
          retryable: true,
        },
      );
    }
    return {
      logicalName,
      changeTrackingEnabled: body.ChangeTrackingEnabled === true,
      entitySetName: body.EntitySetName,
      primaryIdAttribute: body.PrimaryIdAttribute,
      attributes: (body.Attributes ?? [])
        .filter((a) => typeof a.LogicalName === 'string')
        .map((a) => ({
          logicalName: a.LogicalName as string,
          type: typeof a.AttributeType === 'string' ? a.AttributeType : 'Unknown',
        })),
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
    `Change tracking is not enabled on Dynamics table ${metadata.logicalName}. ${changeTrackingHint(metadata.logicalName)}.`,
    { retryable: false },
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
