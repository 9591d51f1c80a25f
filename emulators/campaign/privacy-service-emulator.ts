import { randomUUID } from 'node:crypto';
import type { CampaignPrivacyTool, PrivacyToolRequest } from './campaign-privacy-tool.js';
import { isRecord } from '../shared/is-record.js';

/** Regulations the job API accepts (privacy-jobs.md, June 2025 list plus the legacy `ccpa`). */
export const privacyRegulations = [
  'apa_aus',
  'ccpa',
  'cpa_usa',
  'cpra_usa',
  'ctdpa_usa',
  'fdbr_usa',
  'gdpr',
  'hipaa_usa',
  'icdpa_usa',
  'lgpd_bra',
  'mcdpa_usa',
  'mhmda_usa',
  'ndpa_usa',
  'nhpa_usa',
  'njdpa_usa',
  'nzpa_nzl',
  'ocpa_usa',
  'pdpa_tha',
  'tdpsa_usa',
  'ucpa_usa',
  'vcdpa_usa',
] as const;

export const privacyUserIdTypes = [
  'standard',
  'custom',
  'integrationCode',
  'namespaceId',
  'unregistered',
  'analytics',
  'target',
] as const;

export const privacyJobStatuses = ['submitted', 'processing', 'complete', 'error'] as const;
export type PrivacyJobStatus = (typeof privacyJobStatuses)[number];

export interface PrivacyServiceTiming {
  /** `submitted` → `processing` (Campaign privacy requests are created then). @default 30_000 */
  toProcessingMs: number;
}

export const defaultPrivacyServiceTiming: PrivacyServiceTiming = { toProcessingMs: 30_000 };

interface PrivacyUserId {
  namespace: string;
  value: string;
  type: string;
  isDeletedClientSide?: boolean;
}

export interface PrivacyJob {
  jobId: string;
  requestId: string;
  userKey: string;
  action: 'access' | 'delete';
  status: PrivacyJobStatus;
  submittedBy: string;
  created: number;
  lastModified: number;
  userIds: PrivacyUserId[];
  include: string[];
  regulation: string;
  /** Campaign privacy requests this job drives. */
  campaignRequests: PrivacyToolRequest[];
  productResponses: Array<Record<string, unknown>>;
  failWith?: string;
}

/** A 4xx answer of the job API. */
export interface PrivacyServiceError {
  status: number;
  body: Record<string, unknown>;
}

function formatJobDate(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const hours = d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12;
  return `${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${d.getUTCFullYear()} ${pad(hours)}:${pad(d.getUTCMinutes())} ${d.getUTCHours() < 12 ? 'AM' : 'PM'} GMT`;
}

/** Error envelope (Problem Detail inside the GDPR response model). */
export function privacyError(
  status: number,
  code: string,
  title: string,
  detail: string,
): PrivacyServiceError {
  return {
    status,
    body: {
      requestStatus: 0,
      errors: {
        errorCode: status,
        errorType: `https://ns.adobe.com/aep/errors/PRVCY-${code}`,
        title,
        detail,
      },
    },
  };
}

/**
 * Adobe Experience Platform Privacy Service, jobs endpoint: validates requests as documented,
 * creates one job per user per action, and drives Campaign's privacy tool for jobs that include
 * `campaign`, so a delete job really removes the profile (campaign-api.md §3).
 */
export class PrivacyServiceEmulator {
  private readonly jobs = new Map<string, PrivacyJob>();
  private failNext = 0;
  private sequence = 0;

  constructor(
    private readonly imsOrgId: string,
    private readonly privacyTool: CampaignPrivacyTool,
    private readonly now: () => number,
    private readonly timing: PrivacyServiceTiming,
  ) {}

  /** The next `count` jobs end in `error` instead of driving Campaign. */
  failNextJobs(count: number): void {
    this.failNext = count;
  }

