import {
  DataverseError,
  badRequest,
  dataverseErrorCodes,
  propertyNotFoundError,
} from '../dataverse-error.js';
import { compileFilter, type FilterProperty } from '../odata/odata-filter.js';
import { resourceNotFound, type QueryOptions, type ResourcePath } from '../odata/odata-request.js';
import {
  attributeTypeNameOf,
  attributeTypeOf,
  choiceColumnTypes,
  isChoiceColumn,
  readNameOf,
  type ChoiceOption,
  type ColumnSchema,
  type ColumnType,
  type TableSchema,
} from '../schema/table-schema.js';
import type { DataverseDataStore, TableData } from '../store/dataverse-data-store.js';
import { guidFrom } from '../auth/entra-token-service.js';
import { apiPathPrefix, jsonResponse, type WebApiResponse } from './web-api-types.js';

type Json = Record<string, unknown>;

/** The metadata entity type of each column type (`…AttributeMetadata`). */
const metadataTypeNames: Record<ColumnType, string> = {
  string: 'StringAttributeMetadata',
  memo: 'MemoAttributeMetadata',
  integer: 'IntegerAttributeMetadata',
  bigint: 'BigIntAttributeMetadata',
  decimal: 'DecimalAttributeMetadata',
  double: 'DoubleAttributeMetadata',
  money: 'MoneyAttributeMetadata',
  boolean: 'BooleanAttributeMetadata',
  datetime: 'DateTimeAttributeMetadata',
  dateonly: 'DateTimeAttributeMetadata',
  uniqueidentifier: 'AttributeMetadata',
  picklist: 'PicklistAttributeMetadata',
  state: 'StateAttributeMetadata',
  status: 'StatusAttributeMetadata',
  multiselectpicklist: 'MultiSelectPicklistAttributeMetadata',
  lookup: 'LookupAttributeMetadata',
};

/** Metadata types with an `OptionSet` to expand. */
const enumMetadataTypes: ReadonlySet<string> = new Set(choiceColumnTypes.map((t) => metadataTypeNames[t]));

const typeNamespace = 'Microsoft.Dynamics.CRM.';

/**
 * Types the `Attributes` collection can be cast to. `EnumAttributeMetadata` is left out on purpose:
 * Dataverse refuses a cast to it, so picklist, state and status options take one query each.
 */
const castableAttributeTypes: ReadonlySet<string> = new Set(
  Object.values(metadataTypeNames).filter((name) => name !== 'AttributeMetadata'),
);

/**
 * The `AttributeMetadata` (base type) properties the emulator produces. `Attributes` without a
 * cast only knows these: a derived type's property (`MaxLength`, `Format`, `Targets`, …) needs the
 * cast (query-metadata-web-api, "Querying EntityMetadata attributes").
 */
const attributeBaseProperties: ReadonlySet<string> = new Set([
  'MetadataId',
  'LogicalName',
  'SchemaName',
  'AttributeType',
  'AttributeTypeName',
  'EntityLogicalName',
  'IsPrimaryId',
  'IsPrimaryName',
  'IsValidForCreate',
  'IsValidForUpdate',
  'IsValidForRead',
  'IsCustomAttribute',
]);

/** Structural properties each derived attribute type adds (those the emulator fills in). */
const derivedAttributeProperties: Record<string, readonly string[]> = {
  StringAttributeMetadata: ['MaxLength', 'Format'],
  MemoAttributeMetadata: ['MaxLength', 'Format'],
  DateTimeAttributeMetadata: ['Format'],
  LookupAttributeMetadata: ['Targets'],
};

/** Whether `name` is a property of metadata type `typeName` (the base type when undefined). */
function isAttributeProperty(name: string, typeName: string | undefined): boolean {
  const root = name.split('/')[0] ?? name;
  return (
    attributeBaseProperties.has(root) ||
    (typeName !== undefined && (derivedAttributeProperties[typeName] ?? []).includes(root))
  );
}

/**
 * Check `$select` and the properties of `$filter` against an attribute type: a derived property
 * without its cast fails whether or not a filter is present, naming the type the request reads.
 */
function checkAttributeQuery(
  select: string[] | undefined,
  filter: string | undefined,
  typeName: string | undefined,
): void {
  const type = typeName ?? 'AttributeMetadata';
  for (const name of select ?? []) {
    if (!isAttributeProperty(name, typeName)) throw propertyNotFoundError(name, type);
  }
  if (filter !== undefined) {
    // Compiling runs the resolver on every property the filter names.
    compileFilter(filter, (name) => {
      if (!isAttributeProperty(name, typeName)) throw propertyNotFoundError(name, type);
      return objectResolver(name);
    });
  }
}

