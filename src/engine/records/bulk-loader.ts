import { z } from 'zod';
import { errorCode } from '../../core/errors.js';
import { sleepOn, type Clock } from '../../core/clock.js';
import type { JsonValue } from '../../core/json.js';
import { recordChangeSchema, type UpsertChange } from '../../core/record-change.js';
import { matchesFilter } from '../../core/record-filter.js';
import { isOlderSourceVersion } from '../../core/record-key.js';
import type { BulkImportPort } from '../../core/ports/bulk-import.js';
import type { EngineLogger } from '../../core/ports/engine-logger.js';
import { noRecordGuard, type RecordGuard } from '../../core/ports/record-guard.js';
import type { Completion, KeyMapEntry, StateStore, WorkItem } from '../../core/ports/state-store.js';
import { defineCheckpoint, readCheckpoint, writeCheckpoint } from '../checkpoints.js';
import type { Duty } from '../duty.js';
import type { EngineEvents } from '../engine-events.js';
import type { ApplyOutcome } from '../engine-stats.js';
import type { Parking } from '../parking.js';
import type { RecordFlowSettings } from './record-flow.js';

/** What a bulk lane needs to know about one record flow (config `flows.*.bulk`). */
export interface BulkLaneSettings {
  flow: RecordFlowSettings;
  port: BulkImportPort;
  /** Use the lane when more bulk-lane items than this are queued for the flow. */
  thresholdRecords: number;
  /** Rows per file. */
  chunkRows: number;
  /** Field separator of the files. */
  delimiter: string;
  /** How often the end of an import is checked. */
  pollIntervalMs: number;
  /** An import not ended after this long fails its chunk (its rows go back to the queue). */
  importTimeoutMs: number;
  /** Minimum time between two signals of the workflow. */
  signalIntervalMs: number;
  /** Privacy holds and tombstones (I9), as the record applier honours them. */
  guard?: RecordGuard | undefined;
}

/** The states of one file, each checkpointed before the step that follows it. */
export const bulkFileStates = [
  'idle',
  'writing',
  'uploaded',
  'signalling',
  'signalled',
  'rejects-read',
  'done',
] as const;

const bulkLaneCheckpoint = defineCheckpoint({
  description: 'bulk lane of a flow (the file in progress)',
  name: (flow: string) => `bulk:${flow}`,
  schema: z.object({
    /** Files made so far; the next file is `<run>_<chunk+1>`. */
    chunk: z.number().int().min(0),
    /** Id of this lane's run of files (a prefix of every file name, never reused). */
    run: z.string(),
    state: z.enum(bulkFileStates),
    fileName: z.string().nullable(),
    /** When the workflow last accepted a signal of ours (ms), for the 10-minute rule. */
    lastSignalAt: z.number().nullable(),
  }),
  initial: (now: number) => ({
    chunk: 0,
    run: `r${now.toString(36)}`,
    state: 'idle' as const,
    fileName: null,
    lastSignalAt: null,
  }),
});
type BulkLaneState = z.infer<typeof bulkLaneCheckpoint.schema>;

export interface BulkLoaderOptions {
  settings: BulkLaneSettings;
  store: StateStore;
  clock: Clock;
  logger: EngineLogger;
  events: EngineEvents;
  parking: Parking;
  /** The duty `bulk:<flow>`: one worker runs the lane of a flow at a time. */
  duty: Duty;
  /** Lease owner: the worker's runner, so the items handed to it complete under its lease. */
  owner: string;
  leaseMs: number;
  /** Hand a leased item to the work runner (deletes, parks, dead letters: REST as usual). */
  handOver: (item: WorkItem) => void;
  /** @default 1000 */
  idleWaitMs?: number;
}

/** One row of a file: the item and its CSV cells by column. */
interface BulkRow {
  item: WorkItem;
  cells: Map<string, string>;
  entry: KeyMapEntry | null;
}

