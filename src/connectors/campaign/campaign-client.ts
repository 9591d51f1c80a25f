import type { Clock } from '../../core/clock.js';
import { ConnectorError, SyncError } from '../../core/errors.js';
import type { AdobeAnswer, AdobeApiCaller } from '../adobe/adobe-api-caller.js';
import type { CallKind } from '../adobe/adobe-call-gate.js';
import { openAdobeConnection, type AdobeConnection } from '../adobe/adobe-connection.js';
import type { CallBudget } from './call-budget.js';
import { campaignErrorFromAnswer, isCampaignApplicationError } from './campaign-error.js';
import type {
  CampaignCallOptions,
  CampaignFieldMetadata,
  CampaignLinkMetadata,
  CampaignListOptions,
  CampaignPage,
  CampaignRecord,
  CampaignResourceMetadata,
  CampaignRoot,
  CampaignWriteAck,
  PrivacyToolRequestInput,
  PrivacyToolRequestState,
} from './campaign-types.js';
import type { ImsTokenProvider } from '../adobe/ims-token-provider.js';
import type { CallMetrics } from '../../core/ports/call-metrics.js';
import { isRecord } from '../../core/json.js';

export interface CampaignClientOptions {
  /** `https://mc.adobe.io/<organization>` (config `campaign.url`). */
  url: string;
  /** IMS base. @default 'https://ims-na1.adobelogin.com' */
  imsUrl?: string;
  clientId: string;
  clientSecret: string;
  /** PEM of a CA trusted for these connections only (config `caFile`, read by the loader). */
  caCert?: string | undefined;
  /** Scopes of the OAuth Server-to-Server credential. */
  scope?: string | undefined;
  /** Whole-request timeout. @default 30_000 */
  timeoutMs?: number;
  /** The shared pacing gate. Required: every call passes it. */
  budget: CallBudget;
  /** Share one token provider between clients of the same credential. @default one of its own */
  tokens?: ImsTokenProvider;
  /** Connections per origin. @default 32 */
  connections?: number;
  /**
   * Root of each custom resource, when known from config; others are looked up once in
   * `GET /profileAndServicesExt/` (present → Ext, absent → customResources).
   */
  resourceRoots?: Record<string, CampaignRoot>;
  /** Root used for profiles. @default 'profileAndServicesExt' (custom key and extensions live there) */
  profileRoot?: CampaignRoot;
  /**
   * How profiles are found by externalId: `customKey` = `GET …/profile/<externalId>` (needs the
   * key declared in Campaign); `filter` = the `byExternalId` custom filter. @default 'customKey'
   */
  profileLookup?: 'customKey' | 'filter';
  /** Filter and parameter used when `profileLookup` is `filter`. @default byExternalId / externalId_parameter */
  externalIdFilter?: { name: string; parameter: string };
  /** Per-call counts for `/metrics`. @default none */
  metrics?: CallMetrics | undefined;
  clock?: Clock;
}

/** Where `upsertByKey` ended up. */
export interface UpsertResult {
  pkey: string;
  created: boolean;
}

function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%40/g, '@');
}

function shortRef(ref: string): string {
  return ref.startsWith('@') && ref.length > 14 ? `${ref.slice(0, 12)}…` : ref;
}

/**
 * Production client of the Campaign Standard REST API: profiles by externalId, custom resources
 * with links, collections (following `next.href`), counts, metadata for pre-flight checks and the
 * privacy tool. Every call passes the shared {@link CallBudget}; failures are ConnectorErrors with
 * stable codes (see campaign-error.ts).
 */
export class CampaignClient {
  private readonly base: string;
  private readonly origin: string;
  private readonly connection: AdobeConnection;
  private readonly caller: AdobeApiCaller;
  private extResources: Promise<Set<string>> | null = null;

