/**
 * The emulator's description of a Dataverse table: what the metadata endpoints report and what the
 * Web API validates writes against. Built-in `contact` plus custom tables from a seed file.
 */

/** Column types the emulator understands (a subset of Dataverse attribute types). */
export const columnTypes = [
  'string',
  'memo',
  'integer',
  'bigint',
  'decimal',
  'double',
  'money',
  'boolean',
  'datetime',
  'dateonly',
  'uniqueidentifier',
  'picklist',
  'state',
  'status',
  'multiselectpicklist',
  'lookup',
] as const;
export type ColumnType = (typeof columnTypes)[number];

/** What happens to rows that point at a deleted row through this lookup. */
export const lookupDeleteBehaviours = ['removeLink', 'cascade', 'restrict'] as const;
export type LookupDeleteBehaviour = (typeof lookupDeleteBehaviours)[number];

/**
 * One option of a choice column (picklist, state or status), with its display label in the
 * organisation's base language (1033).
 */
export interface ChoiceOption {
  value: number;
  label: string;
  /** For status options: the state (statecode value) the status belongs to. */
  state?: number | undefined;
  /** For state options: the status a row gets when it moves into this state. */
  defaultStatus?: number | undefined;
}

/** Column types whose metadata has an `OptionSet` (multi-select choices included). */
export const choiceColumnTypes: readonly ColumnType[] = [
  'picklist',
  'state',
  'status',
  'multiselectpicklist',
];

/** Whether a column holds a choice (its metadata has an `OptionSet`). */
export function isChoiceColumn(column: ColumnSchema): boolean {
  return choiceColumnTypes.includes(column.type);
}

/** Whether `value` is one of the column's options (columns without options accept any integer). */
export function isAllowedOption(column: ColumnSchema, value: number): boolean {
  return !column.options || column.options.some((o) => o.value === value);
}

export interface ColumnSchema {
  /** Lower-case logical name (`firstname`, `new_contactid`). */
  logicalName: string;
  /** Schema name; for lookups also the single-valued navigation property used with `@odata.bind`. */
  schemaName: string;
  type: ColumnType;
  /** For strings: the maximum length Dataverse enforces. */
  maxLength?: number | undefined;
  /** Read-only columns are ignored on write (Dataverse silently drops them). */
  readOnly?: boolean | undefined;
  /** Value given to new rows that do not set the column. */
  defaultValue?: string | number | boolean | null | undefined;
  /** For lookups: the logical name of the referenced table. */
  target?: string | undefined;
  /** For lookups: the navigation property name for `@odata.bind` (case-sensitive). */
  navigationProperty?: string | undefined;
  /** For lookups: delete behaviour of the relationship. @default 'removeLink' */
  onDelete?: LookupDeleteBehaviour | undefined;
  /**
   * For picklist, state, status and multi-select columns: the allowed options and their labels.
   * A multi-select value is read and written as the chosen values joined by commas (`"1,3"`).
   */
  options?: readonly ChoiceOption[] | undefined;
  /** For yes/no columns: the labels of true and false (`Yes`/`No` unless the table says otherwise). */
  trueLabel?: string | undefined;
  falseLabel?: string | undefined;
}

export interface TableSchema {
  logicalName: string;
  schemaName: string;
  entitySetName: string;
  primaryIdAttribute: string;
  primaryNameAttribute: string;
  changeTrackingEnabled: boolean;
  isCustomEntity: boolean;
  /**
   * A custom activity table (`IsActivity`): primary key `activityid`, primary name `subject`, the
   * activity columns, a `regardingobjectid` lookup to contact written through
   * `regardingobjectid_contact_<table>@odata.bind`, and activity parties deep-inserted through
   * `<table>_activity_parties`. @default false
   */
  isActivity?: boolean | undefined;
  /** Stable id used as `MetadataId`. */
  metadataId: string;
  /** Every column, the primary id first. */
  columns: ColumnSchema[];
  /**
   * Alternate keys (`EntityMetadata.Keys`): records can be addressed by these column sets, and
   * their values are unique. None unless declared: most tables have none (use-alternate-key-reference-record).
   */
  keys: AlternateKey[];
}