/** Like {@link pick}, but a selected property the item does not carry reads as `null`. */
function pickOrNull(object: Json, select: string[] | undefined): Json {
  if (!select) return object;
  const out: Json = {};
  for (const name of select) out[name] = object[name] ?? null;
  if ('MetadataId' in object) out.MetadataId = object.MetadataId;
  return out;
}

/** An attribute in an uncast read keeps its `@odata.type` (the derived type it really is). */
function pickAttribute(object: Json, select: string[] | undefined): Json {
  if (!select) return object;
  return { '@odata.type': object['@odata.type'], ...pickOrNull(object, select) };
}

/** The organisation's base language (English). */
const languageCode = 1033;

/** Where an `EntityDefinitions` request points. */
type DefinitionsPath = Extract<ResourcePath, { kind: 'entityDefinitions' }>;

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
  multiselectpicklist: 'Edm.String',
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

/** Parse one `$expand` item: `Name`, `Name($select=a,b)` or `Name($select=a;$filter=…)`. */
function parseExpandItem(item: string): {
  name: string;
  select: string[] | undefined;
  filter: string | null;
} {
  const match = /^(\w+)(?:\((.*)\))?$/.exec(item);
  if (!match) throw badRequest(`Invalid $expand item '${item}'.`);
  const nested = new URLSearchParams((match[2] ?? '').replace(/;/g, '&'));
  return {
    name: match[1] as string,
    select: nested
      .get('$select')
      ?.split(',')
      .map((s) => s.trim()),
    filter: nested.get('$filter'),
  };
}

/** The select-and-expand part of a cast read's `@odata.context`: `(LogicalName,OptionSet(Options))`. */
function castShape(query: QueryOptions, expands: ReturnType<typeof parseExpandItem>[]): string {
  const shape = [
    ...(query.select ?? []),
    ...expands.map((e) => (e.select ? `${e.name}(${e.select.join(',')})` : e.name)),
  ];
  return shape.length > 0 ? `(${shape.join(',')})` : '';
}

