import type { CampaignPKeyCodec } from './campaign-pkey-codec.js';
import {
  blackListAllLastModifiedField,
  blackListAttributes,
  lastModifiedFieldOf,
  optOutAttributes,
  type BlackListAttribute,
  type FieldDefinition,
  type LinkDefinition,
  type OptOutAttribute,
  type ResourceDefinition,
} from './campaign-resource-model.js';
import {
  campaignErrors,
  formatCampaignDateTime,
  isCampaignDate,
  parseCampaignDateTime,
} from './campaign-wire-format.js';

/** A field value as it travels on the wire (dates are strings; unset strings and dates are ''). */
export type FieldValue = string | number | boolean;

/**
 * How a record points at its link target: by the target's internal id (the payload gave a PKey)
 * or by the target's identification key (the payload gave `{"<keyField>": "…"}`), which is what
 * lets a child exist before its parent.
 */
export type LinkRef = { kind: 'pkey'; targetId: number } | { kind: 'key'; value: string };

export interface StoredRecord {
  readonly id: number;
  readonly resource: string;
  readonly pkey: string;
  values: Record<string, FieldValue>;
  links: Record<string, LinkRef | null>;
  created: number;
  lastModified: number;
  /** Attribute-level change times of the opt-out attributes (profiles only). */
  attributeModified: Partial<Record<OptOutAttribute, number>>;
}

/** Who is writing: the API counts and validates read-only fields; an operator edit in the UI does not count. */
export interface WriteContext {
  /** Fields the endpoint exposes (profileAndServices hides profile extensions). */
  exposedFields?: ReadonlySet<string>;
}

/** What a DELETE removed. */
export interface RemovalReport {
  removed: Array<{ resource: string; pkey: string }>;
  logEntriesRemoved: number;
}

interface ResourceTable {
  readonly definition: ResourceDefinition;
  readonly fields: ReadonlyMap<string, FieldDefinition>;
  readonly linkDefs: ReadonlyMap<string, LinkDefinition>;
  readonly records: Map<number, StoredRecord>;
  /** Identification key value → record id (empty values are not indexed). */
  readonly byKey: Map<string, number>;
  nextId: number;
}

const emailPolicy = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const integerTypes = new Set(['byte', 'short', 'long']);

/**
 * All records of all resources, with the rules the real service applies on write (types, lengths,
 * enums, identification keys, attribute-level opt-out timestamps) and on read (a record whose
 * `1`-cardinality link does not resolve to a visible parent is hidden from every read).
 */
export class CampaignRecordStore {
  private readonly tables = new Map<string, ResourceTable>();
  /** Delivery/tracking log entries per profile id; a regular delete leaves them, a privacy delete does not. */
  private readonly logs = new Map<number, number>();

  constructor(
    resources: readonly ResourceDefinition[],
    private readonly codec: CampaignPKeyCodec,
    private readonly now: () => number,
  ) {
    for (const definition of resources) {
      this.tables.set(definition.name, {
        definition,
        fields: new Map(definition.fields.map((f) => [f.name, f])),
        linkDefs: new Map(definition.links.map((l) => [l.name, l])),
        records: new Map(),
        byKey: new Map(),
        nextId: 1,
      });
    }
  }

  definitions(): ResourceDefinition[] {
    return [...this.tables.values()].map((t) => t.definition);
  }

  definition(resource: string): ResourceDefinition | undefined {
    return this.tables.get(resource)?.definition;
  }

  /** True when the resource is linked to profile, directly or through other resources. */
  isProfileLinked(resource: string): boolean {
    if (resource === 'profile') return true;
    const table = this.tables.get(resource);
    return table ? table.definition.links.some((l) => this.isProfileLinked(l.target)) : false;
  }

  /** Remove every record (the model stays). */
  clear(): void {
    for (const table of this.tables.values()) {
      table.records.clear();
      table.byKey.clear();
      table.nextId = 1;
    }
    this.logs.clear();
  }

  // ---------------------------------------------------------------- reads

  /** A record by id, hidden ones included. */
  getById(resource: string, id: number): StoredRecord | undefined {
    return this.tables.get(resource)?.records.get(id);
  }

  /** A record by identification-key value, hidden ones included. */
  getByKey(resource: string, value: string): StoredRecord | undefined {
    const table = this.tables.get(resource);
    const id = table?.byKey.get(value);
    return id === undefined ? undefined : table?.records.get(id);
  }