/** One alternate key (`EntityKeyMetadata`). */
export interface AlternateKey {
  /** Logical name of the key, e.g. `new_emailkey`. */
  name: string;
  /** Logical names of its columns (`KeyAttributes`). */
  columns: string[];
}

/** Attribute metadata type name as `EntityDefinitions(...)/Attributes` reports it. */
export function attributeTypeOf(type: ColumnType): string {
  switch (type) {
    case 'string':
      return 'String';
    case 'memo':
      return 'Memo';
    case 'integer':
      return 'Integer';
    case 'bigint':
      return 'BigInt';
    case 'decimal':
      return 'Decimal';
    case 'double':
      return 'Double';
    case 'money':
      return 'Money';
    case 'boolean':
      return 'Boolean';
    case 'datetime':
    case 'dateonly':
      return 'DateTime';
    case 'uniqueidentifier':
      return 'Uniqueidentifier';
    case 'picklist':
      return 'Picklist';
    case 'state':
      return 'State';
    case 'status':
      return 'Status';
    // Dataverse reports multi-select choices as `Virtual`; `AttributeTypeName` tells them apart.
    case 'multiselectpicklist':
      return 'Virtual';
    case 'lookup':
      return 'Lookup';
  }
}

/** `AttributeTypeName.Value` as the metadata reports it (`StringType`, `MultiSelectPicklistType`). */
export function attributeTypeNameOf(type: ColumnType): string {
  return type === 'multiselectpicklist' ? 'MultiSelectPicklistType' : `${attributeTypeOf(type)}Type`;
}

/** The OData property name a column is read as: lookups surface as `_<name>_value`. */
export function readNameOf(column: ColumnSchema): string {
  return column.type === 'lookup' ? `_${column.logicalName}_value` : column.logicalName;
}

const stringColumn = (logicalName: string, maxLength: number, schemaName?: string): ColumnSchema => ({
  logicalName,
  schemaName: schemaName ?? logicalName,
  type: 'string',
  maxLength,
});
const booleanColumn = (
  logicalName: string,
  defaultValue: boolean,
  schemaName: string,
  [trueLabel, falseLabel]: [string, string] = ['Yes', 'No'],
): ColumnSchema => ({
  logicalName,
  schemaName,
  type: 'boolean',
  defaultValue,
  trueLabel,
  falseLabel,
});

/** Columns every table has, after its own. */
export function systemColumns(primaryIdAttribute: string): ColumnSchema[] {
  return [
    {
      logicalName: primaryIdAttribute,
      schemaName: primaryIdAttribute,
      type: 'uniqueidentifier',
      readOnly: true,
    },
    {
      logicalName: 'statecode',
      schemaName: 'StateCode',
      type: 'state',
      defaultValue: 0,
      options: [
        { value: 0, label: 'Active', defaultStatus: 1 },
        { value: 1, label: 'Inactive', defaultStatus: 2 },
      ],
    },
    {
      logicalName: 'statuscode',
      schemaName: 'StatusCode',
      type: 'status',
      defaultValue: 1,
      options: [
        { value: 1, label: 'Active', state: 0 },
        { value: 2, label: 'Inactive', state: 1 },
      ],
    },
    { logicalName: 'createdon', schemaName: 'CreatedOn', type: 'datetime', readOnly: true },
    { logicalName: 'modifiedon', schemaName: 'ModifiedOn', type: 'datetime', readOnly: true },
    { logicalName: 'versionnumber', schemaName: 'VersionNumber', type: 'bigint', readOnly: true },
  ];
}

