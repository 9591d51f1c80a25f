import { ConnectorError } from '../../core/errors.js';
import type { CampaignApi } from './campaign-api.js';
import type { CampaignResourceRoots } from './campaign-resource-roots.js';
import type {
  CampaignCallOptions,
  CampaignFieldMetadata,
  CampaignLinkMetadata,
  CampaignResourceMetadata,
  CampaignRoot,
} from './campaign-types.js';
import { isRecord } from '../../core/json.js';

/** What pre-flight checks read about resources: fields, types, identification key, links. */
export class CampaignMetadataReader {
  constructor(
    private readonly api: CampaignApi,
    private readonly roots: CampaignResourceRoots,
  ) {}

  /** Fields, types, identification key and links (cardinality, deletion) of a resource. */
  async describeResource(
    resource: string,
    options: CampaignCallOptions = {},
  ): Promise<CampaignResourceMetadata> {
    const root = await this.roots.rootOf(resource, options);
    const what = `GET resourceType ${resource}`;
    const body = this.api.bodyOf(
      await this.api.send('GET', `${this.api.base}/${root}/resourceType/${resource}`, 'read', what, options),
      what,
      resource,
      [200],
    );
    if (!isRecord(body) || !isRecord(body.content))
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_BAD_RESPONSE',
        `Campaign ${what} answered without content`,
      );
    return parseMetadata(resource, root, body);
  }

  /** Names of the resources a root serves (`GET /<root>/`). */
  listResources(root: CampaignRoot, options: CampaignCallOptions = {}): Promise<string[]> {
    return this.roots.listResources(root, options);
  }
}

function parseMetadata(
  resource: string,
  root: CampaignRoot,
  body: Record<string, unknown>,
): CampaignResourceMetadata {
  const fields: Record<string, CampaignFieldMetadata> = {};
  const links: Record<string, CampaignLinkMetadata> = {};
  const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  for (const [name, raw] of Object.entries(body.content as Record<string, unknown>)) {
    if (!isRecord(raw)) continue;
    if (raw.type === 'link') {
      links[name] = {
        target: str(raw.resTarget) ?? '',
        cardinality: str(raw.cardinality),
        onDelete: str(raw.onDelete),
        targetKey: str(raw.targetKey),
      };
      continue;
    }
    fields[name] = {
      type: str(raw.type) ?? 'string',
      resType: str(raw.resType) ?? str(raw.type) ?? 'string',
      length: typeof raw.length === 'number' ? raw.length : null,
      readOnly: raw.readOnly === true,
      isKey: raw.isKey === true,
      values: Array.isArray(raw.values)
        ? raw.values.map((v) => (isRecord(v) ? String(v.name) : String(v)))
        : null,
    };
  }
  const declared = Array.isArray(body.identificationKey) ? body.identificationKey.map(String) : null;
  return {
    name: str(body.name) ?? resource,
    label: str(body.label) ?? resource,
    schema: str(body.schema) ?? '',
    root,
    keyFields:
      declared ??
      Object.entries(fields)
        .filter(([, f]) => f.isKey)
        .map(([n]) => n),
    fields,
    links,
  };
}