  constructor(private readonly options: CampaignClientOptions) {
    const url = new URL(options.url);
    this.base = `${options.url.replace(/\/+$/, '')}/campaign`;
    this.origin = url.origin;
    this.connection = openAdobeConnection({
      target: 'campaign',
      codePrefix: 'CAMPAIGN',
      imsUrl: options.imsUrl,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      scope: options.scope,
      caCert: options.caCert,
      tokens: options.tokens,
      timeoutMs: options.timeoutMs,
      connections: options.connections,
      gate: options.budget,
      isLoadNeutral: isCampaignApplicationError,
      metrics: options.metrics,
      clock: options.clock,
    });
    this.caller = this.connection.caller;
  }

  // ------------------------------------------------------------------ profiles

  /** The profile whose `externalId` is `externalId`, or null. */
  async findProfileByExternalId(
    externalId: string,
    options: CampaignCallOptions = {},
  ): Promise<CampaignRecord | null> {
    if ((this.options.profileLookup ?? 'customKey') === 'customKey')
      return this.findByKey('profile', externalId, options);
    const filter = this.options.externalIdFilter ?? {
      name: 'byExternalId',
      parameter: 'externalId_parameter',
    };
    const page = await this.listPage('profile', {
      ...options,
      filter: filter.name,
      params: { [filter.parameter]: externalId },
      lineCount: 2,
    });
    return page.content[0] ?? null;
  }

  /** Profiles whose email is `email` (`byEmail` filter). */
  async findProfilesByEmail(email: string, options: CampaignCallOptions = {}): Promise<CampaignRecord[]> {
    return this.collect('profile', { ...options, filter: 'byEmail', params: { email } });
  }

  getProfile(pkey: string, options: CampaignCallOptions = {}): Promise<CampaignRecord | null> {
    return this.getRecord('profile', pkey, options);
  }

  createProfile(fields: Record<string, unknown>, options: CampaignCallOptions = {}): Promise<CampaignRecord> {
    return this.createRecord('profile', fields, options);
  }

  updateProfile(
    pkey: string,
    fields: Record<string, unknown>,
    options: CampaignCallOptions = {},
  ): Promise<CampaignWriteAck> {
    return this.updateRecord('profile', pkey, fields, options);
  }

  deleteProfile(pkey: string, options: CampaignCallOptions = {}): Promise<void> {
    return this.deleteRecord('profile', pkey, options);
  }

  /** Create or update the profile keyed by `externalId` (see {@link upsertByKey}). */
  upsertProfileByExternalId(
    externalId: string,
    fields: Record<string, unknown>,
    options: CampaignCallOptions & { knownPKey?: string | undefined; expectNew?: boolean | undefined } = {},
  ): Promise<UpsertResult> {
    return this.upsertByKey('profile', 'externalId', externalId, fields, options);
  }

  // ------------------------------------------------------------------ any resource

  /** A record by PKey, or null when Campaign answers 404 (missing or hidden). */
  async getRecord(
    resource: string,
    pkey: string,
    options: CampaignCallOptions = {},
  ): Promise<CampaignRecord | null> {
    return this.getOne(resource, pkey, options);
  }

  /** A record by its identification-key value (`GET …/<resource>/<key>`), or null. */
  async findByKey(
    resource: string,
    keyValue: string,
    options: CampaignCallOptions = {},
  ): Promise<CampaignRecord | null> {
    if (keyValue === '' || keyValue.startsWith('@'))
      throw new RangeError('findByKey needs a non-empty key value that is not a PKey');
    return this.getOne(resource, keyValue, options);
  }

  /** `POST`: returns the created record as Campaign echoes it (201). */
  async createRecord(
    resource: string,
    fields: Record<string, unknown>,
    options: CampaignCallOptions = {},
  ): Promise<CampaignRecord> {
    const root = await this.rootOf(resource, options);
    const what = `POST ${resource}`;
    const answer = await this.send(
      'POST',
      `${this.base}/${root}/${resource}`,
      'insert',
      what,
      options,
      fields,
    );
    return this.recordOf(answer, what, resource, [201, 200]);
  }

