import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  buildProfileDefinition,
  serviceDefinition,
  campaignFieldTypes,
  customResourceSystemFields,
  linkCardinalities,
  linkDeletionBehaviours,
  type CustomFilterDefinition,
  type FieldDefinition,
  type ResourceDefinition,
} from './campaign-resource-model.js';
import { workflowDefinitionSchema, type WorkflowDefinition } from './campaign-workflow-model.js';

const fieldSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/),
    type: z.enum(campaignFieldTypes),
    label: z.string().optional(),
    length: z.number().int().positive().optional(),
    values: z.array(z.string()).nonempty().optional(),
  })
  .strict();

const linkSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/),
    target: z.string(),
    cardinality: z.enum(linkCardinalities),
    onDelete: z.enum(linkDeletionBehaviours).default('none'),
    label: z.string().optional(),
  })
  .strict();

const filterSchema = z
  .object({ name: z.string().regex(/^by[A-Z]/), field: z.string(), parameter: z.string().optional() })
  .strict();

const resourceSchema = z
  .object({
    name: z.string().regex(/^cus[A-Z][a-zA-Z0-9]*$/, 'custom resource names start with "cus" then a capital'),
    label: z.string().optional(),
    keyField: z.string().nullable().default(null),
    fields: z.array(fieldSchema).min(1),
    links: z.array(linkSchema).default([]),
    filters: z.array(filterSchema).default([]),
  })
  .strict();

const recordSchema = z.record(z.string(), z.unknown());

/** The emulator's seed file (YAML or JSON); documented in emulators/campaign/README.md. */
export const campaignSeedFileSchema = z
  .object({
    profile: z
      .object({
        customKey: z.string().nullable().default('externalId'),
        extraFields: z.array(fieldSchema).default([]),
        withoutFilters: z.array(z.enum(['byEmail', 'byText'])).default([]),
      })
      .strict()
      .default({ customKey: 'externalId', extraFields: [], withoutFilters: [] }),
    resources: z.array(resourceSchema).default([]),
    profiles: z
      .object({
        foreign: z.number().int().nonnegative().default(0),
        externalIds: z.array(z.string()).default([]),
        records: z.array(recordSchema).default([]),
      })
      .strict()
      .default({ foreign: 0, externalIds: [], records: [] }),
    records: z.record(z.string(), z.array(recordSchema)).default({}),
    /** Signal and import workflows (README "Workflows"); the opt-out export is not declared here. */
    workflows: z.array(workflowDefinitionSchema).default([]),
  })
  .strict();

export type CampaignSeedFile = z.output<typeof campaignSeedFileSchema>;
export type CampaignSeedInput = z.input<typeof campaignSeedFileSchema>;

/** The resource model and initial data a seed resolves to. */
export interface ResolvedCampaignSeed {
  resources: ResourceDefinition[];
  profiles: CampaignSeedFile['profiles'];
  records: CampaignSeedFile['records'];
  workflows: WorkflowDefinition[];
}

function toFieldDefinition(field: z.output<typeof fieldSchema>): FieldDefinition {
  const definition: FieldDefinition = {
    name: field.name,
    type: field.type,
    label: field.label ?? field.name,
  };
  if (field.type === 'string') definition.length = field.length ?? 255;
  if (field.values) definition.values = field.values;
  return definition;
}

function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** Validate a parsed seed and build the resource model; errors name the resource and field. */
export function resolveCampaignSeed(input: CampaignSeedInput | undefined): ResolvedCampaignSeed {
  const seed = campaignSeedFileSchema.parse(input ?? {});
  const profileExtra = seed.profile.extraFields.map(toFieldDefinition);
  const profile = buildProfileDefinition(seed.profile.customKey, profileExtra, seed.profile.withoutFilters);
  if (seed.profile.customKey !== null && !profile.fields.some((f) => f.name === seed.profile.customKey))
    throw new Error(`seed: profile.customKey "${seed.profile.customKey}" is not a profile field`);
  const names = new Set(['profile', ...seed.resources.map((r) => r.name)]);
  const resources: ResourceDefinition[] = [profile, serviceDefinition];
  for (const resource of seed.resources) {
    const fields = [...resource.fields.map(toFieldDefinition), ...customResourceSystemFields];
    const fieldNames = new Set(fields.map((f) => f.name));
    if (resource.keyField !== null && !fieldNames.has(resource.keyField))
      throw new Error(
        `seed: resource ${resource.name}: keyField "${resource.keyField}" is not one of its fields`,
      );
    for (const link of resource.links) {
      if (!names.has(link.target))
        throw new Error(
          `seed: resource ${resource.name}: link "${link.name}" targets unknown resource "${link.target}"`,
        );
      if (fieldNames.has(link.name))
        throw new Error(`seed: resource ${resource.name}: link "${link.name}" has the name of a field`);
    }
    const filters: CustomFilterDefinition[] = resource.filters.map((f) => {
      if (!fieldNames.has(f.field))
        throw new Error(`seed: resource ${resource.name}: filter ${f.name} uses unknown field "${f.field}"`);
      return {
        name: f.name,
        field: f.field,
        parameter: f.parameter ?? `${f.field}_parameter`,
        label: f.name,
      };
    });
    if (resource.keyField !== null && !filters.some((f) => f.field === resource.keyField)) {
      filters.push({
        name: `by${capitalize(resource.keyField)}`,
        field: resource.keyField,
        parameter: `${resource.keyField}_parameter`,
        label: `By ${resource.keyField}`,
      });
    }
    resources.push({
      name: resource.name,
      label: resource.label ?? resource.name,
      schema: `cus:${resource.name.slice(3, 4).toLowerCase()}${resource.name.slice(4)}`,
      fields,
      keyField: resource.keyField,
      links: resource.links.map((l) => ({ ...l, label: l.label ?? l.name })),
      filters,
    });
  }
  assertNoLinkCycle(resources);
  for (const name of Object.keys(seed.records)) {
    if (!names.has(name) || name === 'profile')
      throw new Error(`seed: records for unknown custom resource "${name}" (profiles go under "profiles")`);
  }
  return { resources, profiles: seed.profiles, records: seed.records, workflows: seed.workflows };
}

function assertNoLinkCycle(resources: readonly ResourceDefinition[]): void {
  const byName = new Map(resources.map((r) => [r.name, r]));
  const visit = (name: string, path: string[]): void => {
    if (path.includes(name)) throw new Error(`seed: link cycle ${[...path, name].join(' -> ')}`);
    for (const link of byName.get(name)?.links ?? []) visit(link.target, [...path, name]);
  };
  for (const resource of resources) visit(resource.name, []);
}

/** Read a seed file (`.yaml`, `.yml` or `.json`). */
export function loadCampaignSeedFile(path: string): CampaignSeedInput {
  const text = readFileSync(path, 'utf8');
  const parsed: unknown = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  return campaignSeedFileSchema.parse(parsed ?? {});
}