/** The built-in contact table, with the columns of the reference notes (§5). */
export function contactTableSchema(
  changeTrackingEnabled = true,
  keys: readonly AlternateKey[] = [],
): TableSchema {
  const columns: ColumnSchema[] = [
    ...systemColumns('contactid'),
    { ...stringColumn('fullname', 160, 'FullName'), readOnly: true },
    stringColumn('firstname', 50, 'FirstName'),
    stringColumn('lastname', 50, 'LastName'),
    stringColumn('middlename', 50, 'MiddleName'),
    stringColumn('salutation', 100, 'Salutation'),
    stringColumn('jobtitle', 100, 'JobTitle'),
    stringColumn('emailaddress1', 100, 'EMailAddress1'),
    stringColumn('emailaddress2', 100, 'EMailAddress2'),
    stringColumn('emailaddress3', 100, 'EMailAddress3'),
    stringColumn('mobilephone', 50, 'MobilePhone'),
    stringColumn('telephone1', 50, 'Telephone1'),
    stringColumn('telephone2', 50, 'Telephone2'),
    stringColumn('address1_line1', 250, 'Address1_Line1'),
    stringColumn('address1_city', 80, 'Address1_City'),
    stringColumn('address1_country', 80, 'Address1_Country'),
    stringColumn('address1_postalcode', 20, 'Address1_PostalCode'),
    { logicalName: 'birthdate', schemaName: 'BirthDate', type: 'dateonly' },
    {
      logicalName: 'preferredcontactmethodcode',
      schemaName: 'PreferredContactMethodCode',
      type: 'picklist',
      defaultValue: 1,
      options: [
        { value: 1, label: 'Any' },
        { value: 2, label: 'Email' },
        { value: 3, label: 'Phone' },
        { value: 4, label: 'Fax' },
        { value: 5, label: 'Mail' },
      ],
    },
    // Yes/no labels of the contact reference (reference notes §5).
    booleanColumn('donotemail', false, 'DoNotEMail', ['Do Not Allow', 'Allow']),
    booleanColumn('donotbulkemail', false, 'DoNotBulkEMail', ['Do Not Allow', 'Allow']),
    booleanColumn('donotphone', false, 'DoNotPhone', ['Do Not Allow', 'Allow']),
    booleanColumn('donotfax', false, 'DoNotFax', ['Do Not Allow', 'Allow']),
    booleanColumn('donotpostalmail', false, 'DoNotPostalMail', ['Do Not Allow', 'Allow']),
    booleanColumn('donotbulkpostalmail', false, 'DoNotBulkPostalMail'),
    booleanColumn('donotsendmm', false, 'DoNotSendMM', ['Do Not Send', 'Send']),
    booleanColumn('followemail', true, 'FollowEmail', ['Allow', 'Do Not Allow']),
    booleanColumn('marketingonly', false, 'MarketingOnly'),
    {
      logicalName: 'parentcustomerid',
      schemaName: 'ParentCustomerId',
      type: 'lookup',
      target: 'contact',
      navigationProperty: 'parentcustomerid_contact',
      onDelete: 'removeLink',
    },
  ];
  return {
    logicalName: 'contact',
    schemaName: 'Contact',
    entitySetName: 'contacts',
    primaryIdAttribute: 'contactid',
    primaryNameAttribute: 'fullname',
    changeTrackingEnabled,
    isCustomEntity: false,
    metadataId: '608861bc-50a4-4c5f-a02c-21fe1943e2cf',
    columns,
    keys: keys.map((k) => ({ name: k.name, columns: [...k.columns] })),
  };
}

/** Logical name of the table that holds activity parties (`activityparty`, entity set `activityparties`). */
export const activityPartyTable = 'activityparty';

/**
 * `participationtypemask` options (activityparty-entity): 1 Sender, 2 To, 3 CC, 4 BCC, 5 Required,
 * 6 Optional, 7 Organizer, 8 Regarding, 9 Owner, 10 Resource, 11 Customer, 12 Chat participant.
 */
const participationTypes: ChoiceOption[] = [
  'Sender',
  'To Recipient',
  'CC Recipient',
  'BCC Recipient',
  'Required attendee',
  'Optional attendee',
  'Organizer',
  'Regarding',
  'Owner',
  'Resource',
  'Customer',
  'Chat participant',
].map((label, index) => ({ value: index + 1, label }));

/**
 * The activity party table: one row per party of an activity. `activityid` holds the activity's id
 * (polymorphic in Dataverse; a plain id here), `partyid` looks up the contact.
 */
