/**
 * The data model the Campaign emulator serves: field, link and resource definitions, with the
 * built-in profile resource (`nms:recipient`) and the custom resources a seed file declares.
 */

/** High-level field types as `resourceType` metadata reports them. */
export const campaignFieldTypes = [
  'string',
  'memo',
  'boolean',
  'byte',
  'short',
  'long',
  'double',
  'float',
  'date',
  'datetime',
  'enumeration',
] as const;
export type CampaignFieldType = (typeof campaignFieldTypes)[number];

export interface FieldDefinition {
  name: string;
  type: CampaignFieldType;
  label: string;
  /** Maximum length for `string` fields; longer values fail like PostgreSQL does. */
  length?: number;
  /** Allowed values of an `enumeration` field (the `@name`s a POST must use). */
  values?: readonly string[];
  /** Read-only fields reject POST/PATCH values. */
  readOnly?: boolean;
  /** Policy applied on write (`email` validates, as the real service does). */
  dataPolicy?: 'email' | 'none';
  category?: string;
}

export const linkCardinalities = ['1', '0..1'] as const;
export type LinkCardinality = (typeof linkCardinalities)[number];

export const linkDeletionBehaviours = ['cascade', 'none'] as const;
export type LinkDeletionBehaviour = (typeof linkDeletionBehaviours)[number];

export interface LinkDefinition {
  /** The link's API name in payloads (`{"<name>": {"PKey": "@..."}}`). */
  name: string;
  /** `profile` or another custom resource's name. */
  target: string;
  cardinality: LinkCardinality;
  /** What deleting the target does to records pointing at it. */
  onDelete: LinkDeletionBehaviour;
  label: string;
}

export interface ResourceDefinition {
  /** `profile` or a `cus`-prefixed custom resource name. */
  name: string;
  label: string;
  /** The XTK schema name, e.g. `nms:recipient` or `cus:transaction`. */
  schema: string;
  fields: readonly FieldDefinition[];
  /** The identification ("CRM ID") key field; null when the resource has none. */
  keyField: string | null;
  links: readonly LinkDefinition[];
  /** Custom filters beyond the built-in ones, e.g. `byExternalId`. */
  filters: readonly CustomFilterDefinition[];
  /** Built-in filters (`byEmail`, `byText`) this resource does not answer; none by default. */
  withoutFilters?: readonly string[];
}

/** A custom filter: `GET …/<resource>/<name>?<parameter>=<value>` matches `field` exactly. */
export interface CustomFilterDefinition {
  name: string;
  field: string;
  parameter: string;
  label: string;
}

/** The "No longer contact by" attributes, each with its attribute-level timestamp field. */
export const blackListAttributes = [
  'blackList',
  'blackListEmail',
  'blackListFax',
  'blackListMobile',
  'blackListPhone',
  'blackListPostalMail',
  'blackListPushnotification',
] as const;
export type BlackListAttribute = (typeof blackListAttributes)[number];

/** Opt-out attributes whose change time the emulator tracks (`ccpaOptOut` internally only). */
export const optOutAttributes = [...blackListAttributes, 'ccpaOptOut'] as const;
export type OptOutAttribute = (typeof optOutAttributes)[number];

/** The timestamp field the API reports for a `blackList*` attribute. */
export function lastModifiedFieldOf(attribute: BlackListAttribute): string {
  return `${attribute}LastModified`;
}

/** Updated whenever any `blackList*` attribute changes (sample payloads carry it next to the others). */
export const blackListAllLastModifiedField = 'blackListAllLastModified';

function stringField(name: string, label: string, length: number, extra: Partial<FieldDefinition> = {}) {
  return { name, type: 'string' as const, label, length, ...extra };
}

