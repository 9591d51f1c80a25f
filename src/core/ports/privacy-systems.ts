/**
 * What privacy orchestration (flow F5) needs from the two remote systems and from the Adobe
 * Privacy Service. The production clients satisfy these shapes (the Dynamics side through a thin
 * adapter); tests use the same clients against the emulators.
 */

/** Namespace qualifiers of a user identity (privacy-jobs.md appendix). */
export const privacyIdentityTypes = [
  'standard',
  'custom',
  'integrationCode',
  'namespaceId',
  'unregistered',
  'analytics',
  'target',
] as const;
export type PrivacyIdentityType = (typeof privacyIdentityTypes)[number];

/** One identity of the data subject as the Privacy Service takes it. */
export interface PrivacyJobIdentity {
  namespace: string;
  value: string;
  type: PrivacyIdentityType;
}

export interface PrivacyJobSubmission {
  /** Our reference for the subject (ids only). */
  userKey: string;
  identities: readonly PrivacyJobIdentity[];
  regulation: string;
}

/** A job as the orchestration reads it (no identity values). */
export interface PrivacyJobSummary {
  jobId: string;
  userKey: string;
  /** `submitted`, `processing`, `complete`, `error`. */
  status: string;
  productResponses: readonly { product: string; status: string; responseMsgCode: string }[];
}

export interface PrivacyJobService {
  /** `POST /jobs` with one delete job per subject. */
  submitDelete(requests: readonly PrivacyJobSubmission[]): Promise<{ jobId: string; userKey: string }[]>;
  /** A job, or null when the service does not know it. */
  getJob(jobId: string): Promise<PrivacyJobSummary | null>;
  /** One page of jobs of a regulation (dates `YYYY-MM-DD`, both or neither). */
  listJobs(query: {
    regulation: string;
    page?: number;
    size?: number;
    fromDate?: string;
    toDate?: string;
  }): Promise<{ jobs: PrivacyJobSummary[]; totalRecords: number }>;
}

/** A Campaign record: its PKey and fields (personal data — never logged or stored). */
export type PrivacyCampaignRecord = { PKey: string } & Record<string, unknown>;

export interface PrivacyCampaignReader {
  findProfileByExternalId(externalId: string): Promise<PrivacyCampaignRecord | null>;
  /** By PKey; null when missing. */
  getRecord(resource: string, pkey: string): Promise<PrivacyCampaignRecord | null>;
  /** By identification-key value; null when missing. */
  findByKey(resource: string, keyValue: string): Promise<PrivacyCampaignRecord | null>;
  describeResource(
    resource: string,
  ): Promise<{ links: Record<string, { target: string; onDelete: string | null }> }>;
}

/** A synced custom table whose rows hang off the contact (directly or through another table). */
export interface PrivacyLinkedTable {
  /** Flow id (`table:<logical name>`). */
  flow: string;
  /** Dynamics table logical name. */
  table: string;
  /** Campaign custom resource. */
  resource: string;
  /** Dynamics lookup column as read (`_new_contactid_value`). */
  lookup: string;
  /** Campaign link on the resource that the lookup becomes. */
  campaignLink: string;
  /** Flow of the parent (`contacts` or another custom table's flow). */
  parentFlow: string;
}

export interface PrivacyDynamicsTarget {
  /** The contact's columns, or null when it does not exist. */
  getContact(contactKey: string): Promise<Record<string, unknown> | null>;
  /** Delete the contact (`absent` when it was already gone). */
  deleteContact(contactKey: string): Promise<'deleted' | 'absent'>;
  /** `DeleteRecordChangeHistory` for the contact; returns the number of entries removed. */
  deleteContactHistory(contactKey: string): Promise<number>;
  /** Ids of the rows of `table` whose lookup holds `parentKey`. */
  findLinkedRows(table: PrivacyLinkedTable, parentKey: string): Promise<string[]>;
}
