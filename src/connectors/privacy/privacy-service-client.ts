import type { Clock } from '../../core/clock.js';
import { ConnectorError, RateLimitedError } from '../../core/errors.js';
import type { AdobeAnswer, AdobeApiCaller } from '../adobe/adobe-api-caller.js';
import { openAdobeConnection, type AdobeConnection } from '../adobe/adobe-connection.js';
import type { ImsTokenProvider } from '../adobe/ims-token-provider.js';
import type { CallMetrics } from '../../core/ports/call-metrics.js';
import { isRecord } from '../../core/json.js';

import type { PrivacyIdentityType } from '../../core/ports/privacy-systems.js';

export const privacyJobActions = ['access', 'delete'] as const;
export type PrivacyJobAction = (typeof privacyJobActions)[number];

/** One identity of a data subject. */
export interface PrivacyIdentity {
  namespace: string;
  value: string;
  /** @default 'standard' */
  type?: PrivacyIdentityType;
}

/** How logical identities map to Privacy Service namespaces (config). */
export type PrivacyNamespaceMap = Record<string, { namespace: string; type: PrivacyIdentityType }>;

/** Default: e-mail as the standard `email` namespace, the Dynamics id as custom namespace `crmId`. */
export const defaultPrivacyNamespaces: PrivacyNamespaceMap = {
  email: { namespace: 'email', type: 'standard' },
  externalId: { namespace: 'crmId', type: 'custom' },
};

export interface PrivacyServiceClientOptions {
  /** Jobs API base. @default 'https://platform.adobe.io/data/core/privacy' */
  url?: string;
  /** IMS organization (`x-gw-ims-org-id`, and the `imsOrgID` company context). */
  imsOrgId: string;
  /** @default 'https://ims-na1.adobelogin.com' */
  imsUrl?: string;
  clientId: string;
  clientSecret: string;
  caCert?: string | undefined;
  scope?: string | undefined;
  /** Share the Campaign client's token provider when the credential is the same. */
  tokens?: ImsTokenProvider;
  /** @default 30_000 */
  timeoutMs?: number;
  /** Products the jobs include. @default ['campaign'] */
  products?: readonly string[];
  /** Extra company contexts (product qualifiers such as the Campaign tenant). @default [] */
  companyContexts?: ReadonlyArray<{ namespace: string; value: string }>;
  /** Logical identity kinds → namespaces. @default {@link defaultPrivacyNamespaces} */
  namespaces?: PrivacyNamespaceMap;
  /** Per-call counts for `/metrics`. @default none */
  metrics?: CallMetrics | undefined;
  clock?: Clock;
}

/** A job the service created: one per user per action. */
export interface PrivacyJobRef {
  jobId: string;
  userKey: string;
  action: string;
}

export const privacyJobStatuses = ['submitted', 'processing', 'complete', 'error'] as const;
export type PrivacyJobStatus = (typeof privacyJobStatuses)[number];

/** A product's answer inside a job. */
export interface PrivacyProductResponse {
  product: string;
  status: string;
  responseMsgCode: string;
  responseMsgDetail: string;
}

/** `GET /jobs/{jobId}` (the fields the orchestration reads; no identity values). */
export interface PrivacyJobState {
  jobId: string;
  userKey: string;
  action: string;
  /** One of {@link privacyJobStatuses} (kept as text: the service may add states). */
  status: string;
  regulation: string;
  createdDate: string;
  lastModifiedDate: string;
  productResponses: PrivacyProductResponse[];
}

/** What to submit for one data subject. */
export interface PrivacyJobRequest {
  /** Our own reference for the subject (ids only, e.g. the privacy request id). */
  userKey: string;
  /** Identities, raw or by logical kind (`{ email: '…', externalId: '…' }`). */
  identities: readonly PrivacyIdentity[] | Record<string, string>;
  regulation: string;
}

/**
 * Client of the Adobe Experience Platform Privacy Service jobs API: submits access/delete jobs for
 * Campaign and reads their status. The service forbids load and has its own daily limit, so its
 * calls do not pass the Campaign call budget.
 */
export class PrivacyServiceClient {
  private readonly url: string;
  private readonly connection: AdobeConnection;
  private readonly caller: AdobeApiCaller;

