import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  activityColumns,
  activityPartyTable,
  activityPartyTableSchema,
  choiceColumnTypes,
  columnTypes,
  contactTableSchema,
  lookupDeleteBehaviours,
  systemColumns,
  type ChoiceOption,
  type ColumnSchema,
  type TableSchema,
} from './table-schema.js';

const namePattern = /^[a-z][a-z0-9_]*$/;

/** An option: `{ value, label }`, or a bare number (its label is then the number as text). */
const optionSchema = z.union([
  z.number().int(),
  z.object({ value: z.number().int(), label: z.string().min(1) }).strict(),
]);

const columnSchema = z
  .object({
    name: z.string().regex(namePattern, 'lower-case logical name'),
    schemaName: z.string().optional(),
    type: z.enum(columnTypes),
    maxLength: z.number().int().positive().optional(),
    default: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
    target: z.string().optional(),
    navigationProperty: z.string().optional(),
    onDelete: z.enum(lookupDeleteBehaviours).optional(),
    options: z.array(optionSchema).optional(),
    trueLabel: z.string().min(1).optional(),
    falseLabel: z.string().min(1).optional(),
  })
  .strict()
  .refine((c) => c.type === 'boolean' || (c.trueLabel === undefined && c.falseLabel === undefined), {
    message: 'trueLabel and falseLabel belong to boolean columns',
  })
  .refine((c) => c.type !== 'lookup' || c.target !== undefined, { message: 'a lookup column needs target' })
  .refine((c) => c.options === undefined || choiceColumnTypes.includes(c.type), {
    message: 'options belong to picklist, state, status and multiselectpicklist columns',
  })
  .refine(
    (c) => {
      const values = (c.options ?? []).map((o) => (typeof o === 'number' ? o : o.value));
      return new Set(values).size === values.length;
    },
    { message: 'option values must be unique' },
  );

type SeedOption = z.infer<typeof optionSchema>;

function toChoiceOption(option: SeedOption): ChoiceOption {
  return typeof option === 'number' ? { value: option, label: String(option) } : option;
}

/** An alternate key: its logical name and the logical names of its columns. */
const keySchema = z
  .object({
    name: z.string().regex(namePattern, 'lower-case logical name'),
    columns: z.array(z.string().regex(namePattern)).min(1),
  })
  .strict();

const tableSchema = z
  .object({
    logicalName: z.string().regex(namePattern, 'lower-case logical name'),
    schemaName: z.string().optional(),
    entitySetName: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/),
    primaryIdAttribute: z.string().regex(namePattern).optional(),
    primaryNameAttribute: z.string().regex(namePattern).optional(),
    changeTracking: z.boolean().default(true),
    /**
     * A custom activity table: primary key `activityid`, primary name `subject`, the activity
     * columns and `regardingobjectid` (contact) come with it; declare only its own columns.
     */
    isActivity: z.boolean().optional(),
    columns: z.array(columnSchema).default([]),
    keys: z.array(keySchema).optional(),
    /** Rows the generator creates at start (or on `generate`). */
    generate: z
      .object({
        count: z.number().int().nonnegative().optional(),
        /** Rows per row of the first lookup's target table (e.g. 0.5 per contact). */
        perParent: z.number().nonnegative().optional(),
      })
      .strict()
      .optional(),
    /** Literal rows, by logical column name (lookups by logical name too). */
    rows: z.array(z.record(z.string(), z.unknown())).default([]),
  })
  .strict();

