import type { Clock } from '../../core/clock.js';
import type { EngineLogger } from '../../core/ports/engine-logger.js';
import type {
  ContactOptOutState,
  ContactOptOutUpdate,
  OptOutDynamicsWriter,
} from '../../core/ports/opt-out-dynamics-writer.js';
import type { NewQuarantinedRow, OptOutDecision, OptOutWrite } from '../../core/ports/opt-out-store.js';
import type { StateStore, WorkItemInput } from '../../core/ports/state-store.js';
import { decideOptOut, recordEcho, recordSupersededRow, type OptOutObservation } from './opt-out-decision.js';
import type { ParsedExportLine } from './opt-out-export-parser.js';
import {
  optOutCampaignFlow,
  optOutDynamicsFlow,
  optOutItemKey,
  type OptOutPair,
  type OptOutSettings,
} from './opt-out-settings.js';
import type { OptOutCampaignPayload, OptOutDynamicsPayload } from './opt-out-work-applier.js';

interface RowLine {
  line: number;
  recordKey: string;
  attributes: Extract<ParsedExportLine, { kind: 'row' }>['attributes'];
}

export interface Batch {
  rows: RowLine[];
  keys: Set<string>;
  quarantined: NewQuarantinedRow[];
  /** Lines skipped by the parser (no or foreign external id, empty). */
  skippedLines: number[];
  lastLine: number;
}

/** What deciding and writing one batch produced, for its commit. */
export interface BatchOutcome {
  /** Rows decided (written where the rule said so). */
  appliedLines: number[];
  /** Rows whose contact does not exist in Dynamics. */
  unknownLines: number[];
  writes: OptOutWrite[];
  decisions: Omit<OptOutDecision, 'id'>[];
}

interface PlannedUpdate {
  row: RowLine;
  state: ContactOptOutState;
  values: Record<string, boolean>;
  basis: Record<string, boolean | null>;
}

export function emptyBatch(): Batch {
  return { rows: [], keys: new Set(), quarantined: [], skippedLines: [], lastLine: 0 };
}

export interface OptOutBatchWriterOptions {
  settings: OptOutSettings;
  writer: OptOutDynamicsWriter;
  store: StateStore;
  clock: Clock;
  logger: EngineLogger;
  /**
   * A Campaign `…LastModified` within this distance of our own write of the same value is that
   * write coming back (the two clocks differ a little). @default 300000
   */
  echoToleranceMs?: number;
  /** Rewrites of conflicting rows (HTTP 412) before they go to the `optout:dynamics` queue. @default 2 */
  conflictRetries?: number;
  /** Called after each committed batch (progress). */
  onBatch?: ((progress: { file: string; line: number }) => void) | undefined;
}

/**
 * Applies export lines in batches (flow F4, Campaign → Dynamics): one read of the contacts' current
 * values, one decision per mapped attribute by the mode (echoes of our own writes and lines older
 * than one already applied are recorded, not written), one `$batch` of updates with `If-Match` (a
 * 412 is read and decided again, then queued), writes that fail go to the durable
 * `optout:dynamics` flow, Campaign-side winners (bidirectional) to `optout:campaign`; then the
 * caller's `commit` stores the batch's progress, writes and decisions atomically.
 */
export class OptOutBatchWriter {
  private readonly columns: string[];
  private readonly echoToleranceMs: number;
  private readonly conflictRetries: number;

  constructor(private readonly options: OptOutBatchWriterOptions) {
    this.columns = options.settings.pairs.map((p) => p.dynamicsColumn);
    this.echoToleranceMs = options.echoToleranceMs ?? 300_000;
    this.conflictRetries = options.conflictRetries ?? 2;
  }

