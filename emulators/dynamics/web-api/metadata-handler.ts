import {
  DataverseError,
  badRequest,
  dataverseErrorCodes,
  propertyNotFoundError,
} from '../dataverse-error.js';
import { compileFilter, type FilterProperty } from '../odata/odata-filter.js';
import type { QueryOptions } from '../odata/odata-request.js';
import { attributeTypeOf, readNameOf, type ColumnSchema, type TableSchema } from '../schema/table-schema.js';
import type { DataverseDataStore, TableData } from '../store/dataverse-data-store.js';
import { guidFrom } from '../auth/entra-token-service.js';
import { apiPathPrefix, jsonResponse, type WebApiResponse } from './web-api-types.js';

type Json = Record<string, unknown>;

const metadataTypeNames: Record<string, string> = {
  String: 'StringAttributeMetadata',
  Memo: 'MemoAttributeMetadata',
  Integer: 'IntegerAttributeMetadata',
  BigInt: 'BigIntAttributeMetadata',
  Decimal: 'DecimalAttributeMetadata',
  Double: 'DoubleAttributeMetadata',
  Money: 'MoneyAttributeMetadata',
  Boolean: 'BooleanAttributeMetadata',
  DateTime: 'DateTimeAttributeMetadata',
  Uniqueidentifier: 'AttributeMetadata',
  Picklist: 'PicklistAttributeMetadata',
  State: 'StateAttributeMetadata',
  Status: 'StatusAttributeMetadata',
  Lookup: 'LookupAttributeMetadata',
};

const edmTypes: Record<string, string> = {
  string: 'Edm.String',
  memo: 'Edm.String',
  integer: 'Edm.Int32',
  bigint: 'Edm.Int64',
  decimal: 'Edm.Decimal',
  double: 'Edm.Double',
  money: 'Edm.Decimal',
  boolean: 'Edm.Boolean',
  datetime: 'Edm.DateTimeOffset',
  dateonly: 'Edm.Date',
  uniqueidentifier: 'Edm.Guid',
  picklist: 'Edm.Int32',
  state: 'Edm.Int32',
  status: 'Edm.Int32',
  lookup: 'Edm.Guid',
};

/** Split `a,b($select=x,y),c` on top-level commas. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of text) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += c;
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}

function pick(object: Json, select: string[] | undefined): Json {
  if (!select) return object;
  const out: Json = {};
  for (const name of select) {
    if (!(name in object)) throw propertyNotFoundError(name, 'EntityMetadata');
    out[name] = object[name];
  }
  if ('MetadataId' in object) out.MetadataId = object.MetadataId;
  return out;
}

function objectResolver(name: string): FilterProperty<Json> {
  const path = name.split('/');
  return {
    get: (item) => path.reduce<unknown>((value, key) => (value as Json | undefined)?.[key], item),
    kind: 'other',
  };
}

/**
 * Metadata the client checks: `EntityDefinitions` (ChangeTrackingEnabled, EntitySetName,
 * Attributes, ManyToOneRelationships), `$metadata` with the change-tracking annotation, and the
 * small organization-level resources.
 */
export class MetadataHandler {
  constructor(
    private readonly store: DataverseDataStore,
    private readonly origin: string,
    private readonly organization: {
      id: string;
      name: string;
      businessUnitId: string;
      retentionDays: () => number;
    },
  ) {}

  private get base(): string {
    return `${this.origin}${apiPathPrefix}`;
  }

  private definition(schema: TableSchema): Json {
    return {
      MetadataId: schema.metadataId,
      LogicalName: schema.logicalName,
      SchemaName: schema.schemaName,
      EntitySetName: schema.entitySetName,
      LogicalCollectionName: schema.entitySetName,
      PrimaryIdAttribute: schema.primaryIdAttribute,
      PrimaryNameAttribute: schema.primaryNameAttribute,
      ChangeTrackingEnabled: schema.changeTrackingEnabled,
      IsCustomEntity: schema.isCustomEntity,
      IsActivity: false,
      IsOptimisticConcurrencyEnabled: true,
      OwnershipType: 'UserOwned',
      CanChangeTrackingBeEnabled: {
        Value: true,
        CanBeChanged: true,
        ManagedPropertyLogicalName: 'canchangetrackingbeenabled',
      },
    };
  }