  /** `POST /jobs`. */
  submit(
    body: unknown,
    submittedBy: string,
  ): { status: number; body: Record<string, unknown> } | PrivacyServiceError {
    const invalid = (detail: string) => privacyError(400, '1000-400', 'Formatting error', detail);
    if (!isRecord(body)) return invalid('the request body must be a JSON object');
    const contexts = body.companyContexts;
    if (!Array.isArray(contexts) || contexts.length === 0) return invalid('companyContexts is required');
    const org: unknown = (contexts as unknown[]).find(
      (c) => isRecord(c) && String(c.namespace).toLowerCase() === 'imsorgid',
    );
    if (!isRecord(org) || typeof org.value !== 'string')
      return invalid('companyContexts needs an imsOrgID entry');
    if (org.value !== this.imsOrgId)
      return privacyError(400, '1001-400', 'Not authorized', 'organization is not provisioned');
    const users = body.users;
    if (!Array.isArray(users) || users.length < 1 || users.length > 1000)
      return invalid('users must hold 1 to 1000 entries');
    const include = body.include;
    if (!Array.isArray(include) || include.length === 0 || !include.every((p) => typeof p === 'string'))
      return invalid('include must be a non-empty array of product names');
    const regulation = body.regulation;
    if (typeof regulation !== 'string' || !(privacyRegulations as readonly string[]).includes(regulation))
      return invalid('regulation is missing or not supported');
    for (const [index, user] of users.entries()) {
      if (!isRecord(user) || typeof user.key !== 'string' || user.key === '')
        return invalid(`users[${index}].key is required`);
      const actions = user.action;
      if (
        !Array.isArray(actions) ||
        actions.length === 0 ||
        !actions.every((a) => a === 'access' || a === 'delete')
      )
        return invalid(`users[${index}].action must list access and/or delete`);
      const ids = user.userIDs;
      if (!Array.isArray(ids) || ids.length < 1 || ids.length > 9)
        return invalid(`users[${index}].userIDs must hold 1 to 9 identities`);
      for (const [j, id] of ids.entries()) {
        if (
          !isRecord(id) ||
          typeof id.namespace !== 'string' ||
          typeof id.value !== 'string' ||
          id.value === ''
        )
          return invalid(`users[${index}].userIDs[${j}] needs namespace and value`);
        if (!(privacyUserIdTypes as readonly string[]).includes(String(id.type)))
          return invalid(`users[${index}].userIDs[${j}].type is not a known namespace qualifier`);
      }
    }
    const now = this.now();
    const created: Array<Record<string, unknown>> = [];
    for (const user of users as Array<Record<string, unknown>>) {
      for (const action of new Set(user.action as Array<'access' | 'delete'>)) {
        const job: PrivacyJob = {
          jobId: randomUUID(),
          requestId: `${now}${String(++this.sequence).padStart(5, '0')}RX-${this.sequence}`,
          userKey: String(user.key),
          action,
          status: 'submitted',
          submittedBy,
          created: now,
          lastModified: now,
          userIds: (user.userIDs as PrivacyUserId[]).map((id) => ({ ...id })),
          include,
          regulation,
          campaignRequests: [],
          productResponses: [],
        };
        if (this.failNext > 0) {
          this.failNext--;
          job.failWith = 'PRVCY-1024-400';
        }
        this.jobs.set(job.jobId, job);
        created.push({ jobId: job.jobId, customer: { user: { key: job.userKey, action: [action] } } });
      }
    }
    return { status: 200, body: { jobs: created, requestStatus: 1, totalRecords: created.length } };
  }

  allJobs(): PrivacyJob[] {
    return [...this.jobs.values()];
  }

  get(jobId: string): PrivacyJob | undefined {
    return this.jobs.get(jobId);
  }

  /** `GET /jobs?regulation=…&page=…&size=…&status=…&fromDate=…&toDate=…`. */
  list(query: URLSearchParams): { status: number; body: Record<string, unknown> } | PrivacyServiceError {
    const invalid = (detail: string) => privacyError(400, '1000-400', 'Formatting error', detail);
    const regulation = query.get('regulation');
    if (!regulation || !(privacyRegulations as readonly string[]).includes(regulation))
      return invalid('regulation is required');
    const size = Number(query.get('size') ?? '100');
    const page = Number(query.get('page') ?? '0');
    if (!Number.isInteger(size) || size < 1 || size > 1000) return invalid('size must be 1 to 1000');
    if (!Number.isInteger(page) || page < 0) return invalid('page must be 0 or more');
    const from = query.get('fromDate');
    const to = query.get('toDate');
    if ((from === null) !== (to === null)) return invalid('fromDate and toDate must be given together');
    const now = this.now();
    let start = now - 7 * 86_400_000;
    let end = now;
    if (from !== null && to !== null) {
      start = Date.parse(`${from}T00:00:00Z`);
      end = Date.parse(`${to}T23:59:59.999Z`);
      if (Number.isNaN(start) || Number.isNaN(end) || end < start)
        return invalid('fromDate/toDate must be YYYY-MM-DD, from before to');
      if (now - start > 45 * 86_400_000) return invalid('fromDate may look back at most 45 days');
      if (end - start > 30 * 86_400_000) return invalid('the date range may span at most 30 days');
    }
    const status = query.get('status');
    const matching = [...this.jobs.values()].filter(
      (j) =>
        j.regulation === regulation &&
        j.created >= start &&
        j.created <= end &&
        (status === null || j.status === status),
    );
    const jobs = matching.slice(page * size, page * size + size).map((j) => this.serialize(j));
    return {
      status: 200,
      body: {
        jobs,
        meta: { totalPages: Math.ceil(matching.length / size) },
        requestStatus: 1,
        totalRecords: matching.length,
      },
    };
  }

