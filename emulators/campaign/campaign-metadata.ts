import { exposedFieldsOf, isServedBy, type ResourceEndpoint } from './campaign-endpoints.js';
import type { CampaignRecordStore } from './campaign-record-store.js';
import type {
  CustomFilterDefinition,
  FieldDefinition,
  ResourceDefinition,
} from './campaign-resource-model.js';

const highLevelTypes: Record<FieldDefinition['type'], string> = {
  string: 'string',
  memo: 'string',
  boolean: 'boolean',
  byte: 'number',
  short: 'number',
  long: 'number',
  double: 'number',
  float: 'number',
  date: 'date',
  datetime: 'datetime',
  enumeration: 'enumeration',
};

function describeField(field: FieldDefinition, keyField: string | null): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    apiName: field.name,
    category: field.category ?? '0100_general',
    label: field.label,
    type: highLevelTypes[field.type],
    resType: field.type,
    readOnly: field.readOnly ?? false,
    isKey: field.name === keyField,
  };
  if (field.length !== undefined) entry.length = field.length;
  if (field.dataPolicy) entry.dataPolicy = field.dataPolicy;
  if (field.values) entry.values = field.values.map((name, value) => ({ name, label: name, value }));
  return entry;
}

/** Filters a resource answers to under a root: OOTB profile filters plus declared custom ones. */
export function filtersOf(
  definition: ResourceDefinition,
  endpoint: ResourceEndpoint,
): CustomFilterDefinition[] {
  const builtIn: CustomFilterDefinition[] =
    definition.name === 'profile'
      ? [
          { name: 'byEmail', field: 'email', parameter: 'email', label: 'By email' },
          { name: 'byText', field: 'email', parameter: 'text', label: 'By name or email' },
        ].filter((filter) => !(definition.withoutFilters ?? []).includes(filter.name))
      : [];
  // Custom filters are defined on the extended resource, so /profileAndServices does not serve them.
  const custom = endpoint === 'profileAndServices' ? [] : definition.filters;
  return [...builtIn, ...custom];
}

/** `GET /<root>/resourceType/<resource>`: fields with types, links with target/cardinality/deletion. */
export function describeResource(
  store: CampaignRecordStore,
  definition: ResourceDefinition,
  endpoint: ResourceEndpoint,
  base: string,
): Record<string, unknown> {
  const content: Record<string, unknown> = {
    PKey: {
      apiName: 'PKey',
      category: '0000_key',
      label: 'Primary key',
      type: 'string',
      resType: 'string',
      readOnly: true,
      isKey: false,
    },
  };
  for (const field of exposedFieldsOf(store, endpoint, definition.name))
    content[field.name] = describeField(field, definition.keyField);
  for (const link of definition.links) {
    const target = store.definition(link.target);
    content[link.name] = {
      apiName: link.name,
      category: '0200_links',
      label: link.label,
      type: 'link',
      resType: 'link',
      resTarget: link.target,
      targetKey: target?.keyField ?? null,
      cardinality: link.cardinality,
      onDelete: link.onDelete,
    };
  }
  return {
    content,
    data: `/${endpoint}/${definition.name}/`,
    filters: { href: `${base}/${endpoint}/resourceType/${definition.name}/filters/` },
    help: definition.label,
    href: `${base}/${endpoint}/${definition.name}/metadata`,
    identificationKey: definition.keyField === null ? [] : [definition.keyField],
    label: definition.label,
    mandatory: false,
    name: definition.name,
    pkgStatus: 'never',
    readOnly: false,
    schema: definition.schema,
    type: 'item',
  };
}

/** `GET /<root>/resourceType/<resource>/filters/`. */
export function describeFilters(
  definition: ResourceDefinition,
  endpoint: ResourceEndpoint,
  codecKey: (name: string) => string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const filter of filtersOf(definition, endpoint)) {
    out[filter.name] = {
      PKey: codecKey(filter.name),
      category: '99_none',
      condition: {
        expr: `@${filter.field} = $(${filter.parameter})`,
        enabledIf: `$(${filter.parameter}) != ''`,
      },
      data: `/${endpoint}/${definition.name}/${filter.name}?${filter.parameter}=$value`,
      formType: 'none',
      fragmentName: '',
      label: filter.label,
      metadata: { [filter.parameter]: { type: 'string', label: filter.field } },
    };
  }
  return out;
}

/** `GET /<root>/`: the resources served under a root, keyed by name. */
export function describeRoot(
  store: CampaignRecordStore,
  endpoint: ResourceEndpoint,
  base: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const definition of store.definitions()) {
    if (!isServedBy(store, endpoint, definition.name)) continue;
    // The Ext root lists the profile and the custom resources (custom-resources.md), not services.
    if (endpoint === 'profileAndServicesExt' && definition.name === 'service') continue;
    out[definition.name] = {
      content: {},
      data: `/${endpoint}/${definition.name}/`,
      help: definition.label,
      href: `${base}/${endpoint}/${definition.name}/metadata`,
      name: definition.name,
      type: 'collection',
    };
  }
  return out;
}