  private attribute(schema: TableSchema, column: ColumnSchema): Json {
    const attributeType = attributeTypeOf(column.type);
    const out: Json = {
      '@odata.type': `#Microsoft.Dynamics.CRM.${metadataTypeNames[attributeType] ?? 'AttributeMetadata'}`,
      MetadataId: guidFrom(`attribute:${schema.logicalName}.${column.logicalName}`),
      LogicalName: column.logicalName,
      SchemaName: column.schemaName,
      AttributeType: attributeType,
      AttributeTypeName: { Value: `${attributeType}Type` },
      EntityLogicalName: schema.logicalName,
      IsPrimaryId: column.logicalName === schema.primaryIdAttribute,
      IsPrimaryName: column.logicalName === schema.primaryNameAttribute,
      IsValidForCreate: !column.readOnly || column.logicalName === schema.primaryIdAttribute,
      IsValidForUpdate: !column.readOnly,
      IsValidForRead: true,
      IsCustomAttribute:
        schema.isCustomEntity &&
        !['statecode', 'statuscode', 'createdon', 'modifiedon', 'versionnumber'].includes(column.logicalName),
    };
    if (column.maxLength !== undefined) out.MaxLength = column.maxLength;
    if (column.type === 'dateonly') out.Format = 'DateOnly';
    if (column.type === 'lookup') out.Targets = [column.target];
    return out;
  }

  private relationship(schema: TableSchema, column: ColumnSchema): Json {
    const target = this.store.requireTable(column.target ?? '').schema;
    const cascade =
      column.onDelete === 'cascade' ? 'Cascade' : column.onDelete === 'restrict' ? 'Restrict' : 'RemoveLink';
    return {
      MetadataId: guidFrom(`relationship:${schema.logicalName}.${column.logicalName}`),
      SchemaName: `${target.logicalName}_${schema.logicalName}_${column.logicalName}`,
      RelationshipType: 'OneToManyRelationship',
      ReferencedEntity: target.logicalName,
      ReferencedAttribute: target.primaryIdAttribute,
      ReferencingEntity: schema.logicalName,
      ReferencingAttribute: column.logicalName,
      ReferencingEntityNavigationPropertyName: column.navigationProperty,
      ReferencedEntityNavigationPropertyName: `${schema.logicalName}_${column.logicalName}`,
      CascadeConfiguration: {
        Delete: cascade,
        Assign: 'NoCascade',
        Share: 'NoCascade',
        Unshare: 'NoCascade',
        Reparent: 'NoCascade',
        Merge: 'NoCascade',
      },
    };
  }

  private navigationItems(schema: TableSchema, navigation: string): Json[] {
    if (navigation === 'Attributes') return schema.columns.map((c) => this.attribute(schema, c));
    if (navigation === 'ManyToOneRelationships') {
      return schema.columns.filter((c) => c.type === 'lookup').map((c) => this.relationship(schema, c));
    }
    if (navigation === 'OneToManyRelationships') {
      const out: Json[] = [];
      for (const table of this.store.allTables()) {
        for (const column of table.schema.columns) {
          if (column.type === 'lookup' && column.target === schema.logicalName)
            out.push(this.relationship(table.schema, column));
        }
      }
      return out;
    }
    throw propertyNotFoundError(navigation, 'EntityMetadata');
  }

  private findTable(logicalName: string | undefined, metadataId: string | undefined): TableData {
    const data = this.store
      .allTables()
      .find((t) =>
        logicalName !== undefined ? t.schema.logicalName === logicalName : t.schema.metadataId === metadataId,
      );
    if (!data) {
      throw new DataverseError(
        404,
        dataverseErrorCodes.notFound,
        `Could not find an entity with name ${logicalName ?? ''} and id ${metadataId ?? '00000000-0000-0000-0000-000000000000'}.`,
      );
    }
    return data;
  }

  /** `GET EntityDefinitions…` in its collection, single and navigation forms. */
  get(
    logicalName: string | undefined,
    metadataId: string | undefined,
    navigation: string | undefined,
    query: QueryOptions,
  ): WebApiResponse {
    const select = query.select;
    const selectPart = query.selectText ? `(${query.selectText})` : '';
    if (logicalName === undefined && metadataId === undefined) {
      if (navigation !== undefined) throw propertyNotFoundError(navigation, 'EntityMetadata');
      let items = this.store.allTables().map((t) => this.definition(t.schema));
      if (query.filter !== undefined) items = items.filter(compileFilter(query.filter, objectResolver));
      return jsonResponse(200, {
        '@odata.context': `${this.base}$metadata#EntityDefinitions${selectPart}`,
        value: items.map((item) => pick(item, select)),
      });
    }
    const data = this.findTable(logicalName, metadataId);
    const key = logicalName !== undefined ? `LogicalName='${logicalName}'` : metadataId;
    if (navigation !== undefined) {
      let items = this.navigationItems(data.schema, navigation);
      if (query.filter !== undefined) items = items.filter(compileFilter(query.filter, objectResolver));
      return jsonResponse(200, {
        '@odata.context': `${this.base}$metadata#EntityDefinitions(${key})/${navigation}${selectPart}`,
        value: items.map((item) => pick(item, select)),
      });
    }
    const body: Json = {
      '@odata.context': `${this.base}$metadata#EntityDefinitions${selectPart}/$entity`,
      ...pick(this.definition(data.schema), select),
    };
    if (query.expand !== undefined) {
      for (const item of splitTopLevel(query.expand)) {
        const match = /^(\w+)(?:\((.*)\))?$/.exec(item);
        if (!match) throw badRequest(`Invalid $expand item '${item}'.`);
        const nested = new URLSearchParams((match[2] ?? '').replace(/;/g, '&'));
        const nestedSelect = nested
          .get('$select')
          ?.split(',')
          .map((s) => s.trim());
        let items = this.navigationItems(data.schema, match[1] as string);
        const nestedFilter = nested.get('$filter');
        if (nestedFilter) items = items.filter(compileFilter(nestedFilter, objectResolver));
        body[match[1] as string] = items.map((i) => pick(i, nestedSelect));
      }
    }
    return jsonResponse(200, body);
  }