  clear(): void {
    this.jobs.clear();
    this.failNext = 0;
  }

  /** Move jobs forward in emulated time and create/observe their Campaign privacy requests. */
  advance(): void {
    const now = this.now();
    for (const job of this.jobs.values()) {
      if (job.status === 'submitted' && now >= job.created + this.timing.toProcessingMs)
        this.startProcessing(job);
      if (job.status === 'processing') this.observeCampaign(job);
    }
  }

  private startProcessing(job: PrivacyJob): void {
    job.status = 'processing';
    job.lastModified = job.created + this.timing.toProcessingMs;
    if (job.failWith) {
      job.status = 'error';
      job.productResponses = job.include.map((product) =>
        this.productResponse(product, 'error', job.failWith!, 'Unexpected error'),
      );
      return;
    }
    const others = job.include.filter((p) => p.toLowerCase() !== 'campaign');
    job.productResponses = others.map((product) =>
      this.productResponse(product, 'complete', 'PRVCY-6051-200', 'Not provisioned'),
    );
    if (others.length === job.include.length) {
      job.status = 'complete';
      return;
    }
    for (const id of job.userIds) {
      const namespace = this.privacyTool.namespaces.find(
        (n) =>
          n.privacyServiceNamespace.toLowerCase() === id.namespace.toLowerCase() ||
          String(n.namespaceId) === id.namespace,
      );
      if (!namespace) continue;
      job.campaignRequests.push(
        this.privacyTool.create(
          {
            name: `PS-${job.jobId}-${namespace.name}`,
            namespaceName: namespace.name,
            reconciliationValue: id.value,
            label: `Privacy Service job ${job.jobId}`,
            type: job.action,
            regulation: job.regulation,
          },
          job.lastModified,
        ),
      );
    }
    if (job.campaignRequests.length === 0) {
      job.productResponses.push(
        this.productResponse('campaign', 'complete', 'PRVCY-6053-200', 'Invalid namespace'),
      );
      job.status = 'complete';
    }
  }

  private observeCampaign(job: PrivacyJob): void {
    const done = job.campaignRequests.every(
      (r) => r.status === 'complete' || r.status === 'errorDataNotFound',
    );
    if (!done) return;
    const found = job.campaignRequests.some((r) => r.status === 'complete');
    job.productResponses.push(
      found
        ? this.productResponse('campaign', 'complete', 'PRVCY-6000-200', 'Finished successfully.')
        : this.productResponse('campaign', 'complete', 'PRVCY-6052-200', 'User IDs not found'),
    );
    job.status = 'complete';
    job.lastModified = Math.max(...job.campaignRequests.map((r) => r.lastModified));
  }

  private productResponse(
    product: string,
    status: string,
    code: string,
    detail: string,
  ): Record<string, unknown> {
    return {
      product,
      retryCount: 0,
      processedDate: formatJobDate(this.now()),
      productStatusResponse: {
        status,
        message: status === 'complete' ? 'Success' : 'Error',
        responseMsgCode: code,
        responseMsgDetail: detail,
      },
    };
  }

  /** A job as `GET /jobs/{jobId}` returns it. */
  serialize(job: PrivacyJob): Record<string, unknown> {
    const namespaceIdOf = (namespace: string) =>
      this.privacyTool.namespaces.find(
        (n) => n.privacyServiceNamespace.toLowerCase() === namespace.toLowerCase(),
      )?.namespaceId ?? null;
    return {
      jobId: job.jobId,
      requestId: job.requestId,
      userKey: job.userKey,
      action: job.action,
      status: job.status,
      submittedBy: job.submittedBy,
      createdDate: formatJobDate(job.created),
      lastModifiedDate: formatJobDate(job.lastModified),
      userIds: job.userIds.map((id) => ({
        namespace: id.namespace,
        value: id.value,
        type: id.type,
        namespaceId: namespaceIdOf(id.namespace),
        isDeletedClientSide: id.isDeletedClientSide ?? false,
      })),
      productResponses: job.productResponses,
      downloadURL:
        job.status === 'complete' && job.action === 'access'
          ? `https://emulator.invalid/privacy/${job.jobId}.zip`
          : '',
      regulation: job.regulation,
    };
  }
}