/**
 * The bulk lane of one record flow (F7, docs/bulk-loads.md). While more bulk-lane upserts than
 * the threshold are queued for the flow, it holds the flow's bulk lane (the runner leases only its
 * live lane), leases the bulk items in chunks, maps them exactly as the record applier does
 * (mapping, replacements, picklist labels, filter; key field = the Dynamics id, links = the
 * parent's id), streams them to a CSV, uploads it, signals the import workflow (at most once per
 * `signalIntervalMs`), waits for the reject file, dead-letters each reject with Campaign's reason,
 * fills the key map from the workflow's PKey export and completes the items. Everything the file
 * cannot carry (deletes, privacy holds, filtered-out deletes, orphans, mapping problems, nested
 * values) is handed to the runner and goes through REST.
 *
 * I5 across lanes: a key with a live item leased is never leased here; a live change that arrives
 * while its bulk row is held waits (one lease per key) and is applied through REST after the
 * import, so the older bulk row never overwrites it; a bulk row older than the key map's version
 * is skipped as stale.
 *
 * Crash safety: the file's state is a checkpoint. The items stay leased (heartbeat) until they are
 * completed; after a crash the leases lapse and the items are leased again into a NEW file (names
 * carry the lane's run and chunk and are never reused), so no row is lost; a file uploaded but not
 * signalled is removed, a signalled one is waited for and never signalled again.
 */
export class BulkLoader {
  private running = false;
  private loop: Promise<void> | null = null;
  private engaged = false;
  private readonly stopping = new AbortController();

  constructor(private readonly options: BulkLoaderOptions) {}

  get flowId(): string {
    return this.options.settings.flow.id;
  }

  /** True while the lane holds the flow's bulk lane (the runner then leases only live items). */
  get holdsBulkLane(): boolean {
    return this.engaged;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.options.duty.start();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    await this.loop;
    this.engaged = false;
    await this.options.duty.stop();
  }