  /** Every record of a resource in creation order, hidden ones included. */
  all(resource: string): IterableIterator<StoredRecord> {
    return this.table(resource).records.values();
  }

  /** Rows stored for a resource, hidden ones included (what XtkBigTableThreshold compares with). */
  size(resource: string): number {
    return this.table(resource).records.size;
  }

  /** Records a client can see, in creation order. */
  *visible(resource: string): Generator<StoredRecord> {
    for (const record of this.table(resource).records.values()) if (this.isVisible(record)) yield record;
  }

  /** Hidden: a `1`-cardinality link that does not resolve to a visible parent. */
  isVisible(record: StoredRecord, depth = 0): boolean {
    if (depth > 8) return false;
    const table = this.table(record.resource);
    for (const link of table.definition.links) {
      if (link.cardinality !== '1') continue;
      const parent = this.resolveLink(link, record.links[link.name] ?? null);
      if (!parent || !this.isVisible(parent, depth + 1)) return false;
    }
    return true;
  }

  /** The record a link points at, when it exists (visible or not). */
  resolveLink(link: LinkDefinition, ref: LinkRef | null): StoredRecord | undefined {
    if (ref === null) return undefined;
    return ref.kind === 'pkey'
      ? this.getById(link.target, ref.targetId)
      : this.getByKey(link.target, ref.value);
  }

  countLogs(profileId: number): number {
    return this.logs.get(profileId) ?? 0;
  }

  /** Add delivery/tracking log entries to a profile (for privacy-delete assertions). */
  addLogs(profileId: number, count: number): void {
    this.logs.set(profileId, this.countLogs(profileId) + count);
  }

  // ---------------------------------------------------------------- writes

  /** Create a record from a payload; throws CampaignApiError as the real service would answer. */
  insert(resource: string, payload: Record<string, unknown>, context: WriteContext = {}): StoredRecord {
    const table = this.table(resource);
    const now = this.now();
    const id = table.nextId;
    const record: StoredRecord = {
      id,
      resource,
      pkey: this.codec.encodeRecord(resource, id),
      values: this.defaultValues(table),
      links: Object.fromEntries(table.definition.links.map((l) => [l.name, null])),
      created: now,
      lastModified: now,
      attributeModified: {},
    };
    const before = { ...record.values };
    this.applyPayload(table, record, payload, context, 'insert');
    this.stampChanges(table, record, before, now);
    record.values.created = formatCampaignDateTime(now);
    record.values.lastModified = formatCampaignDateTime(now);
    table.nextId++;
    table.records.set(id, record);
    this.indexKey(table, record);
    return record;
  }

  /** Apply a PATCH; `changed` is false when every value was already identical. */
  update(
    record: StoredRecord,
    payload: Record<string, unknown>,
    context: WriteContext = {},
  ): { record: StoredRecord; changed: boolean } {
    const table = this.table(record.resource);
    const draft: StoredRecord = {
      ...record,
      values: { ...record.values },
      links: { ...record.links },
      attributeModified: { ...record.attributeModified },
    };
    this.applyPayload(table, draft, payload, context, 'update');
    const changed =
      Object.keys(draft.values).some((k) => draft.values[k] !== record.values[k]) ||
      Object.keys(draft.links).some((k) => !sameLink(draft.links[k] ?? null, record.links[k] ?? null));
    if (!changed) return { record, changed: false };
    const now = this.now();
    this.stampChanges(table, draft, record.values, now);
    draft.lastModified = now;
    draft.values.lastModified = formatCampaignDateTime(now);
    this.unindexKey(table, record);
    Object.assign(record, draft);
    this.indexKey(table, record);
    return { record, changed: true };
  }

  /**
   * Delete a record and follow each incoming link's deletion behaviour (cascade deletes the
   * children; none leaves them, hidden when the link has cardinality `1`). A privacy delete also
   * removes the profile's log entries; a regular delete leaves them.
   */
  remove(record: StoredRecord, options: { privacy?: boolean } = {}): RemovalReport {
    const report: RemovalReport = { removed: [], logEntriesRemoved: 0 };
    this.removeInto(record, options.privacy ?? false, report, 0);
    return report;
  }

