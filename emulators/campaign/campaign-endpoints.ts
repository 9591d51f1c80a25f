import type { CampaignRecordStore, StoredRecord } from './campaign-record-store.js';
import {
  builtInResourceNames,
  profileBuiltInFieldNames,
  type FieldDefinition,
} from './campaign-resource-model.js';

/** The REST roots that serve resources. */
export const resourceEndpoints = ['profileAndServices', 'profileAndServicesExt', 'customResources'] as const;
export type ResourceEndpoint = (typeof resourceEndpoints)[number];

export function isResourceEndpoint(value: string): value is ResourceEndpoint {
  return (resourceEndpoints as readonly string[]).includes(value);
}

/**
 * Which root serves a resource: the profile under both profile roots; custom resources linked to
 * profile (directly or through another resource) under `profileAndServicesExt`; the service under
 * both profile roots; the others under
 * `customResources` (campaign-api.md §2.1).
 */
export function isServedBy(
  store: CampaignRecordStore,
  endpoint: ResourceEndpoint,
  resource: string,
): boolean {
  if (!store.definition(resource)) return false;
  if (builtInResourceNames.has(resource)) return endpoint !== 'customResources';
  if (endpoint === 'profileAndServices') return false;
  return store.isProfileLinked(resource) === (endpoint === 'profileAndServicesExt');
}

/** The root a record's href uses (Ext for the profile, so extension fields stay visible). */
export function homeEndpointOf(store: CampaignRecordStore, resource: string): ResourceEndpoint {
  return store.isProfileLinked(resource) ? 'profileAndServicesExt' : 'customResources';
}

/** Fields a root exposes for a resource: `profileAndServices` hides profile extensions. */
export function exposedFieldsOf(
  store: CampaignRecordStore,
  endpoint: ResourceEndpoint,
  resource: string,
): FieldDefinition[] {
  const fields = store.definition(resource)?.fields ?? [];
  if (resource === 'profile' && endpoint === 'profileAndServices')
    return fields.filter((f) => profileBuiltInFieldNames.has(f.name));
  return [...fields];
}

/** The custom key is honoured in URLs only under the Ext and customResources roots (§2.4). */
export function acceptsCustomKey(endpoint: ResourceEndpoint): boolean {
  return endpoint !== 'profileAndServices';
}

function ageOn(birthDate: string, now: number): number {
  if (birthDate === '') return 0;
  const born = new Date(`${birthDate}T00:00:00Z`);
  const today = new Date(now);
  let age = today.getUTCFullYear() - born.getUTCFullYear();
  const beforeBirthday =
    today.getUTCMonth() < born.getUTCMonth() ||
    (today.getUTCMonth() === born.getUTCMonth() && today.getUTCDate() < born.getUTCDate());
  if (beforeBirthday) age--;
  return Math.max(0, age);
}

/** A record as the API returns it: PKey, the exposed fields, then links as `{PKey, href}` (or `{}`). */
export function serializeRecord(
  store: CampaignRecordStore,
  record: StoredRecord,
  endpoint: ResourceEndpoint,
  base: string,
  now: number,
  withHref = false,
): Record<string, unknown> {
  const out: Record<string, unknown> = { PKey: record.pkey };
  for (const field of exposedFieldsOf(store, endpoint, record.resource)) {
    out[field.name] =
      field.name === 'age' ? ageOn(String(record.values.birthDate ?? ''), now) : record.values[field.name];
  }
  const definition = store.definition(record.resource);
  for (const link of definition?.links ?? []) {
    const parent = store.resolveLink(link, record.links[link.name] ?? null);
    out[link.name] =
      parent && store.isVisible(parent) ? { PKey: parent.pkey, href: recordHref(store, base, parent) } : {};
  }
  if (withHref) out.href = `${base}/${endpoint}/${record.resource}/${record.pkey}`;
  return out;
}

export function recordHref(store: CampaignRecordStore, base: string, record: StoredRecord): string {
  return `${base}/${homeEndpointOf(store, record.resource)}/${record.resource}/${record.pkey}`;
}
