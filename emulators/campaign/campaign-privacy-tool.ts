import type { CampaignPKeyCodec } from './campaign-pkey-codec.js';
import type { CampaignRecordStore, StoredRecord } from './campaign-record-store.js';
import { campaignErrors, formatCampaignDateTime } from './campaign-wire-format.js';

/**
 * A privacy namespace of the Campaign instance: which profile field its reconciliation value is
 * matched against, and which Privacy Service namespace (and id) maps onto it.
 */
export interface PrivacyNamespace {
  name: string;
  title: string;
  reconciliationField: string;
  /** The `namespace` a Privacy Service job uses for this identity (e.g. `email`). */
  privacyServiceNamespace: string;
  namespaceId: number;
}

export const defaultPrivacyNamespaces: readonly PrivacyNamespace[] = [
  {
    name: 'defaultNamespace1',
    title: 'Email (defaultNamespace1)',
    reconciliationField: 'email',
    privacyServiceNamespace: 'email',
    namespaceId: 6,
  },
  {
    name: 'defaultNamespace2',
    title: 'Mobile phone (defaultNamespace2)',
    reconciliationField: 'mobilePhone',
    privacyServiceNamespace: 'phone',
    namespaceId: 7,
  },
  {
    name: 'crmExternalId',
    title: 'CRM id (crmExternalId)',
    reconciliationField: 'externalId',
    privacyServiceNamespace: 'crmId',
    namespaceId: 100001,
  },
];

/** How long (emulated ms after creation) a request takes to reach each state. */
export interface PrivacyToolTiming {
  /** `new` → `processing`. @default 60_000 */
  toProcessingMs: number;
  /** `new` → `complete` / `errorDataNotFound` (the delete happens then). @default 300_000 */
  toCompleteMs: number;
}

export const defaultPrivacyToolTiming: PrivacyToolTiming = { toProcessingMs: 60_000, toCompleteMs: 300_000 };

export const privacyToolStatuses = ['new', 'processing', 'complete', 'errorDataNotFound'] as const;
export type PrivacyToolStatus = (typeof privacyToolStatuses)[number];

export interface PrivacyToolRequest {
  id: number;
  pkey: string;
  name: string;
  namespace: PrivacyNamespace;
  reconciliationValue: string;
  label: string;
  type: 'access' | 'delete';
  regulation: string;
  status: PrivacyToolStatus;
  created: number;
  lastModified: number;
  /** What the request did when it completed. */
  outcome?: {
    profilesRemoved: string[];
    recordsRemoved: number;
    logEntriesRemoved: number;
    accessData?: string;
  };
}

function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * `/privacy/privacyTool`: requests move `new` → `processing` → `complete` (or `errorDataNotFound`)
 * over emulated time. A delete removes the matching profiles, their log entries and the custom
 * records linked with cascade — never unlinked resources (campaign-api.md §2.7).
 */
export class CampaignPrivacyTool {
  private readonly requests = new Map<number, PrivacyToolRequest>();
  private nextId = 1;

  constructor(
    private readonly store: CampaignRecordStore,
    private readonly codec: CampaignPKeyCodec,
    private readonly now: () => number,
    private readonly timing: PrivacyToolTiming,
    readonly namespaces: readonly PrivacyNamespace[],
  ) {}

  /**
   * Validate and create a request (`POST /privacy/privacyTool`). `createdAt` back-dates requests
   * the Privacy Service creates while catching up with emulated time.
   */
  create(body: Record<string, unknown>, createdAt?: number): PrivacyToolRequest {
    const text = (name: string): string => {
      const value = body[name];
      if (typeof value !== 'string' || value === '')
        throw campaignErrors.badRequest(`'${name}' is mandatory`);
      return value;
    };
    const name = text('name');
    const namespaceName = typeof body.namespaceName === 'string' ? body.namespaceName : text('namespace');
    const namespace = this.namespaces.find((n) => n.name === namespaceName);
    if (!namespace) throw campaignErrors.notFound('Namespace', 'privacyRequestNamespace', namespaceName);
    const type = text('type');
    if (type !== 'access' && type !== 'delete')
      throw campaignErrors.invalidEnum(type, 'gdpr:privacyRequest', 'type');
    const regulation = text('regulation').toLowerCase();
    if ([...this.requests.values()].some((r) => r.name === name))
      throw campaignErrors.duplicateKey('Privacy request', 'gdprprivacyrequest_name', 'sname', name);
    const now = createdAt ?? this.now();
    const id = this.nextId++;
    const request: PrivacyToolRequest = {
      id,
      pkey: this.codec.encodeRecord('privacyTool', id),
      name,
      namespace,
      reconciliationValue: text('reconciliationValue'),
      label: typeof body.label === 'string' ? body.label : name,
      type,
      regulation,
      status: 'new',
      created: now,
      lastModified: now,
    };
    this.requests.set(id, request);
    return request;
  }

