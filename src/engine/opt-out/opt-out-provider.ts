import type { Clock } from '../../core/clock.js';
import type { OptOutFileSource } from '../../core/ports/opt-out-file-source.js';
import type { OptOutDecision, OptOutFileRecord, OptOutStore } from '../../core/ports/opt-out-store.js';
import type { Page, PageRequest, StateStore } from '../../core/ports/state-store.js';
import {
  readOptOutFreshness,
  type OptOutFileIngestor,
  type OptOutFreshness,
} from './opt-out-file-ingestor.js';

/** One decision as the operator surface shows it (ids, flags and times only). */
export interface OptOutDecisionView {
  id: string;
  at: number;
  recordKey: string;
  dynamicsColumn: string;
  campaignAttribute: string;
  dynamicsValue: boolean | null;
  campaignValue: boolean | null;
  dynamicsChangedAt: number | null;
  campaignChangedAt: number | null;
  winner: boolean;
  winningSide: 'dynamics' | 'campaign';
  rule: string;
  /** The export file's name, or `contact-flow`. */
  source: string;
}

export type OptOutFileState = 'waiting' | 'processing' | 'processed' | 'archived' | 'deleted' | 'failed';

export interface OptOutFileView {
  name: string;
  sizeBytes: number;
  modifiedAt: number | null;
  state: OptOutFileState;
  rows: number | null;
  quarantined: number | null;
  processedAt: number | null;
}

export interface OptOutUsageView {
  usedBytes: number;
  quotaBytes: number | null;
  files: number;
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
    f.disposition !== 'kept' ? f.disposition : f.status === 'processing' ? 'processing' : f.status;
  return {
    name: f.name,
    sizeBytes: f.sizeBytes,
    modifiedAt: f.modifiedAt,
    state,
    rows: f.status === 'processed' ? f.rowsApplied : null,
    quarantined: f.status === 'processed' ? f.rowsQuarantined : null,
    processedAt: f.finishedAt,
  };
}

/**
 * What the operator server shows about opt-outs (its `OptOutProvider`): the decision audit, the
 * export files (waiting on the server, then the ledger), SFTP usage and export freshness.
 */
export class OptOutStatusProvider {
  private readonly clock: Clock;

  constructor(private readonly options: OptOutStatusProviderOptions) {
    this.clock = options.clock ?? { now: () => Date.now() };
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
}