  /**
   * `PUT EntityDefinitions(<id>)`: the emulator honours `ChangeTrackingEnabled` (false → true only;
   * once enabled it cannot be turned off, as in Dataverse) and ignores the rest of the definition.
   */
  put(logicalName: string | undefined, metadataId: string | undefined, body: Json): WebApiResponse {
    const data = this.findTable(logicalName, metadataId);
    const wanted = body.ChangeTrackingEnabled;
    if (typeof wanted === 'boolean') {
      if (!wanted && data.schema.changeTrackingEnabled) {
        throw badRequest(
          `Change tracking cannot be disabled for entity ${data.schema.logicalName} once it is enabled.`,
        );
      }
      data.schema.changeTrackingEnabled = wanted;
    }
    return { status: 204, headers: { 'odata-version': '4.0' }, body: undefined };
  }

  serviceDocument(): WebApiResponse {
    return jsonResponse(200, {
      '@odata.context': `${this.base}$metadata`,
      value: this.store
        .allTables()
        .map((t) => ({ name: t.schema.entitySetName, kind: 'EntitySet', url: t.schema.entitySetName })),
    });
  }

  whoAmI(userId: string): WebApiResponse {
    return jsonResponse(200, {
      '@odata.context': `${this.base}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
      BusinessUnitId: this.organization.businessUnitId,
      UserId: userId,
      OrganizationId: this.organization.id,
    });
  }

  organizations(query: QueryOptions): WebApiResponse {
    const row: Json = {
      '@odata.etag': 'W/"1"',
      organizationid: this.organization.id,
      name: this.organization.name,
      expirechangetrackingindays: this.organization.retentionDays(),
    };
    const select = query.select;
    const value = select
      ? { '@odata.etag': row['@odata.etag'], ...pick(row, select), organizationid: row.organizationid }
      : row;
    return jsonResponse(200, {
      '@odata.context': `${this.base}$metadata#organizations${query.selectText ? `(${query.selectText})` : ''}`,
      value: [value],
    });
  }

  /** CSDL with the `Org.OData.Capabilities.V1.ChangeTracking` annotation when `?annotations=true`. */
  csdl(annotations: boolean): WebApiResponse {
    const escape = (s: string): string =>
      s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    const types: string[] = [];
    const sets: string[] = [];
    for (const { schema } of this.store.allTables()) {
      const properties = schema.columns
        .map(
          (c) =>
            `<Property Name="${escape(readNameOf(c))}" Type="${edmTypes[c.type] ?? 'Edm.String'}"${c.maxLength ? ` MaxLength="${c.maxLength}"` : ''} />`,
        )
        .join('');
      const navigations = schema.columns
        .filter((c) => c.type === 'lookup')
        .map(
          (c) =>
            `<NavigationProperty Name="${escape(c.navigationProperty ?? c.logicalName)}" Type="mscrm.${escape(c.target ?? '')}" />`,
        )
        .join('');
      types.push(
        `<EntityType Name="${schema.logicalName}"><Key><PropertyRef Name="${schema.primaryIdAttribute}" /></Key>${properties}${navigations}</EntityType>`,
      );
      const annotation =
        annotations && schema.changeTrackingEnabled
          ? '<Annotation Term="Org.OData.Capabilities.V1.ChangeTracking"><Record><PropertyValue Property="Supported" Bool="true" /></Record></Annotation>'
          : '';
      sets.push(
        `<EntitySet Name="${schema.entitySetName}" EntityType="Microsoft.Dynamics.CRM.${schema.logicalName}">${annotation}</EntitySet>`,
      );
    }
    const body =
      '<?xml version="1.0" encoding="utf-8"?>' +
      '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>' +
      '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">' +
      types.join('') +
      `<EntityContainer Name="System">${sets.join('')}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`;
    return { status: 200, headers: { 'content-type': 'application/xml', 'odata-version': '4.0' }, body };
  }
}