const seedFileSchema = z
  .object({
    contact: z
      .object({
        changeTracking: z.boolean().default(true),
        keys: z.array(keySchema).optional(),
        /** Contact columns whose metadata says `IsValidForUpdate: false` (and whose writes are ignored). */
        readOnlyColumns: z.array(z.string().regex(namePattern)).default([]),
        count: z.number().int().nonnegative().optional(),
        rows: z.array(z.record(z.string(), z.unknown())).default([]),
      })
      .strict()
      .optional(),
    changeTrackingRetentionDays: z.number().int().min(0).max(365).optional(),
    tables: z.array(tableSchema).default([]),
    /**
     * Tables the application user's security role cannot read (logical names): every read of one
     * answers 403 with the missing privilege (`prvRead<Table>`), as Dataverse does. None by default.
     */
    unreadableTables: z.array(z.string().regex(namePattern)).optional(),
    /** Registered service endpoints (`GET serviceendpoints`, read-only): none by default. */
    serviceEndpoints: z
      .array(
        z
          .object({
            name: z.string().min(1),
            url: z.string().min(1),
            /** 8 = Webhook. */
            contract: z.number().int(),
            /** 4 = Webhook Key, 5 = Http Header, 6 = Http Query String. */
            authtype: z.number().int(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

export type SeedFile = z.infer<typeof seedFileSchema>;
export type SeedTable = z.infer<typeof tableSchema>;

/** Read a seed file (YAML or JSON, chosen by content) and validate it; errors name the file and path. */
export function readSeedFile(path: string): SeedFile {
  const text = readFileSync(path, 'utf8');
  return parseSeedFile(text, path);
}

export function parseSeedFile(text: string, source = 'seed file'): SeedFile {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new Error(`${source}: not valid YAML/JSON: ${(error as Error).message}`);
  }
  const result = seedFileSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${source}: ${issues.join('; ')}`);
  }
  validateReferences(result.data, source);
  return result.data;
}

function validateReferences(seed: SeedFile, source: string): void {
  const known = new Set(['contact', ...seed.tables.map((t) => t.logicalName)]);
  const contactColumns = new Set(contactTableSchema().columns.map((c) => c.logicalName));
  for (const key of seed.contact?.keys ?? []) {
    for (const column of key.columns) {
      if (!contactColumns.has(column))
        throw new Error(`${source}: contact key '${key.name}' names unknown column '${column}'`);
    }
  }
  for (const table of seed.tables) {
    if (table.logicalName === 'contact' || table.logicalName === activityPartyTable)
      throw new Error(`${source}: table '${table.logicalName}' is built in`);
    const columns = new Set([
      ...table.columns.map((c) => c.name),
      ...(table.isActivity
        ? activityColumns(table.logicalName).map((c) => c.logicalName)
        : [table.primaryNameAttribute ?? 'new_name']),
      'statecode',
      'statuscode',
    ]);
    for (const key of table.keys ?? []) {
      for (const column of key.columns) {
        if (!columns.has(column))
          throw new Error(
            `${source}: table '${table.logicalName}' key '${key.name}' names unknown column '${column}'`,
          );
      }
    }
    for (const column of table.columns) {
      if (column.type === 'lookup' && !known.has(column.target ?? '')) {
        throw new Error(
          `${source}: table '${table.logicalName}' column '${column.name}' looks up unknown table '${column.target}'`,
        );
      }
    }
  }
}

function metadataIdFor(logicalName: string): string {
  const hex = createHash('sha1').update(`table:${logicalName}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Turn a seed-file table into the emulator's schema (system columns, primary name column). */
export function toTableSchema(table: SeedTable): TableSchema {
  if (table.isActivity) return toActivityTableSchema(table);
  const primaryIdAttribute = table.primaryIdAttribute ?? `${table.logicalName}id`;
  const primaryNameAttribute = table.primaryNameAttribute ?? 'new_name';
  const own = ownColumns(table);
  if (!own.some((c) => c.logicalName === primaryNameAttribute)) {
    own.unshift({
      logicalName: primaryNameAttribute,
      schemaName: primaryNameAttribute,
      type: 'string',
      maxLength: 100,
    });
  }
  return {
    logicalName: table.logicalName,
    schemaName: table.schemaName ?? table.logicalName,
    entitySetName: table.entitySetName,
    primaryIdAttribute,
    primaryNameAttribute,
    changeTrackingEnabled: table.changeTracking,
    isCustomEntity: true,
    metadataId: metadataIdFor(table.logicalName),
    columns: [...systemColumns(primaryIdAttribute), ...own],
    keys: (table.keys ?? []).map((k) => ({ name: k.name, columns: [...k.columns] })),
  };
}

/** A custom activity table: the activity columns, then the table's own. */
function toActivityTableSchema(table: SeedTable): TableSchema {
  if (table.primaryIdAttribute !== undefined && table.primaryIdAttribute !== 'activityid')
    throw new Error(`table '${table.logicalName}': an activity table's primary key is activityid`);
  const inherited = activityColumns(table.logicalName);
  const own = ownColumns(table).filter((c) => !inherited.some((i) => i.logicalName === c.logicalName));
  return {
    logicalName: table.logicalName,
    schemaName: table.schemaName ?? table.logicalName,
    entitySetName: table.entitySetName,
    primaryIdAttribute: 'activityid',
    primaryNameAttribute: 'subject',
    changeTrackingEnabled: table.changeTracking,
    isCustomEntity: true,
    isActivity: true,
    metadataId: metadataIdFor(table.logicalName),
    columns: [...inherited, ...own],
    keys: (table.keys ?? []).map((k) => ({ name: k.name, columns: [...k.columns] })),
  };
}

function ownColumns(table: SeedTable): ColumnSchema[] {
  return table.columns.map((c) => ({
    logicalName: c.name,
    schemaName: c.schemaName ?? c.name,
    type: c.type,
    maxLength:
      c.type === 'string' ? (c.maxLength ?? 100) : c.type === 'memo' ? (c.maxLength ?? 2000) : undefined,
    defaultValue: c.default,
    target: c.target,
    navigationProperty: c.type === 'lookup' ? (c.navigationProperty ?? c.schemaName ?? c.name) : undefined,
    onDelete: c.type === 'lookup' ? (c.onDelete ?? 'removeLink') : undefined,
    options: c.options?.map(toChoiceOption),
    ...(c.type === 'boolean' ? { trueLabel: c.trueLabel ?? 'Yes', falseLabel: c.falseLabel ?? 'No' } : {}),
  }));
}

/** All table schemas a seed file declares, contact first. */
export function tableSchemasOf(seed: SeedFile | undefined): TableSchema[] {
  const contact = contactTableSchema(seed?.contact?.changeTracking ?? true, seed?.contact?.keys ?? []);
  const readOnly = new Set(seed?.contact?.readOnlyColumns ?? []);
  return [
    readOnly.size === 0
      ? contact
      : {
          ...contact,
          columns: contact.columns.map((column) =>
            readOnly.has(column.logicalName) ? { ...column, readOnly: true } : column,
          ),
        },
    ...(seed?.tables ?? []).map(toTableSchema),
    ...((seed?.tables ?? []).some((t) => t.isActivity) ? [activityPartyTableSchema()] : []),
  ];
}