  /** Add a parsed line to a batch (a quarantined line is logged by its number, never its values). */
  add(fileName: string, batch: Batch, parsed: ParsedExportLine): void {
    batch.lastLine = Math.max(batch.lastLine, parsed.line);
    if (parsed.kind === 'quarantine') {
      batch.quarantined.push({
        fileName,
        line: parsed.line,
        reason: parsed.reason,
        column: parsed.column,
        at: this.options.clock.now(),
      });
      this.options.logger.warn(
        { file: fileName, line: parsed.line, reason: parsed.reason, column: parsed.column },
        'opt-out line quarantined',
      );
    } else if (parsed.kind === 'skip') batch.skippedLines.push(parsed.line);
    else {
      batch.rows.push({ line: parsed.line, recordKey: parsed.recordKey, attributes: parsed.attributes });
      batch.keys.add(parsed.recordKey);
    }
  }

  /** Resolve and write one batch, then commit it with `commit` (see the class comment). */
  async flush(
    fileName: string,
    batch: Batch,
    commit: (batch: Batch, result: BatchOutcome) => Promise<void>,
  ): Promise<void> {
    const { store, writer, clock, settings } = this.options;
    const keys = [...batch.keys];
    const states =
      keys.length > 0 ? await writer.readContacts(keys, this.columns) : new Map<string, ContactOptOutState>();
    const echoes = new Map<string, OptOutWrite>();
    if (settings.mode === 'bidirectional' && keys.length > 0) {
      for (const w of await store.optOut.latestWrites('campaign', keys))
        echoes.set(`${w.recordKey}|${w.attribute}`, w);
    }
    const applied = new Map<string, number>();
    if (keys.length > 0)
      for (const t of await store.optOut.latestFileCampaignTimes(keys))
        applied.set(`${t.recordKey}|${t.attribute}`, t.campaignChangedAt);
    const decisions: Omit<OptOutDecision, 'id'>[] = [];
    const ledger: OptOutWrite[] = [];
    const items: WorkItemInput[] = [];
    let planned: PlannedUpdate[] = [];
    const appliedLines: number[] = [];
    const unknownLines: number[] = [];
    for (const row of batch.rows) {
      const state = states.get(row.recordKey);
      if (!state) {
        unknownLines.push(row.line); // no such contact in Dynamics
        continue;
      }
      appliedLines.push(row.line);
      const update = this.planRow(fileName, row, state, echoes, applied, decisions, items);
      if (update) planned.push(update);
    }
    for (let attempt = 0; planned.length > 0; attempt += 1) {
      const conflicts: PlannedUpdate[] = [];
      const results = await writer.writeContacts(
        planned.map((p): ContactOptOutUpdate => ({
          id: p.state.id,
          values: p.values,
          ifMatch: p.state.etag,
        })),
      );
      results.forEach((result, index) => {
        const plan = planned[index]!;
        if (result.outcome === 'ok') {
          for (const [column, value] of Object.entries(plan.values)) {
            ledger.push({
              recordKey: plan.state.id,
              attribute: this.pairOf(column).campaignAttribute,
              system: 'dynamics',
              value,
              at: clock.now(),
              resultVersion: result.version,
            });
          }
        } else if (result.outcome === 'conflict') conflicts.push(plan);
        else if (result.outcome === 'failed') {
          this.options.logger.warn(
            { file: fileName, line: plan.row.line, code: result.code },
            'opt-out write failed; queued for retry',
          );
          items.push(...this.dynamicsItems(fileName, plan));
        }
      });
      planned = [];
      if (conflicts.length === 0) break;
      if (attempt >= this.conflictRetries) {
        for (const plan of conflicts) items.push(...this.dynamicsItems(fileName, plan));
        break;
      }
      // The contact changed between our read and our write: read again and decide again.
      const fresh = await writer.readContacts(
        conflicts.map((c) => c.state.id),
        this.columns,
      );
      for (const plan of conflicts) {
        const state = fresh.get(plan.state.id);
        if (!state) continue;
        const update = this.planRow(fileName, plan.row, state, echoes, applied, decisions, items);
        if (update) planned.push(update);
      }
    }
    if (items.length > 0) await store.queue.enqueue(items);
    await commit(batch, { appliedLines, unknownLines, writes: ledger, decisions });
    this.options.onBatch?.({ file: fileName, line: batch.lastLine });
  }

