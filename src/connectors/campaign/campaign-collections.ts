import { ConnectorError } from '../../core/errors.js';
import type { CampaignApi } from './campaign-api.js';
import type { CampaignResourceRoots } from './campaign-resource-roots.js';
import type { CampaignListOptions, CampaignPage, CampaignRecord } from './campaign-types.js';
import { isRecord } from '../../core/json.js';

/** Collections of a resource: pages (following Campaign's `next.href`, never built by us) and counts. */
export class CampaignCollections {
  constructor(
    private readonly api: CampaignApi,
    private readonly roots: CampaignResourceRoots,
  ) {}

  /** One page of a collection (the first, or the one `nextHref` names). */
  async listPage(
    resource: string,
    options: CampaignListOptions & { nextHref?: string | null } = {},
  ): Promise<CampaignPage> {
    let url: string;
    if (options.nextHref) {
      url = this.api.checkHref(options.nextHref);
    } else {
      const root = await this.roots.rootOf(resource, options);
      const params = new URLSearchParams(options.params);
      if (options.lineCount !== undefined) params.set('_lineCount', String(options.lineCount));
      if (options.order)
        params.set('_order', `${options.order.field}${options.order.descending ? ' desc' : ''}`);
      if (options.forcePagination) params.set('_forcePagination', 'true');
      const path = options.filter ? `${resource}/${options.filter}` : resource;
      const query = params.toString();
      url = `${this.api.base}/${root}/${path}${query ? `?${query}` : ''}`;
    }
    const what = `GET ${resource} list`;
    const body = this.api.bodyOf(
      await this.api.send('GET', url, 'read', what, options),
      what,
      resource,
      [200],
    );
    if (!isRecord(body) || !Array.isArray(body.content))
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_BAD_RESPONSE',
        `Campaign ${what} answered without content`,
      );
    const href = (node: unknown) => (isRecord(node) && typeof node.href === 'string' ? node.href : null);
    return {
      content: body.content as CampaignRecord[],
      nextHref: href(body.next),
      countHref: href(body.count),
    };
  }

  /** Every record of a collection, page after page, following `next.href`. */
  async *list(resource: string, options: CampaignListOptions = {}): AsyncGenerator<CampaignRecord> {
    let nextHref: string | null = null;
    do {
      const page: CampaignPage = await this.listPage(resource, { ...options, nextHref });
      yield* page.content;
      nextHref = page.nextHref;
    } while (nextHref !== null);
  }

  /** Every record of a collection, in one array (small collections only). */
  async collect(resource: string, options: CampaignListOptions = {}): Promise<CampaignRecord[]> {
    const out: CampaignRecord[] = [];
    for await (const record of this.list(resource, options)) out.push(record);
    return out;
  }

  /** `_count` over the same filters. */
  async count(resource: string, options: CampaignListOptions = {}): Promise<number> {
    const root = await this.roots.rootOf(resource, options);
    const path = options.filter ? `${resource}/${options.filter}` : resource;
    const query = new URLSearchParams(options.params).toString();
    const what = `GET ${resource} count`;
    const url = `${this.api.base}/${root}/${path}/_count${query ? `?${query}` : ''}`;
    const body = this.api.bodyOf(
      await this.api.send('GET', url, 'read', what, options),
      what,
      resource,
      [200],
    );
    if (!isRecord(body) || typeof body.count !== 'number')
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_BAD_RESPONSE',
        `Campaign ${what} answered without a count`,
      );
    return body.count;
  }
}