export function activityPartyTableSchema(): TableSchema {
  return {
    logicalName: activityPartyTable,
    schemaName: 'ActivityParty',
    entitySetName: 'activityparties',
    primaryIdAttribute: 'activitypartyid',
    primaryNameAttribute: 'addressused',
    changeTrackingEnabled: false,
    isCustomEntity: false,
    metadataId: '0e9c3f34-8cd2-4f6e-9a3c-6a7e2b0c1d11',
    columns: [
      {
        logicalName: 'activitypartyid',
        schemaName: 'ActivityPartyId',
        type: 'uniqueidentifier',
        readOnly: true,
      },
      { logicalName: 'activityid', schemaName: 'ActivityId', type: 'uniqueidentifier' },
      {
        logicalName: 'partyid',
        schemaName: 'PartyId',
        type: 'lookup',
        target: 'contact',
        navigationProperty: 'partyid_contact',
        onDelete: 'removeLink',
      },
      {
        logicalName: 'participationtypemask',
        schemaName: 'ParticipationTypeMask',
        type: 'picklist',
        options: participationTypes,
      },
      stringColumn('addressused', 200, 'AddressUsed'),
      { logicalName: 'createdon', schemaName: 'CreatedOn', type: 'datetime', readOnly: true },
      { logicalName: 'modifiedon', schemaName: 'ModifiedOn', type: 'datetime', readOnly: true },
      { logicalName: 'versionnumber', schemaName: 'VersionNumber', type: 'bigint', readOnly: true },
    ],
    keys: [],
  };
}

/**
 * The columns every custom activity table has (inherited from `activitypointer`), its own columns
 * after them. Activity states are 0 Open, 1 Completed, 2 Canceled with status reasons 1 Open,
 * 2 Completed, 3 Canceled.
 */
export function activityColumns(logicalName: string): ColumnSchema[] {
  return [
    { logicalName: 'activityid', schemaName: 'ActivityId', type: 'uniqueidentifier', readOnly: true },
    {
      logicalName: 'statecode',
      schemaName: 'StateCode',
      type: 'state',
      defaultValue: 0,
      options: [
        { value: 0, label: 'Open', defaultStatus: 1 },
        { value: 1, label: 'Completed', defaultStatus: 2 },
        { value: 2, label: 'Canceled', defaultStatus: 3 },
      ],
    },
    {
      logicalName: 'statuscode',
      schemaName: 'StatusCode',
      type: 'status',
      defaultValue: 1,
      options: [
        { value: 1, label: 'Open', state: 0 },
        { value: 2, label: 'Completed', state: 1 },
        { value: 3, label: 'Canceled', state: 2 },
      ],
    },
    { logicalName: 'createdon', schemaName: 'CreatedOn', type: 'datetime', readOnly: true },
    { logicalName: 'modifiedon', schemaName: 'ModifiedOn', type: 'datetime', readOnly: true },
    { logicalName: 'versionnumber', schemaName: 'VersionNumber', type: 'bigint', readOnly: true },
    stringColumn('subject', 400, 'Subject'),
    { logicalName: 'description', schemaName: 'Description', type: 'memo', maxLength: 100_000 },
    { logicalName: 'actualstart', schemaName: 'ActualStart', type: 'datetime' },
    { logicalName: 'actualend', schemaName: 'ActualEnd', type: 'datetime' },
    { logicalName: 'scheduledstart', schemaName: 'ScheduledStart', type: 'datetime' },
    { logicalName: 'scheduledend', schemaName: 'ScheduledEnd', type: 'datetime' },
    {
      logicalName: 'activitytypecode',
      schemaName: 'ActivityTypeCode',
      type: 'string',
      maxLength: 100,
      readOnly: true,
      defaultValue: logicalName,
    },
    {
      logicalName: 'regardingobjectid',
      schemaName: 'RegardingObjectId',
      type: 'lookup',
      target: 'contact',
      navigationProperty: `regardingobjectid_contact_${logicalName}`,
      // Contact → activities is a parental relationship: deleting the contact deletes them.
      onDelete: 'cascade',
    },
  ];
}