  /**
   * Decide every mapped attribute of one row; returns the Dynamics update it needs, if any. An
   * attribute whose Campaign time is older than one already applied from a file (`applied`) is
   * stale — a held file or a fixed line applied late — and only recorded (`superseded`), so a late
   * line never undoes a newer change, whatever the mode.
   */
  private planRow(
    fileName: string,
    row: RowLine,
    state: ContactOptOutState,
    echoes: ReadonlyMap<string, OptOutWrite>,
    applied: ReadonlyMap<string, number>,
    decisions: Omit<OptOutDecision, 'id'>[],
    items: WorkItemInput[],
  ): PlannedUpdate | null {
    const { settings, clock } = this.options;
    const values: Record<string, boolean> = {};
    const basis: Record<string, boolean | null> = {};
    for (const pair of settings.pairs) {
      const campaign = row.attributes[pair.campaignAttribute];
      if (!campaign || campaign.value === null) continue;
      const observation: OptOutObservation = {
        mode: settings.mode,
        pair,
        recordKey: row.recordKey,
        dynamicsValue: state.values[pair.dynamicsColumn] ?? null,
        dynamicsChangedAt: state.modifiedOn,
        campaignValue: campaign.value,
        campaignChangedAt: campaign.lastModified,
        at: clock.now(),
        source: 'file',
        sourceRef: `${fileName}:${row.line}`,
      };
      const echo = echoes.get(`${row.recordKey}|${pair.campaignAttribute}`);
      if (
        echo &&
        echo.value === campaign.value &&
        campaign.lastModified !== null &&
        Math.abs(campaign.lastModified - echo.at) <= this.echoToleranceMs
      ) {
        decisions.push(recordEcho(observation, 'campaign', campaign.value));
        continue;
      }
      const newer = applied.get(`${row.recordKey}|${pair.campaignAttribute}`);
      if (newer !== undefined && campaign.lastModified !== null && campaign.lastModified < newer) {
        decisions.push(recordSupersededRow(observation));
        continue;
      }
      const { decision, resolution } = decideOptOut(observation);
      decisions.push(decision);
      if (resolution.writeDynamics) {
        values[pair.dynamicsColumn] = resolution.winner;
        basis[pair.dynamicsColumn] = observation.dynamicsValue;
      }
      if (resolution.writeCampaign && settings.mode === 'bidirectional') {
        const payload: OptOutCampaignPayload = {
          contactId: row.recordKey,
          attribute: pair.campaignAttribute,
          value: resolution.winner,
          basis: campaign.value,
          sourceRef: observation.sourceRef,
        };
        items.push({
          flow: optOutCampaignFlow,
          recordKey: optOutItemKey(row.recordKey, pair.campaignAttribute),
          payload: { ...payload },
        });
      }
    }
    return Object.keys(values).length > 0 ? { row, state, values, basis } : null;
  }

  private dynamicsItems(fileName: string, plan: PlannedUpdate): WorkItemInput[] {
    return Object.entries(plan.values).map(([column, value]) => {
      const payload: OptOutDynamicsPayload = {
        contactId: plan.state.id,
        column,
        attribute: this.pairOf(column).campaignAttribute,
        value,
        basis: plan.basis[column] ?? null,
        sourceRef: `${fileName}:${plan.row.line}`,
      };
      return {
        flow: optOutDynamicsFlow,
        recordKey: optOutItemKey(plan.state.id, column),
        payload: { ...payload },
      };
    });
  }

  private pairOf(column: string): OptOutPair {
    return this.options.settings.pairs.find((p) => p.dynamicsColumn === column)!;
  }
}