/** A `Label` complex type with one localized label, also the user's. */
function labelOf(text: string, metadataId: string, managed: boolean): Json {
  const localized = () => ({
    Label: text,
    LanguageCode: languageCode,
    IsManaged: managed,
    MetadataId: metadataId,
    HasChanged: null,
  });
  return { LocalizedLabels: [localized()], UserLocalizedLabel: localized() };
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
      IsActivity: schema.isActivity ?? false,
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
      '@odata.type': `#Microsoft.Dynamics.CRM.${metadataTypeNames[column.type]}`,
      MetadataId: guidFrom(`attribute:${schema.logicalName}.${column.logicalName}`),
      LogicalName: column.logicalName,
      SchemaName: column.schemaName,
      AttributeType: attributeType,
      AttributeTypeName: { Value: attributeTypeNameOf(column.type) },
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

  /** `OptionMetadata` (with the state/status extras of `StateOptionMetadata`/`StatusOptionMetadata`). */
  private option(schema: TableSchema, column: ColumnSchema, option: ChoiceOption): Json {
    const managed = !schema.isCustomEntity;
    const out: Json = {
      Value: option.value,
      Color: null,
      IsManaged: managed,
      ExternalValue: null,
      ParentValues: [],
      Tag: null,
      IsHidden: false,
      MetadataId: null,
      HasChanged: null,
      Label: labelOf(
        option.label,
        guidFrom(`label:${schema.logicalName}.${column.logicalName}.${option.value}`),
        managed,
      ),
      Description: { LocalizedLabels: [], UserLocalizedLabel: null },
    };
    if (column.type === 'state') {
      out.DefaultStatus = option.defaultStatus ?? null;
      out.InvariantName = option.label;
    }
    if (column.type === 'status') out.State = option.state ?? null;
    return out;
  }

  /** The column's local option set (`OptionSetMetadata`). */
  private optionSet(schema: TableSchema, column: ColumnSchema): Json {
    return {
      MetadataId: guidFrom(`optionset:${schema.logicalName}.${column.logicalName}`),
      Name: `${schema.logicalName}_${column.logicalName}`,
      IsGlobal: false,
      IsCustomOptionSet: schema.isCustomEntity,
      IsManaged: !schema.isCustomEntity,
      // A multi-select column's option set is of type Picklist, as in Dataverse.
      OptionSetType: column.type === 'multiselectpicklist' ? 'Picklist' : attributeTypeOf(column.type),
      Options: (column.options ?? []).map((o) => this.option(schema, column, o)),
    };
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
    if (navigation === 'Keys') {
      return schema.keys.map((key) => ({
        MetadataId: guidFrom(`key:${schema.logicalName}.${key.name}`),
        LogicalName: key.name,
        SchemaName: key.name,
        EntityLogicalName: schema.logicalName,
        KeyAttributes: [...key.columns],
        EntityKeyIndexStatus: 'Active',
        IsManaged: false,
      }));
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

  /**
   * `GET EntityDefinitions…` in its collection, single and navigation forms, and `Attributes` cast
   * to one attribute type (`…/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata`), whose
   * `OptionSet` can be expanded.
   */
  get(path: DefinitionsPath, query: QueryOptions): WebApiResponse {
    const { logicalName, metadataId, navigation, cast } = path;
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
    if (path.itemLogicalName !== undefined || path.itemMetadataId !== undefined) {
      if (navigation !== 'Attributes') throw resourceNotFound(navigation ?? '');
      return this.singleAttribute(data.schema, path, query);
    }
    if (path.castNavigation !== undefined) throw resourceNotFound(path.castNavigation);
    if (cast !== undefined) return this.castAttributes(data.schema, key ?? '', navigation, cast, query);
    if (navigation !== undefined) {
      const attributes = navigation === 'Attributes';
      if (attributes) checkAttributeQuery(select, query.filter, undefined);
      let items = this.navigationItems(data.schema, navigation);
      if (query.filter !== undefined) items = items.filter(compileFilter(query.filter, objectResolver));
      return jsonResponse(200, {
        '@odata.context': `${this.base}$metadata#EntityDefinitions(${key})/${navigation}${selectPart}`,
        value: items.map((item) => (attributes ? pickAttribute(item, select) : pick(item, select))),
      });
    }
    const body: Json = {
      '@odata.context': `${this.base}$metadata#EntityDefinitions${selectPart}/$entity`,
      ...pick(this.definition(data.schema), select),
    };
    if (query.expand !== undefined) {
      for (const text of splitTopLevel(query.expand)) {
        const item = parseExpandItem(text);
        const attributes = item.name === 'Attributes';
        if (attributes) checkAttributeQuery(item.select, item.filter ?? undefined, undefined);
        let items = this.navigationItems(data.schema, item.name);
        if (item.filter) items = items.filter(compileFilter(item.filter, objectResolver));
        body[item.name] = items.map((i) =>
          attributes ? pickAttribute(i, item.select) : pick(i, item.select),
        );
      }
    }
    return jsonResponse(200, body);
  }

  /** `EntityDefinitions(…)/Attributes/Microsoft.Dynamics.CRM.<Type>AttributeMetadata`. */
  private castAttributes(
    schema: TableSchema,
    key: string,
    navigation: string | undefined,
    cast: string,
    query: QueryOptions,
  ): WebApiResponse {
    const typeName = cast.startsWith(typeNamespace) ? cast.slice(typeNamespace.length) : '';
    if (navigation !== 'Attributes' || !castableAttributeTypes.has(typeName)) throw resourceNotFound(cast);
    const columns = schema.columns.filter((c) => metadataTypeNames[c.type] === typeName);
    const expands = this.optionSetExpands(typeName, query);
    checkAttributeQuery(query.select, query.filter, typeName);
    let entries = columns.map((column) => ({ column, json: this.attribute(schema, column) }));
    if (query.filter !== undefined) {
      const matches = compileFilter(query.filter, objectResolver);
      entries = entries.filter((e) => matches(e.json));
    }
    const value = entries.map(({ column, json }) => this.castItem(schema, column, json, query, expands));
    const shapePart = castShape(query, expands);
    return jsonResponse(200, {
      '@odata.context': `${this.base}$metadata#EntityDefinitions(${key})/Attributes/${cast}${shapePart}`,
      value,
    });
  }

  private optionSetExpands(typeName: string, query: QueryOptions): ReturnType<typeof parseExpandItem>[] {
    const expands = query.expand === undefined ? [] : splitTopLevel(query.expand).map(parseExpandItem);
    for (const item of expands) {
      if (!enumMetadataTypes.has(typeName) || (item.name !== 'OptionSet' && item.name !== 'GlobalOptionSet'))
        throw propertyNotFoundError(item.name, typeName);
    }
    return expands;
  }

  /**
   * One attribute read through a cast, with `OptionSet` / `GlobalOptionSet` expanded. Both give the
   * column's options: "you can get the option definition from either property regardless of
   * whether the attribute is configured to use global option sets or the local option set"
   * (retrieve-metadata-name-metadataid).
   */
  private castItem(
    schema: TableSchema,
    column: ColumnSchema,
    json: Json,
    query: QueryOptions,
    expands: ReturnType<typeof parseExpandItem>[],
  ): Json {
    // The item is of the cast type, so it carries no `@odata.type`.
    const out = pickOrNull(json, query.select);
    delete out['@odata.type'];
    for (const item of expands) {
      out[item.name] = isChoiceColumn(column) ? pick(this.optionSet(schema, column), item.select) : null;
    }
    return out;
  }

  /**
   * `EntityDefinitions(…)/Attributes(LogicalName='x')` (or by MetadataId), optionally cast to its
   * type (`…/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet`) and optionally on
   * to the option set itself (`…/PicklistAttributeMetadata/OptionSet?$select=Options`), as in
   * retrieve-metadata-name-metadataid and query-metadata-web-api ("Retrieving attributes").
   */
  private singleAttribute(schema: TableSchema, path: DefinitionsPath, query: QueryOptions): WebApiResponse {
    const column = schema.columns.find((c) =>
      path.itemLogicalName !== undefined
        ? c.logicalName === path.itemLogicalName
        : guidFrom(`attribute:${schema.logicalName}.${c.logicalName}`) === path.itemMetadataId,
    );
    if (!column) {
      throw new DataverseError(
        404,
        dataverseErrorCodes.notFound,
        `Could not find an attribute with name ${path.itemLogicalName ?? ''} and id ${path.itemMetadataId ?? '00000000-0000-0000-0000-000000000000'} on entity ${schema.logicalName}.`,
      );
    }
    const json = this.attribute(schema, column);
    const entityKey = path.logicalName !== undefined ? `'${path.logicalName}'` : (path.metadataId ?? '');
    const itemKey =
      path.itemLogicalName !== undefined
        ? `LogicalName='${path.itemLogicalName}'`
        : (path.itemMetadataId ?? '');
    if (path.cast === undefined) {
      checkAttributeQuery(query.select, undefined, undefined);
      if (query.expand !== undefined)
        throw propertyNotFoundError(
          parseExpandItem(splitTopLevel(query.expand)[0] ?? '').name,
          'AttributeMetadata',
        );
      const selectPart = query.selectText ? `(${query.selectText})` : '';
      return jsonResponse(200, {
        '@odata.context': `${this.base}$metadata#EntityDefinitions(${entityKey})/Attributes${selectPart}/$entity`,
        ...pickAttribute(json, query.select),
      });
    }
    const typeName = path.cast.startsWith(typeNamespace) ? path.cast.slice(typeNamespace.length) : '';
    // A cast to another type than the attribute's addresses nothing.
    if (metadataTypeNames[column.type] !== typeName) throw resourceNotFound(path.cast);
    if (path.castNavigation !== undefined) {
      if (path.castNavigation !== 'OptionSet' && path.castNavigation !== 'GlobalOptionSet')
        throw resourceNotFound(path.castNavigation);
      if (!isChoiceColumn(column)) throw resourceNotFound(path.castNavigation);
      const selectPart = query.selectText ? `(${query.selectText})` : '';
      return jsonResponse(200, {
        '@odata.context': `${this.base}$metadata#EntityDefinitions(${entityKey})/Attributes(${itemKey})/${path.cast}/${path.castNavigation}${selectPart}/$entity`,
        ...pick(this.optionSet(schema, column), query.select),
      });
    }
    const expands = this.optionSetExpands(typeName, query);
    checkAttributeQuery(query.select, undefined, typeName);
    return jsonResponse(200, {
      '@odata.context': `${this.base}$metadata#EntityDefinitions(${entityKey})/Attributes/${path.cast}${castShape(query, expands)}/$entity`,
      ...this.castItem(schema, column, json, query, expands),
    });
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