  private removeInto(record: StoredRecord, privacy: boolean, report: RemovalReport, depth: number): void {
    const table = this.table(record.resource);
    if (!table.records.delete(record.id)) return;
    this.unindexKey(table, record);
    report.removed.push({ resource: record.resource, pkey: record.pkey });
    if (privacy && record.resource === 'profile') {
      report.logEntriesRemoved += this.countLogs(record.id);
      this.logs.delete(record.id);
    }
    if (depth > 8) return;
    for (const child of this.children(record)) {
      if (child.link.onDelete === 'cascade') this.removeInto(child.record, privacy, report, depth + 1);
    }
  }

  /** Records whose links point at `parent`. */
  private *children(parent: StoredRecord): Generator<{ record: StoredRecord; link: LinkDefinition }> {
    const parentKeyField = this.table(parent.resource).definition.keyField;
    const parentKey = parentKeyField === null ? '' : String(parent.values[parentKeyField] ?? '');
    for (const table of this.tables.values()) {
      const links = table.definition.links.filter((l) => l.target === parent.resource);
      if (links.length === 0) continue;
      for (const record of [...table.records.values()]) {
        for (const link of links) {
          const ref = record.links[link.name] ?? null;
          const points =
            ref !== null &&
            ((ref.kind === 'pkey' && ref.targetId === parent.id) ||
              (ref.kind === 'key' && parentKey !== '' && ref.value === parentKey));
          if (points) yield { record, link };
        }
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  private table(resource: string): ResourceTable {
    const table = this.tables.get(resource);
    if (!table) throw new Error(`unknown resource ${resource}`);
    return table;
  }

  private defaultValues(table: ResourceTable): Record<string, FieldValue> {
    const values: Record<string, FieldValue> = {};
    for (const field of table.definition.fields) values[field.name] = defaultValueOf(field);
    return values;
  }

  private applyPayload(
    table: ResourceTable,
    record: StoredRecord,
    payload: Record<string, unknown>,
    context: WriteContext,
    mode: 'insert' | 'update',
  ): void {
    const def = table.definition;
    for (const [name, raw] of Object.entries(payload)) {
      if (name === 'href') continue;
      if (name === 'PKey') {
        if (mode === 'update' && raw !== record.pkey)
          throw campaignErrors.keyChange(def.name, record.pkey, String(raw));
        continue;
      }
      const link = table.linkDefs.get(name);
      if (link) {
        record.links[name] = this.parseLink(link, raw);
        continue;
      }
      const field = table.fields.get(name);
      if (!field || (context.exposedFields && !context.exposedFields.has(name)))
        throw campaignErrors.unknownProperty(name, def.name);
      if (field.readOnly) throw campaignErrors.readOnly(name);
      const value = coerceValue(field, raw, def.schema);
      if (name === def.keyField && mode === 'update') {
        const current = String(record.values[name] ?? '');
        if (current !== '' && current !== value)
          throw campaignErrors.keyChange(def.name, current, String(value));
      }
      record.values[name] = value;
    }
    if (def.keyField !== null) {
      const key = String(record.values[def.keyField] ?? '');
      const holder = key === '' ? undefined : table.byKey.get(key);
      if (holder !== undefined && holder !== record.id) {
        const singular = def.name === 'profile' ? 'Profile' : def.label;
        const constraint = `${def.schema.replace(':', '')}_${def.keyField}`.toLowerCase();
        throw campaignErrors.duplicateKey(singular, constraint, `s${def.keyField.toLowerCase()}`, key);
      }
    }
  }

  private parseLink(link: LinkDefinition, raw: unknown): LinkRef | null {
    if (raw === null) return null;
    if (typeof raw !== 'object' || Array.isArray(raw)) throw campaignErrors.invalidValue(link.name, 'link');
    const target = this.table(link.target);
    const body = raw as Record<string, unknown>;
    if (typeof body.PKey === 'string') {
      const decoded = this.codec.decodeRecord(body.PKey);
      if (!decoded || decoded.resource !== link.target)
        throw campaignErrors.malformedPKey(body.PKey, target.definition.label, target.definition.schema);
      const parent = target.records.get(decoded.id);
      if (!parent || !this.isVisible(parent))
        throw campaignErrors.notFound(target.definition.label, target.definition.schema, String(decoded.id));
      return { kind: 'pkey', targetId: decoded.id };
    }
    const keyField = target.definition.keyField;
    if (keyField !== null && typeof body[keyField] === 'string' && body[keyField] !== '')
      return { kind: 'key', value: body[keyField] };
    // A nested object without key attributes is silently ignored and the link left null (§2.3).
    return null;
  }

  private stampChanges(
    table: ResourceTable,
    record: StoredRecord,
    before: Record<string, FieldValue>,
    now: number,
  ): void {
    if (table.definition.name !== 'profile') return;
    let anyBlackList = false;
    for (const attribute of optOutAttributes) {
      if (record.values[attribute] === before[attribute]) continue;
      record.attributeModified[attribute] = now;
      if (isBlackList(attribute)) {
        anyBlackList = true;
        record.values[lastModifiedFieldOf(attribute)] = formatCampaignDateTime(now);
      }
    }
    if (anyBlackList) record.values[blackListAllLastModifiedField] = formatCampaignDateTime(now);
  }

  private indexKey(table: ResourceTable, record: StoredRecord): void {
    const keyField = table.definition.keyField;
    if (keyField === null) return;
    const key = String(record.values[keyField] ?? '');
    if (key !== '') table.byKey.set(key, record.id);
  }

  private unindexKey(table: ResourceTable, record: StoredRecord): void {
    const keyField = table.definition.keyField;
    if (keyField === null) return;
    const key = String(record.values[keyField] ?? '');
    if (key !== '' && table.byKey.get(key) === record.id) table.byKey.delete(key);
  }
}

function isBlackList(attribute: OptOutAttribute): attribute is BlackListAttribute {
  return (blackListAttributes as readonly string[]).includes(attribute);
}

function sameLink(a: LinkRef | null, b: LinkRef | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.kind === 'pkey' && b.kind === 'pkey') return a.targetId === b.targetId;
  if (a.kind === 'key' && b.kind === 'key') return a.value === b.value;
  return false;
}

/** The value a field holds before anything is written: '' for text and dates, false, 0, first enum value. */
export function defaultValueOf(field: FieldDefinition): FieldValue {
  switch (field.type) {
    case 'boolean':
      return false;
    case 'byte':
    case 'short':
    case 'long':
    case 'double':
    case 'float':
      return 0;
    case 'enumeration':
      return field.values?.[0] ?? '';
    default:
      return '';
  }
}

/** Validate and convert one payload value; `null` resets the field. */
function coerceValue(field: FieldDefinition, raw: unknown, schema: string): FieldValue {
  if (raw === null) return defaultValueOf(field);
  switch (field.type) {
    case 'string':
    case 'memo': {
      if (typeof raw !== 'string' && typeof raw !== 'number')
        throw campaignErrors.invalidValue(field.name, field.type);
      const text = String(raw);
      // PostgreSQL's varchar(N) counts characters (code points), not UTF-16 units.
      if (field.length !== undefined && text.length > field.length && [...text].length > field.length)
        throw campaignErrors.valueTooLong(field.length);
      if (field.dataPolicy === 'email' && text !== '' && !emailPolicy.test(text))
        throw campaignErrors.dataPolicy(field.name, 'email');
      return text;
    }
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw campaignErrors.invalidValue(field.name, 'boolean');
    case 'enumeration':
      if (typeof raw !== 'string' || !field.values?.includes(raw))
        throw campaignErrors.invalidEnum(
          typeof raw === 'string' ? raw : JSON.stringify(raw),
          schema,
          field.name,
        );
      return raw;
    case 'date':
      if (raw === '') return '';
      if (typeof raw !== 'string' || !isCampaignDate(raw))
        throw campaignErrors.invalidValue(field.name, 'date');
      return raw;
    case 'datetime': {
      if (raw === '') return '';
      const ms = typeof raw === 'string' ? parseCampaignDateTime(raw) : Number.NaN;
      if (Number.isNaN(ms)) throw campaignErrors.invalidValue(field.name, 'datetime');
      return formatCampaignDateTime(ms);
    }
    default: {
      const n =
        typeof raw === 'number'
          ? raw
          : typeof raw === 'string' && raw.trim() !== ''
            ? Number(raw)
            : Number.NaN;
      if (!Number.isFinite(n) || (integerTypes.has(field.type) && !Number.isInteger(n)))
        throw campaignErrors.invalidValue(field.name, field.type);
      return n;
    }
  }
}
