import type { Page, PageRequest } from '../../core/ports/state-store.js';

/**
 * What the operator surface shows about opt-outs (flow F4). Issue 7 implements it over its
 * decision ledger, SFTP ledger and SFTP reader; the server only reads through it. Every value is an
 * id, a flag, a count or a time: no personal data.
 */
export interface OptOutProvider {
  /** Decisions, newest first; `recordKey` narrows to one contact (exact Dynamics contact id). */
  listDecisions(filter: OptOutDecisionFilter, page: PageRequest): Promise<Page<OptOutDecisionView>>;
  /** Export files seen on the SFTP server or in the ledger, newest first. */
  listFiles(page: PageRequest): Promise<Page<SftpFileView>>;
  /** Space used on the Campaign SFTP server; null when it cannot be measured (no SFTP configured). */
  sftpUsage(): Promise<SftpUsageView | null>;
  /** When the last export file arrived, and whether that is too long ago. */
  freshness(): Promise<OptOutFreshnessView>;
}

export interface OptOutDecisionFilter {
  /** Exact record key (Dynamics contact id, lower case). */
  recordKey?: string | undefined;
}

/** Sides of an opt-out decision. */
export const optOutSides = ['dynamics', 'campaign'] as const;
export type OptOutSide = (typeof optOutSides)[number];

/** One resolution of an opt-out attribute (issue 7: the decision audit). */
export interface OptOutDecisionView {
  id: string;
  /** When the decision was taken (ms since epoch). */
  at: number;
  recordKey: string;
  /** Dynamics column, e.g. `donotemail`. */
  dynamicsColumn: string;
  /** Campaign attribute, e.g. `blackListEmail`. */
  campaignAttribute: string;
  dynamicsValue: boolean | null;
  campaignValue: boolean | null;
  /** Dynamics `modifiedon` (ms), when known. */
  dynamicsChangedAt: number | null;
  /** Campaign `blackList*LastModified` (ms), when known. */
  campaignChangedAt: number | null;
  /** The value written to both sides. */
  winner: boolean;
  /** Where the winning value came from. */
  winningSide: OptOutSide;
  /** Rule applied, e.g. `campaign-newer`, `true-wins`, `mode:dynamics-to-campaign`. */
  rule: string;
  /** What carried the change: the contact flow or an SFTP export file (file name). */
  source: string;
}

/** Processing states of an export file. */
export const sftpFileStates = [
  'waiting',
  'processing',
  'processed',
  'archived',
  'deleted',
  'failed',
] as const;
export type SftpFileState = (typeof sftpFileStates)[number];

export interface SftpFileView {
  /** File name (no directory). */
  name: string;
  sizeBytes: number;
  /** Modification time on the server (ms), when known. */
  modifiedAt: number | null;
  state: SftpFileState;
  /** Rows applied, when processed. */
  rows: number | null;
  /** Rows quarantined (malformed), when processed. */
  quarantined: number | null;
  processedAt: number | null;
}

export interface SftpUsageView {
  usedBytes: number;
  /** Licensed storage (`campaign.sftp.quotaBytes`); null when not configured. */
  quotaBytes: number | null;
  files: number;
  /** When the usage was measured (ms). */
  measuredAt: number;
}

export interface OptOutFreshnessView {
  /** Arrival of the newest export file (ms); null when none ever arrived. */
  lastFileAt: number | null;
  /** `flows.optOut.file.stalenessHours`. */
  stalenessHours: number;
  /** True when no file arrived within the staleness window. */
  stale: boolean;
}