  constructor(private readonly options: PrivacyServiceClientOptions) {
    this.url = (options.url ?? 'https://platform.adobe.io/data/core/privacy').replace(/\/+$/, '');
    this.connection = openAdobeConnection({
      target: 'privacy',
      imsUrl: options.imsUrl,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      scope: options.scope,
      caCert: options.caCert,
      tokens: options.tokens,
      timeoutMs: options.timeoutMs,
      connections: 4,
      headers: { 'x-gw-ims-org-id': options.imsOrgId },
      metrics: options.metrics,
      clock: options.clock,
    });
    this.caller = this.connection.caller;
  }

  /** Submit one delete job per subject. */
  submitDelete(requests: readonly PrivacyJobRequest[], signal?: AbortSignal): Promise<PrivacyJobRef[]> {
    return this.submit(['delete'], requests, signal);
  }

  /** Submit one access job per subject. */
  submitAccess(requests: readonly PrivacyJobRequest[], signal?: AbortSignal): Promise<PrivacyJobRef[]> {
    return this.submit(['access'], requests, signal);
  }

  /** `POST /jobs`: 1–1000 subjects sharing one regulation; access and delete may be combined. */
  async submit(
    actions: readonly PrivacyJobAction[],
    requests: readonly PrivacyJobRequest[],
    signal?: AbortSignal,
  ): Promise<PrivacyJobRef[]> {
    if (requests.length < 1 || requests.length > 1000)
      throw new RangeError('a privacy job request holds 1 to 1000 subjects');
    const regulations = new Set(requests.map((r) => r.regulation));
    if (regulations.size !== 1)
      throw new RangeError('all subjects of one privacy job request need the same regulation');
    const users = requests.map((request) => {
      const userIDs = this.identitiesOf(request);
      if (userIDs.length < 1 || userIDs.length > 9)
        throw new RangeError(`privacy subject ${request.userKey}: 1 to 9 identities are allowed`);
      return { key: request.userKey, action: [...actions], userIDs };
    });
    const body = {
      companyContexts: [
        { namespace: 'imsOrgID', value: this.options.imsOrgId },
        ...(this.options.companyContexts ?? []),
      ],
      users,
      include: [...(this.options.products ?? ['campaign'])],
      regulation: [...regulations][0],
    };
    const what = `POST jobs (${users.length} subjects)`;
    const answer = await this.caller.call({
      method: 'POST',
      url: `${this.url}/jobs`,
      body,
      kind: 'insert',
      what,
      signal,
    });
    const parsed = this.bodyOf(answer, what, [200, 201]);
    if (!isRecord(parsed) || !Array.isArray(parsed.jobs))
      throw new ConnectorError(
        'privacy',
        'PRIVACY_BAD_RESPONSE',
        `Privacy Service ${what} answered without jobs`,
      );
    return parsed.jobs.flatMap((job): PrivacyJobRef[] => {
      if (!isRecord(job) || typeof job.jobId !== 'string') return [];
      const user = isRecord(job.customer) && isRecord(job.customer.user) ? job.customer.user : {};
      const action = Array.isArray(user.action) ? String(user.action[0]) : '';
      return [{ jobId: job.jobId, userKey: typeof user.key === 'string' ? user.key : '', action }];
    });
  }

  /** A job's status, or null when the service does not know the id (or no longer keeps it). */
  async getJob(jobId: string, signal?: AbortSignal): Promise<PrivacyJobState | null> {
    const what = `GET jobs/${jobId}`;
    const answer = await this.caller.call({
      method: 'GET',
      url: `${this.url}/jobs/${encodeURIComponent(jobId)}`,
      kind: 'read',
      what,
      signal,
    });
    if (answer.status === 404) return null;
    return toJobState(this.bodyOf(answer, what, [200]), what);
  }

