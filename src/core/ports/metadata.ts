/**
 * What the sync reads about the shape of both systems — tables and resources, columns and fields,
 * lookups and links — in neutral words, so the pre-flights and the flow builder depend on this port
 * and not on a connector. The Dataverse metadata reader and the Campaign client implement it.
 */

/** One column of a source table. */
export interface SourceColumn {
  logicalName: string;
  /**
   * The column type as Dataverse names it (`AttributeType`): String, Memo, Integer, BigInt,
   * Decimal, Double, Money, Boolean, DateTime, Lookup, Picklist, State, Status, and
   * `MultiSelectPicklist` for a choices column.
   */
  type: string;
}

/** A lookup column of a source table and the table it points at. */
export interface SourceLookup {
  /** Logical name of the lookup column (read as `_<name>_value`). */
  attribute: string;
  /** Name to write it by (`<name>@odata.bind`; case-sensitive). */
  navigationProperty: string;
  /** Logical name of the referenced table. */
  target: string;
}

/** A table the sync reads from (a Dynamics table). */
export interface SourceTableMetadata {
  logicalName: string;
  /** Whether changes can be followed (Dataverse change tracking). */
  changeTrackingEnabled: boolean;
  /** Collection name of its rows in the API (`contacts`). */
  entitySetName: string;
  primaryIdAttribute: string;
  attributes: SourceColumn[];
  lookups: SourceLookup[];
}

/** One field of a target resource. */
export interface TargetField {
  /** High-level type (`string`, `boolean`, `date`, `datetime`, `long`, `enumeration`, `link`…). */
  type: string;
  /** Storage type when the metadata gives it. */
  resType: string;
  /** Maximum length of a text field, in characters. */
  length: number | null;
  readOnly: boolean;
  /** Part of an identification key. */
  isKey: boolean;
  /** Enumeration values. */
  values: string[] | null;
}

/** A link from a target resource to another. */
export interface TargetLink {
  target: string;
  /** `1` or `0..1` when the metadata says; null when it does not. */
  cardinality: string | null;
  /** `cascade` or `none` when the metadata says; null when it does not. */
  onDelete: string | null;
  /** Identification key of the target, when known. */
  targetKey: string | null;
}

/** A resource the sync writes to (the Campaign profile or a custom resource). */
export interface TargetResourceMetadata {
  name: string;
  label: string;
  schema: string;
  /** Where the resource is served (its API root). */
  root: string;
  /** Fields declared as identification keys. */
  keyFields: string[];
  fields: Record<string, TargetField>;
  links: Record<string, TargetLink>;
}

/** Reads the shape of both systems; null = the table or resource does not exist. */
export interface MetadataSource {
  sourceTable(logicalName: string): Promise<SourceTableMetadata | null>;
  targetResource(name: string): Promise<TargetResourceMetadata | null>;
}

/** Source column types whose values are choices with labels. */
export const choiceColumnTypes: readonly string[] = ['Picklist', 'State', 'Status', 'MultiSelectPicklist'];

/** How to enable change tracking on a Dynamics table, for error messages and `validate` output. */
export function changeTrackingHint(table: string): string {
  return `Enable 'Track changes' on table ${table} in Power Apps (Tables → ${table} → Properties → Advanced options) or set ChangeTrackingEnabled=true on EntityDefinitions`;
}

/** The message for a source table whose changes cannot be followed. */
export function changeTrackingMessage(table: string): string {
  return `Change tracking is not enabled on Dynamics table ${table}. ${changeTrackingHint(table)}.`;
}
