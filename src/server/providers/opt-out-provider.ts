import type { Page, PageRequest } from '../../core/ports/state-store.js';
import type {
  OptOutDecisionView,
  OptOutFileProblemView,
  OptOutFileView,
  OptOutUsageView,
} from '../../engine/opt-out/opt-out-provider.js';

/**
 * What the operator surface shows about opt-outs (flow F4). Issue 7 implements it over its
 * decision ledger, SFTP ledger and SFTP reader; the server only reads through it. Every value is an
 * id, a flag, a count or a time: no personal data.
 */
export interface OptOutProvider {
  /** Decisions, newest first; `recordKey` narrows to one contact (exact Dynamics contact id). */
  listDecisions(filter: OptOutDecisionFilter, page: PageRequest): Promise<Page<OptOutDecisionView>>;
  /** Export files seen on the SFTP server or in the ledger, newest first. */
  listFiles(page: PageRequest): Promise<Page<OptOutFileView>>;
  /** Space used on the Campaign SFTP server; null when it cannot be measured (no SFTP configured). */
  sftpUsage(): Promise<OptOutUsageView | null>;
  /** When the last export file arrived, and whether that is too long ago. */
  freshness(): Promise<OptOutFreshnessView>;
  /** Export files that need the operator: quarantined lines, failed, held too long, retried in vain. */
  fileProblems(): Promise<OptOutFileProblemView[]>;
}

export interface OptOutDecisionFilter {
  /** Exact record key (Dynamics contact id, lower case). */
  recordKey?: string | undefined;
}

/** The view types are the engine's (it produces them); the server shows them as they are. */
export type { OptOutDecisionView, OptOutFileProblemView, OptOutFileView, OptOutUsageView };

export interface OptOutFreshnessView {
  /** Arrival of the newest export file (ms); null when none ever arrived. */
  lastFileAt: number | null;
  /** `flows.optOut.file.stalenessHours`. */
  stalenessHours: number;
  /** True when no file arrived within the staleness window. */
  stale: boolean;
}
