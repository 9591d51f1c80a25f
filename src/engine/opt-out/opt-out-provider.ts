import { systemClock } from '../../core/clock.js';
import type { Clock } from '../../core/clock.js';
import type { OptOutFileSource } from '../../core/ports/opt-out-file-source.js';
import type { OptOutDecision, OptOutFileRecord, OptOutStore } from '../../core/ports/opt-out-store.js';
import type { Page, PageRequest, StateStore } from '../../core/ports/state-store.js';
import type { OptOutFileIngestor } from './opt-out-file-ingestor.js';
import {
  readOptOutFileProblems,
  readOptOutFreshness,
  type OptOutFileProblem,
  type OptOutFileProblemSettings,
  type OptOutFreshness,
} from './opt-out-file-problems.js';

/** Sides of an opt-out decision. */
export const optOutSides = ['dynamics', 'campaign'] as const;
export type OptOutSide = (typeof optOutSides)[number];

/** One resolution of an opt-out attribute as the operator surface shows it (ids, flags and times only). */
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
  /** What carried the change: the export file's name, or `contact-flow`. */
  source: string;
}

/**
 * States of an export file as the operator sees them: `waiting` (on the server, not read yet), the
 * ledger's `processing`, `held` (not whole), `failed` and `superseded` (the file grew), and for a
 * processed file what became of it: `processed` (still in the export folder), `archived`, `deleted`.
 */
export const optOutFileStates = [
  'waiting',
  'processing',
  'held',
  'processed',
  'archived',
  'deleted',
  'failed',
  'superseded',
] as const;
export type OptOutFileState = (typeof optOutFileStates)[number];

/** An export file on the SFTP server or in the ledger. */
export interface OptOutFileView {
  /** File name (no directory). */
  name: string;
  sizeBytes: number;
  /** Modification time on the server (ms), when known. */
  modifiedAt: number | null;
  state: OptOutFileState;
  /** Rows applied, when processed. */
  rows: number | null;
  /** Rows quarantined (malformed), when processed. */
  quarantined: number | null;
  /** Quarantined lines neither re-applied nor dismissed (a problem while above 0). */
  quarantineOpen: number | null;
  /** Why it is held or failed (`OPTOUT_FILE_…`), or the last error of a retried file. */
  errorCode: string | null;
  processedAt: number | null;
}

/** An export file that needs the operator (a problem of the status). */
export type OptOutFileProblemView = OptOutFileProblem;

/** SFTP storage use. */
export interface OptOutUsageView {
  usedBytes: number;
  /** Licensed storage (`campaign.sftp.quotaBytes`); null when not configured. */
  quotaBytes: number | null;
  files: number;
  /** When the usage was measured (ms). */
  measuredAt: number;
}

export interface OptOutStatusProviderOptions {
  store: Pick<StateStore, 'checkpoints'> & { optOut: OptOutStore };
  /** Null when no SFTP is configured. */
  source: OptOutFileSource | null;
  /** The running ingestor, whose last usage measurement is reused. */
  ingestor: OptOutFileIngestor | null;
  clock?: Clock | undefined;
  quotaBytes: number | null;
  stalenessHours: number;
  /** When held and retried files become problems. */
  problems: OptOutFileProblemSettings;
  /** A usage measurement younger than this is reused. @default 300000 */
  usageMaxAgeMs?: number | undefined;
}

function toDecisionView(d: OptOutDecision): OptOutDecisionView {
  return {
    id: d.id,
    at: d.at,
    recordKey: d.recordKey,
    dynamicsColumn: d.dynamicsColumn,
    campaignAttribute: d.campaignAttribute,
    dynamicsValue: d.dynamicsValue,
    campaignValue: d.campaignValue,
    dynamicsChangedAt: d.dynamicsChangedAt,
    campaignChangedAt: d.campaignChangedAt,
    winner: d.winner,
    winningSide: d.winningSide,
    rule: d.rule,
    source: d.source === 'file' ? (d.sourceRef?.replace(/:\d+$/, '') ?? 'file') : 'contact-flow',
  };
}

function toFileView(f: OptOutFileRecord): OptOutFileView {
  const state: OptOutFileState =
    f.status === 'processed' && f.disposition !== 'kept' ? f.disposition : f.status;
  return {
    name: f.name,
    sizeBytes: f.sizeBytes,
    modifiedAt: f.modifiedAt,
    state,
    rows: f.status === 'processed' ? f.rowsApplied : null,
    quarantined: f.status === 'processed' ? f.rowsQuarantined : null,
    quarantineOpen: f.quarantineOpen,
    errorCode: f.status === 'processed' ? null : f.errorCode,
    processedAt: f.finishedAt,
  };
}

/**
 * What the operator server shows about opt-outs (its `OptOutProvider`): the decision audit, the
 * export files (waiting on the server, then the ledger), SFTP usage, export freshness and the
 * export files that need the operator.
 */
export class OptOutStatusProvider {
  private readonly clock: Clock;

  constructor(private readonly options: OptOutStatusProviderOptions) {
    this.clock = options.clock ?? systemClock;
  }

  async listDecisions(
    filter: { recordKey?: string | undefined },
    page: PageRequest,
  ): Promise<Page<OptOutDecisionView>> {
    const decisions = await this.options.store.optOut.listDecisions(
      filter.recordKey === undefined ? {} : { recordKey: filter.recordKey.toLowerCase() },
      page,
    );
    return { items: decisions.items.map(toDecisionView), nextCursor: decisions.nextCursor };
  }

  async listFiles(page: PageRequest): Promise<Page<OptOutFileView>> {
    const ledger = await this.options.store.optOut.listFiles(page);
    const items = ledger.items.map(toFileView);
    if (page.cursor === undefined && this.options.source) {
      try {
        const waiting: OptOutFileView[] = [];
        for (const entry of await this.options.source.list()) {
          if ((await this.options.store.optOut.filesNamed(entry.name)).length > 0) continue;
          waiting.push({
            name: entry.name,
            sizeBytes: entry.sizeBytes,
            modifiedAt: entry.modifiedAt,
            state: 'waiting',
            rows: null,
            quarantined: null,
            quarantineOpen: null,
            errorCode: null,
            processedAt: null,
          });
        }
        items.unshift(...waiting.reverse());
      } catch {
        // The server is unreachable: the ledger still answers.
      }
    }
    return { items, nextCursor: ledger.nextCursor };
  }

  async sftpUsage(): Promise<OptOutUsageView | null> {
    const { source, ingestor, quotaBytes } = this.options;
    if (!source) return null;
    let usage = ingestor?.usage ?? null;
    if (usage === null || this.clock.now() - usage.measuredAt > (this.options.usageMaxAgeMs ?? 300_000)) {
      try {
        usage = await source.usage();
      } catch {
        if (usage === null) return null;
      }
    }
    return { usedBytes: usage.usedBytes, quotaBytes, files: usage.fileCount, measuredAt: usage.measuredAt };
  }

  freshness(): Promise<OptOutFreshness> {
    return readOptOutFreshness(this.options.store, this.clock, this.options.stalenessHours);
  }

  /** Export files with quarantined lines, failed, held too long or failing again and again. */
  fileProblems(): Promise<OptOutFileProblemView[]> {
    return readOptOutFileProblems(this.options.store, this.clock, this.options.problems);
  }
}
