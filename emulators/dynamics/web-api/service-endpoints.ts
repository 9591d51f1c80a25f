import { createHash } from 'node:crypto';
import { propertyNotFoundError } from '../dataverse-error.js';
import { compileFilter, type FilterProperty } from '../odata/odata-filter.js';
import type { QueryOptions } from '../odata/odata-request.js';
import { apiPathPrefix, jsonResponse, type WebApiResponse } from './web-api-types.js';

/** A registered service endpoint (plug-in registration: webhook, Service Bus…), as seeded. */
export interface ServiceEndpointSeed {
  name: string;
  url: string;
  /** `contract`: 8 = Webhook (1 OneWay, 2 Queue, 3 Rest, 4 TwoWay, 5 Topic, 6 Queue (Persistent), 7 Event Hub…). */
  contract: number;
  /** `authtype`: 4 = Webhook Key, 5 = Http Header, 6 = Http Query String (1–3 Service Bus). */
  authtype: number;
}

type EndpointRow = ServiceEndpointSeed & { serviceendpointid: string };

/** The readable columns: `authvalue` is `IsValidForRead: false` in Dataverse, so it is never returned. */
const columns: Record<string, FilterProperty<EndpointRow>['kind']> = {
  serviceendpointid: 'guid',
  name: 'string',
  url: 'string',
  contract: 'number',
  authtype: 'number',
};

function idOf(endpoint: ServiceEndpointSeed, index: number): string {
  const hex = createHash('sha1').update(`serviceendpoint:${index}:${endpoint.name}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * `GET serviceendpoints`: the service endpoints registered in the organization, read-only and
 * minimal — `$select` and `$filter` over `serviceendpointid`, `name`, `url`, `contract` and
 * `authtype`; no paging (an organization has a handful), no writes, no change tracking.
 */
export class ServiceEndpointReader {
  private readonly rows: EndpointRow[];

  constructor(
    endpoints: readonly ServiceEndpointSeed[],
    private readonly origin: string,
  ) {
    this.rows = endpoints.map((endpoint, index) => ({
      ...endpoint,
      serviceendpointid: idOf(endpoint, index),
    }));
  }

  read(query: QueryOptions): WebApiResponse {
    const select = query.select ?? Object.keys(columns);
    for (const name of select) if (!(name in columns)) throw propertyNotFoundError(name, 'serviceendpoint');
    const predicate =
      query.filter !== undefined
        ? compileFilter<EndpointRow>(query.filter, (name) => {
            const kind = columns[name];
            if (kind === undefined) throw propertyNotFoundError(name, 'serviceendpoint');
            return { get: (row) => row[name as keyof EndpointRow], kind };
          })
        : () => true;
    const value = this.rows.filter(predicate).map((row) => {
      const projected: Record<string, unknown> = {};
      for (const name of select) projected[name] = row[name as keyof EndpointRow];
      if (!select.includes('serviceendpointid')) projected.serviceendpointid = row.serviceendpointid;
      return projected;
    });
    return jsonResponse(200, {
      '@odata.context': `${this.origin}${apiPathPrefix}$metadata#serviceendpoints(${query.selectText ?? ''})`,
      value,
    });
  }
}