  /** `PATCH` by PKey or identification-key value; returns `{PKey, href}`. */
  async updateRecord(
    resource: string,
    ref: string,
    fields: Record<string, unknown>,
    options: CampaignCallOptions = {},
  ): Promise<CampaignWriteAck> {
    const root = await this.rootOf(resource, options);
    const what = `PATCH ${resource} ${shortRef(ref)}`;
    const answer = await this.send(
      'PATCH',
      `${this.base}/${root}/${resource}/${encodeSegment(ref)}`,
      'update',
      what,
      options,
      fields,
    );
    const body = this.bodyOf(answer, what, resource, [200]);
    if (!isRecord(body) || typeof body.PKey !== 'string')
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_BAD_RESPONSE',
        `Campaign ${what} answered 200 without a PKey`,
        { retryable: true },
      );
    return { PKey: body.PKey, href: typeof body.href === 'string' ? body.href : '' };
  }

  /** `DELETE` by PKey or identification-key value. */
  async deleteRecord(resource: string, ref: string, options: CampaignCallOptions = {}): Promise<void> {
    const root = await this.rootOf(resource, options);
    const what = `DELETE ${resource} ${shortRef(ref)}`;
    const answer = await this.send(
      'DELETE',
      `${this.base}/${root}/${resource}/${encodeSegment(ref)}`,
      'delete',
      what,
      options,
    );
    this.bodyOf(answer, what, resource, [200, 204]);
  }

  /**
   * Create or update the record whose `keyField` holds `keyValue`, in as few calls as possible:
   * - `knownPKey` (from the key map): PATCH by PKey, 1 call;
   * - `expectNew` (the key map has no entry): POST, 1 call;
   * - otherwise PATCH by key, and POST on 404 (2 calls for a create).
   * A POST that meets a duplicate key (an earlier or concurrent create) turns into a PATCH by key,
   * so one key never gets a second record (I4). A hidden child fails with
   * `CAMPAIGN_HIDDEN_OR_MISSING`.
   */
  async upsertByKey(
    resource: string,
    keyField: string,
    keyValue: string,
    fields: Record<string, unknown>,
    options: CampaignCallOptions & { knownPKey?: string | undefined; expectNew?: boolean | undefined } = {},
  ): Promise<UpsertResult> {
    const { [keyField]: _ignored, ...changes } = fields;
    if (options.expectNew && !options.knownPKey)
      return this.createOrPatch(resource, keyValue, { ...changes, [keyField]: keyValue }, changes, options);
    if (options.knownPKey) {
      try {
        return {
          pkey: (await this.updateRecord(resource, options.knownPKey, changes, options)).PKey,
          created: false,
        };
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    try {
      return { pkey: (await this.updateRecord(resource, keyValue, changes, options)).PKey, created: false };
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    return this.createOrPatch(resource, keyValue, { ...changes, [keyField]: keyValue }, changes, options);
  }

  /** POST; on a duplicate key PATCH the existing record by key instead. */
  private async createOrPatch(
    resource: string,
    keyValue: string,
    record: Record<string, unknown>,
    changes: Record<string, unknown>,
    options: CampaignCallOptions,
  ): Promise<UpsertResult> {
    try {
      return { pkey: (await this.createRecord(resource, record, options)).PKey, created: true };
    } catch (error) {
      if (!(error instanceof SyncError) || error.code !== 'CAMPAIGN_DUPLICATE_KEY') throw error;
    }
    return { pkey: (await this.updateRecord(resource, keyValue, changes, options)).PKey, created: false };
  }

  /** One page of a collection (the first, or the one `nextHref` names). */
  async listPage(
    resource: string,
    options: CampaignListOptions & { nextHref?: string | null } = {},
  ): Promise<CampaignPage> {
    let url: string;
    if (options.nextHref) {
      url = this.checkHref(options.nextHref);
    } else {
      const root = await this.rootOf(resource, options);
      const params = new URLSearchParams(options.params);
      if (options.lineCount !== undefined) params.set('_lineCount', String(options.lineCount));
      if (options.order)
        params.set('_order', `${options.order.field}${options.order.descending ? ' desc' : ''}`);
      if (options.forcePagination) params.set('_forcePagination', 'true');
      const path = options.filter ? `${resource}/${options.filter}` : resource;
      const query = params.toString();
      url = `${this.base}/${root}/${path}${query ? `?${query}` : ''}`;
    }
    const what = `GET ${resource} list`;
    const body = this.bodyOf(await this.send('GET', url, 'read', what, options), what, resource, [200]);
    if (!isRecord(body) || !Array.isArray(body.content))
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_BAD_RESPONSE',
        `Campaign ${what} answered without content`,
        { retryable: true },
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

  /** `_count` over the same filters. */
  async count(resource: string, options: CampaignListOptions = {}): Promise<number> {
    const root = await this.rootOf(resource, options);
    const path = options.filter ? `${resource}/${options.filter}` : resource;
    const query = new URLSearchParams(options.params).toString();
    const what = `GET ${resource} count`;
    const url = `${this.base}/${root}/${path}/_count${query ? `?${query}` : ''}`;
    const body = this.bodyOf(await this.send('GET', url, 'read', what, options), what, resource, [200]);
    if (!isRecord(body) || typeof body.count !== 'number')
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_BAD_RESPONSE',
        `Campaign ${what} answered without a count`,
        { retryable: true },
      );
    return body.count;
  }

  /** Fields, types, identification key and links (cardinality, deletion) of a resource. */
  async describeResource(
    resource: string,
    options: CampaignCallOptions = {},
  ): Promise<CampaignResourceMetadata> {
    const root = await this.rootOf(resource, options);
    const what = `GET resourceType ${resource}`;
    const body = this.bodyOf(
      await this.send('GET', `${this.base}/${root}/resourceType/${resource}`, 'read', what, options),
      what,
      resource,
      [200],
    );
    if (!isRecord(body) || !isRecord(body.content))
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_BAD_RESPONSE',
        `Campaign ${what} answered without content`,
        { retryable: true },
      );
    return parseMetadata(resource, root, body);
  }

  /** Names of the resources a root serves (`GET /<root>/`). */
  async listResources(root: CampaignRoot, options: CampaignCallOptions = {}): Promise<string[]> {
    const what = `GET ${root}`;
    const body = this.bodyOf(
      await this.send('GET', `${this.base}/${root}/`, 'read', what, options),
      what,
      root,
      [200],
    );
    return isRecord(body) ? Object.keys(body) : [];
  }

  // ------------------------------------------------------------------ privacy tool

  async createPrivacyRequest(
    input: PrivacyToolRequestInput,
    options: CampaignCallOptions = {},
  ): Promise<PrivacyToolRequestState> {
    const what = `POST privacyTool ${input.name}`;
    const answer = await this.send('POST', `${this.base}/privacy/privacyTool`, 'insert', what, options, {
      ...input,
      label: input.label ?? input.name,
    });
    return toPrivacyState(this.bodyOf(answer, what, 'privacyTool', [200, 201]), what);
  }

  async getPrivacyRequest(
    pkey: string,
    options: CampaignCallOptions = {},
  ): Promise<PrivacyToolRequestState | null> {
    const what = `GET privacyTool ${shortRef(pkey)}`;
    const answer = await this.send(
      'GET',
      `${this.base}/privacy/privacyTool/${encodeSegment(pkey)}`,
      'read',
      what,
      options,
    );
    if (answer.status === 404) return null;
    return toPrivacyState(this.bodyOf(answer, what, 'privacyTool', [200]), what);
  }

  async listPrivacyRequests(options: CampaignCallOptions = {}): Promise<PrivacyToolRequestState[]> {
    const out: PrivacyToolRequestState[] = [];
    let url: string | null = `${this.base}/privacy/privacyTool?_lineCount=100`;
    while (url !== null) {
      const what = 'GET privacyTool list';
      const body = this.bodyOf(
        await this.send('GET', url, 'read', what, options),
        what,
        'privacyTool',
        [200],
      );
      if (!isRecord(body) || !Array.isArray(body.content)) break;
      for (const item of body.content) out.push(toPrivacyState(item, what));
      url = isRecord(body.next) && typeof body.next.href === 'string' ? this.checkHref(body.next.href) : null;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  // ------------------------------------------------------------------ internals

  private async getOne(
    resource: string,
    ref: string,
    options: CampaignCallOptions,
  ): Promise<CampaignRecord | null> {
    const root = await this.rootOf(resource, options);
    const what = `GET ${resource} ${shortRef(ref)}`;
    const answer = await this.send(
      'GET',
      `${this.base}/${root}/${resource}/${encodeSegment(ref)}`,
      'read',
      what,
      options,
    );
    if (answer.status === 404) return null;
    return this.recordOf(answer, what, resource, [200]);
  }

  private async collect(resource: string, options: CampaignListOptions): Promise<CampaignRecord[]> {
    const out: CampaignRecord[] = [];
    for await (const record of this.list(resource, options)) out.push(record);
    return out;
  }

  private send(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    kind: CallKind,
    what: string,
    options: CampaignCallOptions,
    body?: unknown,
  ): Promise<AdobeAnswer> {
    return this.caller.call({
      method,
      url,
      kind,
      what,
      lane: options.lane,
      signal: options.signal,
      ...(body === undefined ? {} : { body }),
    });
  }

  private bodyOf(answer: AdobeAnswer, what: string, resource: string, expected: number[]): unknown {
    if (!expected.includes(answer.status)) {
      const write = /^(PATCH|DELETE) /.test(what);
      throw campaignErrorFromAnswer(answer, what, write && resource !== 'profile');
    }
    if (answer.text.trim() === '') return null;
    try {
      return JSON.parse(answer.text) as unknown;
    } catch (error) {
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_BAD_RESPONSE',
        `Campaign ${what} answered ${answer.status} with a body that is not JSON`,
        {
          retryable: true,
          cause: error,
        },
      );
    }
  }

  private recordOf(answer: AdobeAnswer, what: string, resource: string, expected: number[]): CampaignRecord {
    const body = this.bodyOf(answer, what, resource, expected);
    if (!isRecord(body) || typeof body.PKey !== 'string')
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_BAD_RESPONSE',
        `Campaign ${what} answered without a PKey`,
        { retryable: true },
      );
    return body as CampaignRecord;
  }

  /** Campaign's hrefs are followed as given, but only on the configured origin (the token goes with them). */
  private checkHref(href: string): string {
    let origin: string;
    try {
      origin = new URL(href).origin;
    } catch {
      origin = '';
    }
    if (origin !== this.origin)
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_BAD_RESPONSE',
        `Campaign returned a link to another origin (${origin || 'invalid URL'}); not followed`,
      );
    return href;
  }

  private async rootOf(resource: string, options: CampaignCallOptions): Promise<CampaignRoot> {
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
}

function isMissing(error: unknown): boolean {
  return (
    error instanceof SyncError &&
    (error.code === 'CAMPAIGN_NOT_FOUND' || error.code === 'CAMPAIGN_HIDDEN_OR_MISSING')
  );
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

function toPrivacyState(body: unknown, what: string): PrivacyToolRequestState {
  if (!isRecord(body) || typeof body.PKey !== 'string' || typeof body.status !== 'string')
    throw new ConnectorError(
      'campaign',
      'CAMPAIGN_BAD_RESPONSE',
      `Campaign ${what} answered without PKey/status`,
      { retryable: true },
    );
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    PKey: body.PKey,
    name: s(body.name),
    type: s(body.type),
    status: body.status,
    namespaceName: s(body.namespaceName),
    regulation: s(body.regulation),
    created: s(body.created),
    lastModified: s(body.lastModified),
  };
}