  get(pkey: string): PrivacyToolRequest | undefined {
    const decoded = this.codec.decodeRecord(pkey);
    return decoded?.resource === 'privacyTool' ? this.requests.get(decoded.id) : undefined;
  }

  list(): PrivacyToolRequest[] {
    return [...this.requests.values()];
  }

  clear(): void {
    this.requests.clear();
  }

  /** Move every request whose time has come; returns how many changed state. */
  advance(): number {
    const now = this.now();
    let changed = 0;
    for (const request of this.requests.values()) {
      if (request.status === 'complete' || request.status === 'errorDataNotFound') continue;
      if (now >= request.created + this.timing.toCompleteMs) {
        this.complete(request, request.created + this.timing.toCompleteMs);
        changed++;
      } else if (request.status === 'new' && now >= request.created + this.timing.toProcessingMs) {
        request.status = 'processing';
        request.lastModified = request.created + this.timing.toProcessingMs;
        changed++;
      }
    }
    return changed;
  }

  private matchingProfiles(request: PrivacyToolRequest): StoredRecord[] {
    const field = request.namespace.reconciliationField;
    const wanted =
      field === 'email' ? request.reconciliationValue.toLowerCase() : request.reconciliationValue;
    const out: StoredRecord[] = [];
    for (const profile of this.store.all('profile')) {
      const value = String(profile.values[field] ?? '');
      if ((field === 'email' ? value.toLowerCase() : value) === wanted) out.push(profile);
    }
    return out;
  }

  private complete(request: PrivacyToolRequest, at: number): void {
    const profiles = this.matchingProfiles(request);
    request.lastModified = at;
    if (profiles.length === 0) {
      request.status = 'errorDataNotFound';
      request.outcome = { profilesRemoved: [], recordsRemoved: 0, logEntriesRemoved: 0 };
      return;
    }
    request.status = 'complete';
    if (request.type === 'access') {
      const rows = profiles
        .map(
          (p) =>
            `<nms:recipient id="${escapeXml(p.pkey)}" email="${escapeXml(String(p.values.email))}" logs="${this.store.countLogs(p.id)}"/>`,
        )
        .join('');
      request.outcome = {
        profilesRemoved: [],
        recordsRemoved: 0,
        logEntriesRemoved: 0,
        accessData: `<gdprRequestData name="${escapeXml(request.name)}">${rows}<nms:broadLogRcp/><nms:trackingLogRcp/></gdprRequestData>`,
      };
      return;
    }
    const outcome = { profilesRemoved: [] as string[], recordsRemoved: 0, logEntriesRemoved: 0 };
    for (const profile of profiles) {
      const report = this.store.remove(profile, { privacy: true });
      outcome.profilesRemoved.push(profile.pkey);
      outcome.recordsRemoved += report.removed.length - 1;
      outcome.logEntriesRemoved += report.logEntriesRemoved;
    }
    request.outcome = outcome;
  }

  /** The request as the API returns it. */
  serialize(request: PrivacyToolRequest, base: string): Record<string, unknown> {
    const href = `${base}/privacy/privacyTool/${request.pkey}`;
    return {
      PKey: request.pkey,
      audit: '',
      created: formatCampaignDateTime(request.created),
      desc: '',
      gdprRequestData: { href: `${href}/gdprRequestData/` },
      href,
      label: request.label,
      lastModified: formatCampaignDateTime(request.lastModified),
      name: request.name,
      namespace: {
        PKey: this.codec.encodeRecord('privacyNamespace', request.namespace.namespaceId),
        title: request.namespace.title,
      },
      namespaceName: request.namespace.name,
      reconciliationValue: request.reconciliationValue,
      regulation: request.regulation,
      retryCount: 0,
      status: request.status,
      title: `${request.label} (${request.name})`,
      type: request.type,
    };
  }
}