  isIdle(): boolean {
    return !this.engaged;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let worked = false;
      try {
        if (this.options.duty.held && this.options.settings.flow.upsertHook === undefined)
          worked = await this.step();
        else this.engaged = false;
      } catch (error) {
        this.options.logger.error(
          { err: error, flow: this.flowId, code: errorCode(error) },
          'bulk lane step failed',
        );
        this.engaged = false;
      }
      if (!worked) await this.sleep(this.options.idleWaitMs ?? 1000);
    }
  }

  private sleep(ms: number): Promise<void> {
    return sleepOn(this.options.clock, ms, this.stopping.signal).catch(() => undefined);
  }

  /** One pass: finish a file left by a crash, or decide, lease and load one chunk. */
  private async step(): Promise<boolean> {
    const { store, clock } = this.options;
    let state = await readCheckpoint(store.checkpoints, bulkLaneCheckpoint, this.flowId, clock.now());
    if (state.state !== 'idle' && state.state !== 'done') {
      state = await this.recover(state);
    }
    const queued = (await store.queue.backlog())
      .filter((b) => b.flow === this.flowId && b.lane === 'bulk')
      .reduce((n, b) => n + b.queued, 0);
    if (!this.engaged && queued <= this.options.settings.thresholdRecords) return false;
    this.engaged = true;
    const items = await store.queue.lease({
      owner: this.options.owner,
      limit: this.options.settings.chunkRows,
      leaseMs: this.options.leaseMs,
      flows: [this.flowId],
      lanes: ['bulk'],
    });
    if (items.length === 0) {
      this.engaged = queued > 0;
      return false;
    }
    await this.loadChunk(state, items);
    return true;
  }

  /** A file left by a crash: never signalled again; its items went back to the queue. */
  private async recover(state: BulkLaneState): Promise<BulkLaneState> {
    const { port } = this.options.settings;
    const fileName = state.fileName;
    if (fileName !== null) {
      if (state.state === 'signalled') {
        // Imported (or importing): wait for its end, so two imports of the same rows never overlap.
        await this.waitForImport(fileName, () => undefined).catch((error: unknown) =>
          this.options.logger.warn(
            { err: error, flow: this.flowId, fileName },
            'bulk file left by an earlier process failed',
          ),
        );
      } else if (state.state !== 'rejects-read') {
        await port.discard(fileName);
      }
      this.options.logger.warn(
        { flow: this.flowId, fileName, state: state.state },
        'bulk file left by an earlier process settled; its rows are loaded again from the queue',
      );
    }
    const next: BulkLaneState = { ...state, state: 'done', fileName: null };
    await writeCheckpoint(this.options.store.checkpoints, bulkLaneCheckpoint, this.flowId, next);
    return next;
  }

  private async loadChunk(state: BulkLaneState, items: readonly WorkItem[]): Promise<void> {
    const { store, settings, clock, owner, leaseMs } = this.options;
    const held = new Set(items.map((i) => i.id));
    const heartbeat = setInterval(
      () => {
        void store.queue
          .extendLeases([...held], owner, leaseMs)
          .catch((error: unknown) =>
            this.options.logger.warn({ err: error, flow: this.flowId }, 'bulk lease heartbeat failed'),
          );
      },
      Math.max(200, Math.floor(leaseMs / 3)),
    );
    heartbeat.unref();
    try {
      const { rows, settled } = await this.sort(items);
      // Items settled without a file (stale, filtered, tombstoned) complete at once.
      await this.completeAll(settled.map(({ item, outcome }) => ({ item, outcome, effects: {} })));
      for (const { item } of settled) held.delete(item.id);
      if (rows.length === 0) return;

      const chunk = state.chunk + 1;
      const fileName = `${safeName(this.flowId)}_${state.run}_${String(chunk).padStart(5, '0')}.csv`;
      let current: BulkLaneState = { ...state, chunk, state: 'writing', fileName };
      await writeCheckpoint(store.checkpoints, bulkLaneCheckpoint, this.flowId, current);
      const columns = columnsOf(settings.flow.sink.keyField, rows);
      await settings.port.upload(fileName, encodeCsv(columns, rows, settings.delimiter));
      current = { ...current, state: 'uploaded' };
      await writeCheckpoint(store.checkpoints, bulkLaneCheckpoint, this.flowId, current);

      await this.signal(current, fileName);
      current = { ...current, state: 'signalled', lastSignalAt: clock.now() };
      await writeCheckpoint(store.checkpoints, bulkLaneCheckpoint, this.flowId, current);
      this.options.logger.info({ flow: this.flowId, fileName, rows: rows.length }, 'bulk file signalled');

      const rejects = await this.waitForImport(fileName, () => undefined);
      const pkeys = (await settings.port.readPKeys(fileName)) ?? new Map<string, string>();
      current = { ...current, state: 'rejects-read' };
      await writeCheckpoint(store.checkpoints, bulkLaneCheckpoint, this.flowId, current);

      await this.settleRows(rows, rejects, pkeys);
      current = { ...current, state: 'done', fileName: null };
      await writeCheckpoint(store.checkpoints, bulkLaneCheckpoint, this.flowId, current);
      held.clear();
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * Map each leased item as the record applier would; what a file cannot carry goes to the runner
   * (handed over at once), what needs no write is settled here.
   */
  private async sort(
    items: readonly WorkItem[],
  ): Promise<{ rows: BulkRow[]; settled: { item: WorkItem; outcome: ApplyOutcome }[] }> {
    const flow = this.options.settings.flow;
    const guard = this.options.settings.guard ?? noRecordGuard;
    const entries = new Map(
      (
        await this.options.store.keyMap.getMany(
          flow.id,
          items.map((i) => i.recordKey),
        )
      ).map((e) => [e.recordKey, e]),
    );
    const rows: BulkRow[] = [];
    const settled: { item: WorkItem; outcome: ApplyOutcome }[] = [];
    for (const item of items) {
      const parsed = recordChangeSchema.safeParse(item.payload);
      if (!parsed.success || parsed.data.op === 'delete') {
        this.options.handOver(item);
        continue;
      }
      const verdict = await guard.check(flow.id, item.recordKey);
      if (verdict === 'hold') {
        this.options.handOver(item);
        continue;
      }
      if (verdict === 'tombstone') {
        settled.push({ item, outcome: 'tombstoned' });
        continue;
      }
      const entry = entries.get(item.recordKey) ?? null;
      if (isOlderSourceVersion(item.sourceVersion, entry?.lastSourceVersion ?? null)) {
        settled.push({ item, outcome: 'stale' });
        continue;
      }
      const change = parsed.data;
      if (!matchesFilter(flow.filter, change.values)) {
        if (entry && flow.deleteWhenFilteredOut) this.options.handOver(item);
        else settled.push({ item, outcome: 'filtered' });
        continue;
      }
      const cells = this.cellsOf(item.recordKey, change);
      if (cells === null) this.options.handOver(item);
      else rows.push({ item, cells, entry });
    }
    return { rows, settled };
  }

  /** The row's cells, or null when the file cannot carry it (the runner writes it through REST). */
  private cellsOf(key: string, change: UpsertChange): Map<string, string> | null {
    const flow = this.options.settings.flow;
    const mapped = flow.mapping.apply(change.values, 'create', flow.optionLabels);
    if (mapped.problems.length > 0) return null;
    const cells = new Map<string, string>();
    for (const [field, value] of Object.entries(mapped.fields)) {
      const text = cellText(value);
      if (text === null) return null;
      cells.set(field, text);
    }
    for (const link of flow.links) {
      const raw = change.values[link.lookup];
      if (raw === null || raw === undefined || raw === '') {
        // A cardinality-1 link without a parent would hide the record: the runner parks it (orphan).
        if (link.required) return null;
        cells.set(link.link, '');
      } else if (typeof raw !== 'string') {
        return null;
      } else {
        cells.set(link.link, raw.toLowerCase());
      }
    }
    cells.set(flow.sink.keyField, key);
    return cells;
  }

  /** Signal the workflow for `fileName`, waiting out the interval since our last accepted signal. */
  private async signal(state: BulkLaneState, fileName: string): Promise<void> {
    const { settings, clock, store } = this.options;
    await writeCheckpoint(store.checkpoints, bulkLaneCheckpoint, this.flowId, {
      ...state,
      state: 'signalling',
    });
    if (state.lastSignalAt !== null) {
      const wait = state.lastSignalAt + settings.signalIntervalMs - clock.now();
      if (wait > 0) await this.sleep(wait);
    }
    for (;;) {
      try {
        await settings.port.signal(fileName, { signal: this.stopping.signal });
        return;
      } catch (error) {
        if (errorCode(error) !== 'CAMPAIGN_SIGNAL_TOO_SOON' || !this.running) throw error;
        this.options.logger.info({ flow: this.flowId, fileName }, 'signal refused as too soon; waiting');
        await this.sleep(Math.max(settings.pollIntervalMs, 1000));
      }
    }
  }

  /** Poll for the file's reject file (written when its import ended); rejects by key. */
  private async waitForImport(fileName: string, onPoll: () => void): Promise<Map<string, string>> {
    const { settings, clock } = this.options;
    const deadline = clock.now() + settings.importTimeoutMs;
    for (;;) {
      const rejects = await settings.port.readRejects(fileName);
      if (rejects !== null) {
        const whole = rejects.find((r) => r.row === 0);
        if (whole) throw new Error(`bulk file ${fileName} was not imported: ${whole.reason}`);
        return new Map(rejects.map((r) => [r.key, r.reason]));
      }
      if (clock.now() > deadline || !this.running)
        throw new Error(`bulk file ${fileName}: the import did not end within importTimeoutMs`);
      onPoll();
      await this.sleep(settings.pollIntervalMs);
    }
  }

  /** Dead-letter the rejects, complete the rest with their key-map entries (PKeys from the export). */
  private async settleRows(
    rows: readonly BulkRow[],
    rejects: ReadonlyMap<string, string>,
    pkeys: ReadonlyMap<string, string>,
  ): Promise<void> {
    const { store, clock, owner, events, parking } = this.options;
    const flow = this.options.settings.flow;
    const now = clock.now();
    const done: { item: WorkItem; outcome: ApplyOutcome; effects: Completion['effects'] }[] = [];
    for (const { item, cells, entry } of rows) {
      const reason = rejects.get(item.recordKey);
      if (reason !== undefined) {
        const message = `Campaign's import workflow rejected the row of ${flow.id}/${item.recordKey}: ${reason}`;
        await store.queue.fail({
          id: item.id,
          owner,
          error: { code: 'CAMPAIGN_BULK_ROW_REJECTED', message, retryable: false },
          retryAt: null,
        });
        events.emit('item.failed', {
          flow: item.flow,
          lane: item.lane,
          recordKey: item.recordKey,
          code: 'CAMPAIGN_BULK_ROW_REJECTED',
          deadLettered: true,
          throttled: false,
        });
        continue;
      }
      const pkey = pkeys.get(item.recordKey) ?? entry?.campaignPKey ?? null;
      const release = pkey !== null ? parking.releaseOnLanding(flow.id, item.recordKey) : undefined;
      done.push({
        item,
        outcome: entry?.campaignPKey ? 'updated' : 'created',
        effects: {
          keyMap: {
            op: 'put',
            entry: {
              flow: flow.id,
              recordKey: item.recordKey,
              campaignPKey: pkey,
              origin: entry?.origin ?? 'created',
              lastSourceVersion: item.sourceVersion ?? entry?.lastSourceVersion ?? null,
              lastPayloadHash: null,
            },
          },
          audit: [
            {
              at: now,
              actor: 'engine',
              action: `${flow.sink.resource}.bulk-import`,
              flow: flow.id,
              recordKey: item.recordKey,
              fields: [...cells.keys()].sort(),
              outcome: 'ok',
              detail: 'written by a bulk-load file',
            },
          ],
          resolveDeadLetters: true,
          ...(release ? { releaseParked: release } : {}),
        },
      });
    }
    await this.completeAll(done);
  }

  private async completeAll(
    done: readonly { item: WorkItem; outcome: ApplyOutcome; effects: Completion['effects'] }[],
  ): Promise<void> {
    const { store, owner, events } = this.options;
    for (let start = 0; start < done.length; start += 1000) {
      const batch = done.slice(start, start + 1000);
      const outcomes = await store.queue.completeMany(
        batch.map(({ item, effects }) => ({ id: item.id, owner, effects })),
      );
      const now = this.options.clock.now();
      batch.forEach(({ item, outcome }, i) => {
        if (outcomes[i] !== 'ok') return;
        events.emit('item.applied', {
          flow: item.flow,
          lane: item.lane,
          outcome,
          elapsedMs: 0,
          lagMs: Math.max(0, now - item.enqueuedAt),
        });
      });
    }
  }
}

/** A flow id as a file-name part (`table:new_order` → `table-new_order`). */
function safeName(flowId: string): string {
  return flowId.replace(/[^A-Za-z0-9_-]/g, '-');
}

/** A mapped value as one CSV cell; null when it is not a scalar (the runner writes it). */
function cellText(value: JsonValue | undefined): string | null {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

/** Header: the key field first, then every other column any row has, sorted. */
function columnsOf(keyField: string, rows: readonly BulkRow[]): string[] {
  const names = new Set<string>();
  for (const row of rows) for (const name of row.cells.keys()) if (name !== keyField) names.add(name);
  return [keyField, ...[...names].sort()];
}

/** RFC 4180 quoting: a cell with the delimiter, a quote or a line break is quoted. */
function quote(cell: string, delimiter: string): string {
  return cell.includes(delimiter) || /["\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

/** The file, streamed in slices of rows (memory bounded by one slice beyond the rows held). */
async function* encodeCsv(
  columns: readonly string[],
  rows: readonly BulkRow[],
  delimiter: string,
): AsyncIterable<Uint8Array> {
  const encoder = new TextEncoder();
  yield encoder.encode(`${columns.map((c) => quote(c, delimiter)).join(delimiter)}\n`);
  for (let start = 0; start < rows.length; start += 1000) {
    let text = '';
    for (const row of rows.slice(start, start + 1000))
      text += `${columns.map((c) => quote(row.cells.get(c) ?? '', delimiter)).join(delimiter)}\n`;
    yield encoder.encode(text);
    // Let other work run between slices of a large file.
    await Promise.resolve();
  }
}