  /** `GET /jobs?regulation=…` (one page). */
  async listJobs(
    query: {
      regulation: string;
      status?: string;
      page?: number;
      size?: number;
      fromDate?: string;
      toDate?: string;
    },
    signal?: AbortSignal,
  ): Promise<{ jobs: PrivacyJobState[]; totalRecords: number }> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query))
      if (value !== undefined) params.set(name, String(value));
    const what = 'GET jobs list';
    const body = this.bodyOf(
      await this.caller.call({
        method: 'GET',
        url: `${this.url}/jobs?${params.toString()}`,
        kind: 'read',
        what,
        signal,
      }),
      what,
      [200],
    );
    if (!isRecord(body) || !Array.isArray(body.jobs))
      throw new ConnectorError(
        'privacy',
        'PRIVACY_BAD_RESPONSE',
        `Privacy Service ${what} answered without jobs`,
      );
    return {
      jobs: body.jobs.map((job) => toJobState(job, what)),
      totalRecords: typeof body.totalRecords === 'number' ? body.totalRecords : body.jobs.length,
    };
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  private identitiesOf(request: PrivacyJobRequest): Array<Required<PrivacyIdentity>> {
    if (Array.isArray(request.identities))
      return (request.identities as readonly PrivacyIdentity[]).map((id) => ({
        namespace: id.namespace,
        value: id.value,
        type: id.type ?? 'standard',
      }));
    const map = this.options.namespaces ?? defaultPrivacyNamespaces;
    return Object.entries(request.identities as Record<string, string>).map(([kind, value]) => {
      const mapping = map[kind];
      if (!mapping) throw new RangeError(`privacy identity kind "${kind}" has no namespace configured`);
      return { namespace: mapping.namespace, value, type: mapping.type };
    });
  }

  private bodyOf(answer: AdobeAnswer, what: string, expected: number[]): unknown {
    if (!expected.includes(answer.status)) throw privacyErrorFromAnswer(answer, what);
    try {
      return JSON.parse(answer.text) as unknown;
    } catch (error) {
      throw new ConnectorError(
        'privacy',
        'PRIVACY_BAD_RESPONSE',
        `Privacy Service ${what} answered ${answer.status} with a body that is not JSON`,
        {
          cause: error,
        },
      );
    }
  }
}

/** Typed error for a non-2xx answer; titles and codes only (details may echo identities). */
export function privacyErrorFromAnswer(answer: AdobeAnswer, what: string): ConnectorError {
  let title = '';
  let code = '';
  try {
    const body: unknown = JSON.parse(answer.text);
    const errors = !isRecord(body)
      ? null
      : isRecord(body.errors)
        ? body.errors
        : isRecord(body.error)
          ? body.error
          : null;
    if (errors) {
      title = typeof errors.title === 'string' ? errors.title : '';
      const typeText =
        typeof errors.errorType === 'string'
          ? errors.errorType
          : typeof errors.code === 'string'
            ? errors.code
            : '';
      code = /PRVCY-[\d-]+|\b\d{4}-\d{3}\b/.exec(typeText)?.[0] ?? '';
    } else if (isRecord(body) && (typeof body.error_code === 'string' || typeof body.error_code === 'number'))
      code = String(body.error_code);
  } catch {
    // Not JSON: the status says enough.
  }
  const base = `Privacy Service ${what} answered HTTP ${answer.status}${code ? ` (${code})` : ''}${title ? `: ${title}` : ''}`;
  const status = answer.status;
  if (status === 429 || code.includes('1030-400')) {
    const { retryAfterMs } = answer;
    return new RateLimitedError('privacy', base, {
      code: 'PRIVACY_RATE_LIMITED',
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status === 401 || status === 403 || code.includes('1001-400') || code.includes('1010-400'))
    return new ConnectorError(
      'privacy',
      'PRIVACY_AUTH',
      `${base}; check the credential, its Privacy Service permissions and the IMS org`,
      { status },
    );
  if (status === 404) return new ConnectorError('privacy', 'PRIVACY_NOT_FOUND', base, { status });
  if (status >= 500) return new ConnectorError('privacy', `PRIVACY_HTTP_${status}`, base, { status });
  return new ConnectorError('privacy', 'PRIVACY_INVALID_REQUEST', base, { status });
}

function toJobState(body: unknown, what: string): PrivacyJobState {
  if (!isRecord(body) || typeof body.jobId !== 'string' || typeof body.status !== 'string')
    throw new ConnectorError(
      'privacy',
      'PRIVACY_BAD_RESPONSE',
      `Privacy Service ${what} answered without jobId/status`,
    );
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  const responses = Array.isArray(body.productResponses) ? body.productResponses : [];
  return {
    jobId: body.jobId,
    userKey: s(body.userKey),
    action: s(body.action),
    status: body.status,
    regulation: s(body.regulation),
    createdDate: s(body.createdDate),
    lastModifiedDate: s(body.lastModifiedDate),
    productResponses: responses.filter(isRecord).map((r) => {
      const status = isRecord(r.productStatusResponse) ? r.productStatusResponse : {};
      return {
        product: s(r.product),
        status: s(status.status),
        responseMsgCode: s(status.responseMsgCode),
        responseMsgDetail: s(status.responseMsgDetail),
      };
    }),
  };
}
