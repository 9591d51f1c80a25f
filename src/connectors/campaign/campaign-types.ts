import type { BudgetLane } from '../../core/ports/call-budget.js';

/** The REST roots of Campaign Standard (campaign-api.md §2.1). */
export const campaignRoots = ['profileAndServices', 'profileAndServicesExt', 'customResources'] as const;
export type CampaignRoot = (typeof campaignRoots)[number];

/** A record as Campaign returns it: the opaque PKey plus fields and links (`{PKey, href}` objects). */
export type CampaignRecord = { PKey: string } & Record<string, unknown>;

/** What PATCH answers. */
export interface CampaignWriteAck {
  PKey: string;
  href: string;
}

/** A link value in a payload: by the target's PKey, or by its identification-key value. */
export type CampaignLinkValue = { PKey: string } | Record<string, string>;

/** Per-call options every client method takes. */
export interface CampaignCallOptions {
  /** Pacing lane. @default 'live' */
  lane?: BudgetLane | undefined;
  signal?: AbortSignal | undefined;
}

/** Options of a collection read. */
export interface CampaignListOptions extends CampaignCallOptions {
  /** A filter (`byEmail`, `byText`, `byExternalId`, …) and its parameters. */
  filter?: string | undefined;
  params?: Record<string, string> | undefined;
  /** Page size (`_lineCount`). @default 25 (server default) */
  lineCount?: number | undefined;
  /** `_order`: a field, with `desc` for descending. */
  order?: { field: string; descending?: boolean } | undefined;
  /** Needed to page through tables above XtkBigTableThreshold. @default false */
  forcePagination?: boolean | undefined;
}

/** One page of a collection. */
export interface CampaignPage {
  content: CampaignRecord[];
  /** Absolute `next.href` as Campaign gave it (never built by us), or null on the last page. */
  nextHref: string | null;
  countHref: string | null;
}

/** A field of a resource, from `resourceType` metadata. */
export interface CampaignFieldMetadata {
  type: string;
  resType: string;
  length: number | null;
  readOnly: boolean;
  isKey: boolean;
  /** Enumeration values (their `name`s). */
  values: string[] | null;
}

/** A link of a resource, from `resourceType` metadata. */
export interface CampaignLinkMetadata {
  target: string;
  /** `1` or `0..1` when the metadata says; null when it does not. */
  cardinality: string | null;
  /** `cascade` or `none` when the metadata says; null when it does not. */
  onDelete: string | null;
  /** Identification key of the target, when known (lets links be written by key). */
  targetKey: string | null;
}

/** What pre-flight checks read about a resource. */
export interface CampaignResourceMetadata {
  name: string;
  label: string;
  schema: string;
  root: CampaignRoot;
  keyFields: string[];
  fields: Record<string, CampaignFieldMetadata>;
  links: Record<string, CampaignLinkMetadata>;
}

/** Body of `POST /privacy/privacyTool`. */
export interface PrivacyToolRequestInput {
  /** Unique name of the request. */
  name: string;
  namespaceName: string;
  reconciliationValue: string;
  label?: string;
  type: 'access' | 'delete';
  regulation: string;
}

/** A privacy-tool request's state (`new`, `processing`, `complete`, `errorDataNotFound`, …). */
export interface PrivacyToolRequestState {
  PKey: string;
  name: string;
  type: string;
  status: string;
  namespaceName: string;
  regulation: string;
  created: string;
  lastModified: string;
}
