import type { CampaignApi } from './campaign-api.js';
import type { CampaignCallOptions, CampaignRoot } from './campaign-types.js';
import { isRecord } from '../../core/json.js';

export interface CampaignResourceRootsOptions {
  /**
   * Root of each custom resource, when known from config; others are looked up once in
   * `GET /profileAndServicesExt/` (present → Ext, absent → customResources).
   */
  resourceRoots?: Record<string, CampaignRoot> | undefined;
  /** Root used for profiles. @default 'profileAndServicesExt' (custom key and extensions live there) */
  profileRoot?: CampaignRoot | undefined;
}

/** Which REST root serves a resource: from config, else from one listing of the extension root. */
export class CampaignResourceRoots {
  private extResources: Promise<Set<string>> | null = null;

  constructor(
    private readonly api: CampaignApi,
    private readonly options: CampaignResourceRootsOptions,
  ) {}

  async rootOf(resource: string, options: CampaignCallOptions): Promise<CampaignRoot> {
    if (resource === 'profile') return this.options.profileRoot ?? 'profileAndServicesExt';
    const configured = this.options.resourceRoots?.[resource];
    if (configured) return configured;
    this.extResources ??= this.listResources('profileAndServicesExt', options).then(
      (names) => new Set(names),
      (error: unknown) => {
        this.extResources = null;
        throw error;
      },
    );
    return (await this.extResources).has(resource) ? 'profileAndServicesExt' : 'customResources';
  }

  /** Names of the resources a root serves (`GET /<root>/`). */
  async listResources(root: CampaignRoot, options: CampaignCallOptions = {}): Promise<string[]> {
    const what = `GET ${root}`;
    const body = this.api.bodyOf(
      await this.api.send('GET', `${this.api.base}/${root}/`, 'read', what, options),
      what,
      root,
      [200],
    );
    return isRecord(body) ? Object.keys(body) : [];
  }
}