/** Out-of-the-box profile fields (GH-ACS datamodel-profile.md), in response order. */
export const profileBuiltInFields: readonly FieldDefinition[] = [
  stringField('externalId', 'External Resource ID', 100),
  { name: 'isExternal', type: 'boolean', label: 'External profile' },
  stringField('email', 'Email', 128, { dataPolicy: 'email' }),
  stringField('firstName', 'First name', 30),
  stringField('lastName', 'Last name', 50),
  stringField('middleName', 'Middle name', 30),
  stringField('salutation', 'Title', 20),
  stringField('phone', 'Phone', 32),
  stringField('mobilePhone', 'Mobile', 32),
  stringField('fax', 'Fax', 32),
  { name: 'birthDate', type: 'date', label: 'Birth date' },
  { name: 'age', type: 'short', label: 'Age', readOnly: true },
  { name: 'gender', type: 'enumeration', label: 'Gender', values: ['unknown', 'male', 'female'] },
  {
    name: 'emailFormat',
    type: 'enumeration',
    label: 'Email format',
    values: ['unknown', 'text', 'html'],
  },
  stringField('timeZone', 'Time zone', 64),
  ...blackListAttributes.map((name): FieldDefinition => ({
    name,
    type: 'boolean',
    label: `No longer contact (${name})`,
  })),
  ...blackListAttributes.map((name): FieldDefinition => ({
    name: lastModifiedFieldOf(name),
    type: 'datetime',
    label: `Last modified (${name})`,
    readOnly: true,
  })),
  {
    name: blackListAllLastModifiedField,
    type: 'datetime',
    label: 'Last modified (any channel)',
    readOnly: true,
  },
  { name: 'ccpaOptOut', type: 'boolean', label: 'CCPA opt-out' },
  { name: 'created', type: 'datetime', label: 'Created', readOnly: true },
  { name: 'lastModified', type: 'datetime', label: 'Last modified', readOnly: true },
];

/** Fields every custom resource carries besides its declared columns. */
export const customResourceSystemFields: readonly FieldDefinition[] = [
  { name: 'created', type: 'datetime', label: 'Created', readOnly: true },
  { name: 'lastModified', type: 'datetime', label: 'Last modified', readOnly: true },
];

/**
 * The profile resource. `customKey` is the identification key declared on the profile (the
 * integration needs `externalId`); `extraFields` are profile extensions visible only under
 * `profileAndServicesExt`.
 */
export function buildProfileDefinition(
  customKey: string | null,
  extraFields: readonly FieldDefinition[] = [],
  withoutFilters: readonly string[] = [],
): ResourceDefinition {
  const filters: CustomFilterDefinition[] = [
    { name: 'byExternalId', field: 'externalId', parameter: 'externalId_parameter', label: 'By external id' },
  ];
  return {
    name: 'profile',
    label: 'Profiles',
    schema: 'nms:recipient',
    fields: [...profileBuiltInFields, ...extraFields],
    keyField: customKey,
    links: [],
    filters,
    withoutFilters,
  };
}

/** Names of the profile fields served by `/profileAndServices` (extensions excluded). */
export const profileBuiltInFieldNames: ReadonlySet<string> = new Set(profileBuiltInFields.map((f) => f.name));

/**
 * The out-of-the-box service resource (`nms:service`, subscription services) under
 * `/profileAndServices/service` and `/profileAndServicesExt/service`: what Adobe's SDK lists,
 * creates and reads. Fields are a subset of the documented ones (name, label, messageType,
 * created, lastModified); subscriptions are not modelled.
 */
export const serviceDefinition: ResourceDefinition = {
  name: 'service',
  label: 'Services',
  schema: 'nms:service',
  fields: [
    stringField('name', 'Internal name', 64),
    stringField('label', 'Label', 128),
    { name: 'messageType', type: 'enumeration', label: 'Channel', values: ['email', 'sms'] },
    { name: 'created', type: 'datetime', label: 'Created', readOnly: true },
    { name: 'lastModified', type: 'datetime', label: 'Last modified', readOnly: true },
  ],
  keyField: null,
  links: [],
  filters: [],
};

/** Built-in resources served under both profile roots (never under `customResources`). */
export const builtInResourceNames: ReadonlySet<string> = new Set(['profile', 'service']);
