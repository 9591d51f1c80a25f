import { z } from 'zod';
import { errorCode } from '../../core/errors.js';
import { sleepOn, type Clock } from '../../core/clock.js';
import { insideWindow, type BulkSchedule } from '../../core/import-window.js';
import type { JsonValue } from '../../core/json.js';
import { recordChangeSchema, type UpsertChange } from '../../core/record-change.js';
import { matchesFilter } from '../../core/record-filter.js';
import { isOlderSourceVersion } from '../../core/record-key.js';
import type { BulkImportPort } from '../../core/ports/bulk-import.js';
import type { EngineLogger } from '../../core/ports/engine-logger.js';
import { noRecordGuard, type RecordGuard } from '../../core/ports/record-guard.js';
import type { Completion, StateStore, WorkItem, WorkItemHead } from '../../core/ports/state-store.js';
import { defineCheckpoint, readCheckpoint, readCheckpointIfAny, writeCheckpoint } from '../checkpoints.js';
import { replayCheckpoint } from '../feed-cursor.js';
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
  /**
   * Rows held in files not imported yet (each costs a few bytes of memory, at most ~24, until its
   * file is settled: {@link FileRows}); when reached, the ready files are signalled without waiting
   * for more. @default no limit
   */
  maxRowsInFlight?: number | undefined;
  /** Signals are sent only inside this window (files are written and uploaded at any time). @default always */
  schedule?: BulkSchedule | undefined;
  /**
   * Told when the lane starts and stops holding the flow's bulk work (e.g. to keep the process's
   * heap tighter while it works: {@link BulkWorkHooks}). @default none
   */
  work?: BulkWorkHooks | undefined;
}

/**
 * What the process does while a lane works. The lane's batches (5,000-record pages, lease and
 * settle slices) live long enough to reach V8's old generation and die there; with V8's default
 * heap growth that garbage is collected only when the old generation is several times its live
 * size (docs/bulk-loads.md, Memory). Each `engaged()` is followed by one `disengaged()`.
 */
export interface BulkWorkHooks {
  engaged(): void;
  disengaged(): void;
}

/** Items leased at a time while a file is written (memory holds one slice of payloads). */
const leaseSlice = 5000;

/**
 * Rows of a settled file completed in one transaction (one commit). Each row writes index pages
 * keyed by its random GUID (key map, audit, the item's own index entry); the more rows a commit
 * carries, the more of them share a page, and a commit costs its pages (written to the WAL, synced,
 * checkpointed). 100,000 rows: 106 commits of 1,000 took 11.0 s, 23 of 5,000 took 3.4 s (SQLite,
 * 2-core box). A transaction holds the write lock for a few hundred ms.
 */
const settleSlice = 5000;

/**
 * How long the rows of a file are leased for (at least the engine's lease): one row write each
 * when leased and one per half of this while the file waits, instead of one per heartbeat
 * (1,000,000 rows held for 15 minutes would otherwise be 45 million writes at a 20 s heartbeat).
 * A dead holder's rows are released by the worker that takes the lane over (recover), not by waiting.
 */
const holdMsAtLeast = 30 * 60_000;

/** The states of one file, each checkpointed before the step that follows it. */
export const bulkFileStates = ['writing', 'uploaded', 'signalling', 'signalled', 'rejects-read'] as const;
export type BulkFileState = (typeof bulkFileStates)[number];

export type BulkFile = z.output<typeof bulkFileSchema>;

const bulkFileSchema = z.object({
  name: z.string(),
  state: z.enum(bulkFileStates),
  /** The manifest whose signal carries the file (set from `signalling` on). */
  manifest: z.string().nullable().default(null),
  /** Rows the file carries (status, ETA). */
  rows: z.number().int().min(0).default(0),
  /** When its signal was accepted (ms); null before. */
  signalledAt: z.number().nullable().default(null),
});

const bulkLaneCheckpoint = defineCheckpoint({
  description: 'bulk lane of a flow (its files in progress)',
  name: (flow: string) => `bulk:${flow}`,
  schema: z
    .object({
      /** Files made so far; the next file is `<run>_<chunk+1>`. */
      chunk: z.number().int().min(0),
      /** Id of this lane's run of files (a prefix of every file name, never reused). */
      run: z.string(),
      /** Manifests (signals) made so far; the next is `<run>_s<signals+1>.manifest`. */
      signals: z.number().int().min(0).default(0),
      /** Files not settled yet, each with its state. */
      files: z.array(bulkFileSchema).default([]),
      /** When the workflow last accepted a signal of ours (ms), for the 10-minute rule. */
      lastSignalAt: z.number().nullable(),
      /**
       * The lane holds the flow's bulk lane: every worker's runner leases only the flow's live items
       * (kept while files are in flight, so a crash leaves the hold in place for the next process).
       */
      holding: z.boolean().default(false),
      /** Rows imported and the time their imports took (ms), for the ETA. */
      imported: z
        .object({ rows: z.number().int().min(0), ms: z.number().min(0) })
        .default({ rows: 0, ms: 0 }),
      /** Before manifests: one file at a time (read so that a file left by an older version is settled). */
      state: z.string().optional(),
      fileName: z.string().nullable().optional(),
    })
    .transform(({ state, fileName, ...rest }) => {
      const legacy = bulkFileStates.find((s) => s === state);
      if (legacy === undefined || fileName == null || rest.files.length > 0) return rest;
      return {
        ...rest,
        files: [{ name: fileName, state: legacy, manifest: null, rows: 0, signalledAt: null }],
      };
    }),
  initial: (now: number) => ({
    chunk: 0,
    run: `r${now.toString(36)}`,
    signals: 0,
    files: [],
    lastSignalAt: null,
    holding: false,
    imported: { rows: 0, ms: 0 },
  }),
});
export type BulkLaneState = z.output<typeof bulkLaneCheckpoint.schema>;

/**
 * Which lane an operator chose for the flow's pending bulk work (`dcsync replay --via`): `bulk`
 * uses the lane whatever the threshold, `rest` never starts it. Removed by the lane once the
 * replay is read and no bulk work is left; absent, the threshold rule applies.
 */
export const bulkViaCheckpoint = defineCheckpoint<{ via: 'bulk' | 'rest'; requestedAt: number } | null>({
  description: "lane chosen for a flow's bulk work",
  name: (flow: string) => `bulk-via:${flow}`,
  schema: z.object({ via: z.enum(['bulk', 'rest']), requestedAt: z.number() }),
  initial: () => null,
});

/** The lane's checkpoint `bulk:<flow>` (files in flight, hold, import rate). */
export function readBulkLaneState(store: StateStore, flow: string, now: number): Promise<BulkLaneState> {
  return readCheckpoint(store.checkpoints, bulkLaneCheckpoint, flow, now);
}

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
  /**
   * True while the flow's source is still being read by this worker (more rows are coming): files
   * are then filled to `chunkRows` and kept for one signal. @default () => false
   */
  sourceReading?: () => boolean;
}

/** One row of a file being written: the item and its CSV cells by column. */
interface BulkRow {
  item: WorkItem;
  cells: Map<string, string>;
}

/**
 * The rows of a file in flight: each row's item id and the index of its filled columns in
 * {@link BulkLoader.fieldSets} (for the audit), kept as runs of consecutive ids that filled the same
 * columns. A file's rows are leased in id order, so an initial load's file is a few runs, whatever
 * its size; two numbers a row (~16 bytes) were 16 MB held through a 1,000,000-row load's import.
 * At worst (no two rows in a run) three numbers a row.
 */
export class FileRows {
  private readonly starts: number[] = [];
  private readonly counts: number[] = [];
  private readonly sets: number[] = [];
  private rows = 0;

  get length(): number {
    return this.rows;
  }

  push(id: number, fieldSet: number): void {
    const last = this.starts.length - 1;
    if (last >= 0 && this.sets[last] === fieldSet && this.starts[last]! + this.counts[last]! === id)
      this.counts[last]!++;
    else {
      this.starts.push(id);
      this.counts.push(1);
      this.sets.push(fieldSet);
    }
    this.rows++;
  }

  /** Every row in file order: its item id and field set. */
  *entries(): Generator<[id: number, fieldSet: number]> {
    for (let run = 0; run < this.starts.length; run++)
      for (let i = 0; i < this.counts[run]!; i++) yield [this.starts[run]! + i, this.sets[run]!];
  }

  /** The item ids, in file order. */
  ids(): string[] {
    return [...this.entries()].map(([id]) => String(id));
  }
}

/**
 * A file this process wrote and has not settled yet. Of each row it keeps the item id and the
 * columns it filled ({@link FileRows}); the rest is read back from the queue when the file settles.
 */
interface FileInFlight {
  name: string;
  /** Its rows, in file order. */
  rows: FileRows;
  signalledAt: number | null;
  /** The rows' leases run until then (extended by the heartbeat when half of the hold is gone). */
  heldUntil: number;
}

/**
 * The bulk lane of one record flow (F7, docs/bulk-loads.md). While more bulk-lane upserts than
 * the threshold are queued for the flow, it holds the flow's bulk lane (the runner leases only its
 * live lane), leases the bulk items in chunks, maps them exactly as the record applier does
 * (mapping, replacements, picklist labels, filter; key field = the Dynamics id, links = the
 * parent's id), streams each chunk to a CSV and uploads it. When the workflow may be signalled
 * again (`signalIntervalMs`) and no more rows are coming (or `maxRowsInFlight` is reached), ONE
 * signal names a manifest listing every file that is ready; the workflow imports them all. Each
 * file's reject file marks the end of its import: its rejects are dead-lettered with Campaign's
 * reason, the key map is filled from the workflow's PKey export and the items complete.
 * Everything a file cannot carry (deletes, privacy holds, filtered-out deletes, orphans, mapping
 * problems, nested values) is handed to the runner and goes through REST.
 *
 * I5 across lanes: a key with a live item leased is never leased here; a live change that arrives
 * while its bulk row is held waits (one lease per key) and is applied through REST after the
 * import, so the older bulk row never overwrites it; a bulk row older than the key map's version
 * is skipped as stale.
 *
 * Crash safety: each file's state is in a checkpoint. The items stay leased (a long hold, renewed
 * at half) until they are completed; after a crash the next holder of the lane ends those holds
 * (once the dead holder's signalled files are imported) and the items are leased again into NEW files
 * (names carry the lane's run and chunk and are never reused), so no row is lost; a file uploaded
 * but not signalled (or whose signal is uncertain) is removed, a signalled one is waited for and
 * never signalled again, and the workflow never imports a file twice (it skips a file whose reject
 * file exists).
 */
export class BulkLoader {
  private running = false;
  private loop: Promise<void> | null = null;
  private engaged = false;
  private readonly stopping = new AbortController();
  /** Files of this process not settled yet, oldest first. */
  private files: FileInFlight[] = [];
  /** The file being written (its rows are held too). */
  private writing: FileInFlight | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  /** Files left in the checkpoint by an earlier process have been settled. */
  private recovered = false;
  /** The last lease filled a whole chunk: more rows are probably coming. */
  private moreComing = false;
  /** Interned field lists of the audit (rows of a flow fill few distinct sets of columns). */
  private readonly fieldLists = new Map<string, number>();
  private readonly fieldSets: (readonly string[])[] = [];
  /** How long the rows of a file are leased for. */
  private readonly holdMs: number;
  /** The hold as last written to (or read from) the store; null: not known. */
  private holdingInStore: boolean | null = null;
  /** When this lane last settled a file (the import time of the next one counts from there). */
  private lastSettledAt = 0;

  constructor(private readonly options: BulkLoaderOptions) {
    this.holdMs = Math.max(options.leaseMs, holdMsAtLeast);
  }

  get flowId(): string {
    return this.options.settings.flow.id;
  }

  /** True while the lane holds the flow's bulk lane (the runner then leases only live items). */
  get holdsBulkLane(): boolean {
    return this.engaged;
  }

  /**
   * Whether every runner keeps off the flow's bulk items, as the store says (any worker may read
   * it): the lane holds them or has files in flight (maybe a crashed process's); an operator sent
   * the flow's bulk work through it (`--via bulk`); or the lane takes them at its next pass — more
   * than the threshold queued and no operator choice of REST. Read before the runner starts and at
   * every refresh, so a backlog queued before the lane's first pass (a restart, a replay, a first
   * load staged earlier) is not leased through REST while the lane takes its duty.
   */
  async reservedInStore(now: number): Promise<boolean> {
    const { store, settings } = this.options;
    const state = await readBulkLaneState(store, this.flowId, now);
    if (state.holding || state.files.length > 0) return true;
    const choice = await readCheckpointIfAny(store.checkpoints, bulkViaCheckpoint, this.flowId);
    if (choice !== null) return choice.via === 'bulk';
    if (settings.flow.upsertHook !== undefined) return false;
    const queued = await store.queue.countPending({
      flow: this.flowId,
      lane: 'bulk',
      atMost: settings.thresholdRecords + 1,
    });
    return queued > settings.thresholdRecords;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.options.duty.start();
    const { store, owner, leaseMs, clock } = this.options;
    this.heartbeat = setInterval(
      () => {
        const now = clock.now();
        const files = [...this.files, ...(this.writing ? [this.writing] : [])];
        for (const file of files) {
          if (now < file.heldUntil - this.holdMs / 2) continue;
          file.heldUntil = now + this.holdMs;
          void store.queue
            .extendLeases(file.rows.ids(), owner, this.holdMs)
            .catch((error: unknown) =>
              this.options.logger.warn({ err: error, flow: this.flowId }, 'bulk lease heartbeat failed'),
            );
        }
      },
      Math.max(200, Math.floor(leaseMs / 3)),
    );
    this.heartbeat.unref();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    await this.loop;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    await this.dropAll();
    this.setEngaged(false);
    // Nothing of this process left in flight: the flow's bulk lane is free for every runner. With
    // files in flight the hold stays (the next holder of the duty settles them).
    if (this.options.duty.held)
      await this.load()
        .then((state) => (state.files.length === 0 ? this.setHolding(false) : undefined))
        .catch((error: unknown) =>
          this.options.logger.warn({ err: error, flow: this.flowId }, 'bulk lane hold not released'),
        );
    await this.options.duty.stop();
    // The lane's SFTP connection would keep the process alive (it reconnects if the lane restarts).
    await this.options.settings.port
      .close()
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error, flow: this.flowId }, 'bulk lane connection did not close'),
      );
  }

  isIdle(): boolean {
    return !this.engaged;
  }

  /** Holds (or no longer holds) the flow's bulk work; the hooks hear of every change. */
  private setEngaged(engaged: boolean): void {
    if (engaged === this.engaged) return;
    this.engaged = engaged;
    const hooks = this.options.settings.work;
    if (engaged) hooks?.engaged();
    else hooks?.disengaged();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let wait = this.options.idleWaitMs ?? 1000;
      try {
        if (this.options.duty.held && this.options.settings.flow.upsertHook === undefined)
          wait = await this.step();
        else this.release();
      } catch (error) {
        this.options.logger.error(
          { err: error, flow: this.flowId, code: errorCode(error) },
          'bulk lane step failed',
        );
        this.release();
      }
      if (wait > 0) await this.sleep(wait);
    }
  }

  /** Not (or no longer) this worker's lane: its files are forgotten, their leases end. */
  private release(): void {
    void this.dropAll();
    this.setEngaged(false);
    this.recovered = false;
    this.holdingInStore = null;
  }

  /** Write the hold to the store (read by every worker's runner) when it changes. */
  private async setHolding(holding: boolean): Promise<void> {
    if (this.holdingInStore === holding) return;
    const state = await this.load();
    if (state.holding !== holding) await this.save({ ...state, holding });
    this.holdingInStore = holding;
  }

  /**
   * Whether the lane should run for the flow's bulk work now: as an operator chose it
   * (`dcsync replay --via`), else when more than the threshold is queued. A choice is forgotten
   * once its replay is read and no bulk work is left.
   */
  private async wanted(queued: number, reading: boolean): Promise<{ run: boolean; write: boolean }> {
    const { store, settings } = this.options;
    const choice = await readCheckpointIfAny(store.checkpoints, bulkViaCheckpoint, this.flowId);
    if (choice === null) return { run: queued > settings.thresholdRecords, write: true };
    if (queued === 0 && !reading && this.files.length === 0) {
      const replay = await readCheckpointIfAny(store.checkpoints, replayCheckpoint, this.flowId);
      if (replay === null) {
        await store.checkpoints.delete(bulkViaCheckpoint.name(this.flowId));
        return { run: false, write: false };
      }
    }
    return choice.via === 'bulk' ? { run: queued > 0, write: true } : { run: false, write: false };
  }

  private async dropAll(): Promise<void> {
    await Promise.all(this.files.map((file) => this.drop(file)));
  }

  /** Stop holding a file's rows: their leases end now and they are loaded again. */
  private async drop(file: FileInFlight): Promise<void> {
    this.files = this.files.filter((f) => f !== file);
    await this.unhold(file.rows.ids());
  }

  /** End the long leases of rows no longer held (taken over like lapsed leases). */
  private async unhold(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.options.store.queue
      .extendLeases(ids, this.options.owner, 1)
      .catch((error: unknown) =>
        this.options.logger.warn(
          { err: error, flow: this.flowId },
          'bulk leases not released; they lapse at the end of their hold',
        ),
      );
  }

  private sleep(ms: number): Promise<void> {
    return sleepOn(this.options.clock, ms, this.stopping.signal).catch(() => undefined);
  }

  private async save(state: BulkLaneState): Promise<BulkLaneState> {
    await writeCheckpoint(this.options.store.checkpoints, bulkLaneCheckpoint, this.flowId, state);
    return state;
  }

  private async load(): Promise<BulkLaneState> {
    const { store, clock } = this.options;
    return readCheckpoint(store.checkpoints, bulkLaneCheckpoint, this.flowId, clock.now());
  }

  /**
   * One pass: settle the files whose import ended, write one more chunk, signal the ready files.
   * Returns how long to wait before the next pass (0: at once).
   */
  private async step(): Promise<number> {
    const { store, settings } = this.options;
    if (!this.recovered) {
      await this.recover(await this.load());
      this.recovered = true;
    }
    let worked = await this.settleEnded();
    // Counted up to what the decisions below compare it with: O(chunk), not O(inbox), per step.
    const queued = await store.queue.countPending({
      flow: this.flowId,
      lane: 'bulk',
      atMost: Math.max(settings.thresholdRecords + 1, settings.chunkRows),
    });
    const reading = this.options.sourceReading?.() ?? false;
    const wanted = await this.wanted(queued, reading);
    if (this.files.length === 0 && !this.engaged && !wanted.run) {
      // A hold left by an earlier holder (its files are settled by now) is lifted.
      await this.setHolding(false);
      return this.idle();
    }
    // In the store before the first lease: other workers' runners stop taking the bulk items.
    await this.setHolding(true);
    this.setEngaged(true);
    const maxRows = settings.maxRowsInFlight ?? Number.POSITIVE_INFINITY;
    const inFlight = this.files.reduce((n, f) => n + f.rows.length, 0);
    // While the source is read, wait for a whole chunk rather than writing small files.
    const enough = !reading || queued >= settings.chunkRows;
    if (
      wanted.write &&
      queued > 0 &&
      enough &&
      (this.files.length === 0 || inFlight + settings.chunkRows <= maxRows)
    ) {
      const leased = await this.writeFile();
      if (reading) this.moreComing = true;
      if (leased > 0) worked = true;
    } else this.moreComing = wanted.write && (reading || (queued > 0 && !enough));
    if (await this.signalReady()) worked = true;
    if (this.files.length === 0 && (!wanted.write || (queued === 0 && !reading))) {
      this.setEngaged(false);
      await this.setHolding(false);
      return this.idle();
    }
    return worked ? 0 : Math.min(settings.pollIntervalMs, this.options.idleWaitMs ?? 1000);
  }

  private idle(): number {
    return this.options.idleWaitMs ?? 1000;
  }

  /**
   * Files left by an earlier process (their rows' holds are ended and they are loaded again): one
   * signalled is waited for (never signalled again), the others are removed, never signalled.
   */
  private async recover(state: BulkLaneState): Promise<BulkLaneState> {
    const saved = await this.settleLeftFiles(state);
    // The rows an earlier holder of the lane (a dead process, or this one before it lost the duty)
    // leased for its files: their long leases end now, so they are loaded again. Runners' leases
    // (at most leaseMs) are not touched.
    const { store, clock, leaseMs } = this.options;
    const released = await store.queue.expireLeases({
      flow: this.flowId,
      lane: 'bulk',
      heldPast: clock.now() + leaseMs,
    });
    if (released > 0)
      this.options.logger.warn(
        { flow: this.flowId, rows: released },
        'bulk rows held by an earlier holder of the lane released; they are loaded again',
      );
    return saved;
  }

  private async settleLeftFiles(state: BulkLaneState): Promise<BulkLaneState> {
    const { port } = this.options.settings;
    const mine = new Set(this.files.map((f) => f.name));
    const left = state.files.filter((f) => !mine.has(f.name));
    if (left.length === 0) return state;
    const uncertain = new Set(left.filter((f) => f.state === 'signalling').map((f) => f.manifest));
    for (const manifest of uncertain) if (manifest !== null) await port.discard(manifest);
    for (const file of left) {
      if (file.state === 'signalled') {
        // Imported (or importing): wait for its end, so two imports of the same rows never overlap.
        await this.waitForImport(file.name).catch((error: unknown) =>
          this.options.logger.warn(
            { err: error, flow: this.flowId, fileName: file.name },
            'bulk file left by an earlier process failed',
          ),
        );
      } else if (file.state !== 'rejects-read') {
        // A file whose signal is uncertain may have been imported already: then its reject file says so.
        if (file.state !== 'signalling' || (await port.readRejects(file.name)) === null)
          await port.discard(file.name);
      }
      this.options.logger.warn(
        { flow: this.flowId, fileName: file.name, state: file.state },
        'bulk file left by an earlier process settled; its rows are loaded again from the queue',
      );
    }
    const gone = new Set(left.map((f) => f.name));
    return this.save({ ...state, files: state.files.filter((f) => !gone.has(f.name)) });
  }

  /**
   * Lease → map → CSV → upload: one more file ready to be signalled. The file is streamed while
   * its rows are leased in slices of {@link leaseSlice}, so memory holds one slice of items (with
   * their payloads) whatever `chunkRows` is. Returns how many items were leased.
   */
  private async writeFile(): Promise<number> {
    const { settings, store } = this.options;
    let state = await this.load();
    const chunk = state.chunk + 1;
    const name = `${safeName(this.flowId)}_${state.run}_${String(chunk).padStart(5, '0')}.csv`;
    let leased = 0;
    const file: FileInFlight = {
      name,
      rows: new FileRows(),
      signalledAt: null,
      heldUntil: this.options.clock.now() + this.holdMs,
    };
    let kept = false;
    const columns = this.columns();
    const encoder = new TextEncoder();
    const delimiter = settings.delimiter;
    const content = async function* (this: BulkLoader): AsyncIterable<Uint8Array> {
      yield encoder.encode(`${columns.map((c) => quote(c, delimiter)).join(delimiter)}\n`);
      while (leased < settings.chunkRows) {
        const want = Math.min(leaseSlice, settings.chunkRows - leased);
        const items = await store.queue.lease({
          owner: this.options.owner,
          limit: want,
          leaseMs: this.holdMs,
          flows: [this.flowId],
          lanes: ['bulk'],
        });
        leased += items.length;
        const sorted = await this.sort(items);
        // Items settled without a file (stale, filtered, tombstoned) complete at once.
        await this.completeAll(sorted.settled.map(({ item, outcome }) => ({ item, outcome, effects: {} })));
        let text = '';
        for (const row of sorted.rows) {
          text += `${columns.map((c) => quote(row.cells.get(c) ?? '', delimiter)).join(delimiter)}\n`;
          file.rows.push(Number(row.item.id), this.fieldSetOf(row.cells));
        }
        if (text !== '') yield encoder.encode(text);
        if (items.length < want) break;
      }
    }.call(this);
    this.writing = file;
    try {
      state = await this.save({
        ...state,
        chunk,
        files: [...state.files, { name, state: 'writing', manifest: null, rows: 0, signalledAt: null }],
      });
      await settings.port.upload(name, content);
      if (file.rows.length === 0) {
        // Nothing the file could carry (all handed over or settled): it is never signalled.
        await settings.port.discard(name);
        await this.forget([name]);
      } else {
        this.files.push(file);
        kept = true;
        await this.setStates([name], 'uploaded', {}, { rows: file.rows.length });
      }
    } finally {
      this.writing = null;
      // Rows of a file that failed to upload are not ours to keep (handed-over rows are the runner's).
      if (!kept) await this.unhold(file.rows.ids());
    }
    this.moreComing = leased === settings.chunkRows;
    return leased;
  }

  /** Header: the key field, then every mapped field and link of the flow, sorted. */
  private columns(): string[] {
    const flow = this.options.settings.flow;
    const keyField = flow.sink.keyField;
    const names = new Set<string>([
      ...flow.mapping.rules.map((r) => r.target),
      ...flow.links.map((l) => l.link),
    ]);
    names.delete(keyField);
    return [keyField, ...[...names].sort()];
  }

  /** The index of a row's filled columns in {@link fieldSets} (interned: a flow has few). */
  private fieldSetOf(cells: ReadonlyMap<string, string>): number {
    const names = [...cells.keys()].sort();
    const id = names.join('\u0000');
    let index = this.fieldLists.get(id);
    if (index === undefined) {
      index = this.fieldSets.push(names) - 1;
      this.fieldLists.set(id, index);
    }
    return index;
  }

  private async setStates(
    names: readonly string[],
    next: BulkFileState,
    patch: Partial<BulkLaneState> = {},
    file: Partial<Omit<BulkFile, 'name' | 'state'>> = {},
  ): Promise<BulkLaneState> {
    const state = await this.load();
    const set = new Set(names);
    return this.save({
      ...state,
      ...patch,
      files: state.files.map((f) => (set.has(f.name) ? { ...f, ...file, state: next } : f)),
    });
  }

  private async forget(names: readonly string[]): Promise<void> {
    const state = await this.load();
    const set = new Set(names);
    await this.save({ ...state, files: state.files.filter((f) => !set.has(f.name)) });
  }

  /**
   * Signal the files that are ready with one manifest, when the workflow may be signalled again and
   * no more rows are coming soon (or the rows in flight reached `maxRowsInFlight`).
   */
  private async signalReady(): Promise<boolean> {
    const { settings, clock } = this.options;
    const ready = this.files.filter((f) => f.signalledAt === null);
    if (ready.length === 0) return false;
    const maxRows = settings.maxRowsInFlight ?? Number.POSITIVE_INFINITY;
    const inFlight = this.files.reduce((n, f) => n + f.rows.length, 0);
    if (this.moreComing && inFlight + settings.chunkRows <= maxRows) return false;
    // Outside the import window the files wait (written and uploaded, not signalled).
    if (settings.schedule !== undefined && !insideWindow(settings.schedule, clock.now())) return false;
    let state = await this.load();
    if (state.lastSignalAt !== null && clock.now() < state.lastSignalAt + settings.signalIntervalMs)
      return false;
    const signals = state.signals + 1;
    const manifest = `${safeName(this.flowId)}_${state.run}_s${String(signals).padStart(5, '0')}.manifest`;
    const names = ready.map((f) => f.name);
    state = await this.setStates(names, 'signalling', { signals }, { manifest });
    try {
      await settings.port.upload(manifest, textOf(`${names.join('\n')}\n`));
      await settings.port.signal(manifest, { signal: this.stopping.signal });
    } catch (error) {
      // Refused (too soon) or uncertain: the manifest goes; the files stay ready for the next signal.
      // Should the workflow have read the manifest all the same, it never imports a file twice.
      await settings.port.discard(manifest).catch(() => undefined);
      const tooSoon = errorCode(error) === 'CAMPAIGN_SIGNAL_TOO_SOON';
      await this.setStates(names, 'uploaded', tooSoon ? { lastSignalAt: clock.now() } : {}, {
        manifest: null,
      });
      if (tooSoon) {
        this.options.logger.info({ flow: this.flowId, manifest }, 'signal refused as too soon; waiting');
        return false;
      }
      throw error;
    }
    const now = clock.now();
    for (const file of ready) file.signalledAt = now;
    await this.setStates(names, 'signalled', { lastSignalAt: now }, { signalledAt: now });
    this.options.logger.info(
      {
        flow: this.flowId,
        manifest,
        files: names.length,
        rows: ready.reduce((n, f) => n + f.rows.length, 0),
      },
      'bulk files signalled',
    );
    return true;
  }

  /** Settle every signalled file whose import ended (its reject file is there). */
  private async settleEnded(): Promise<boolean> {
    const { settings, clock } = this.options;
    let worked = false;
    for (const file of this.files.filter((f) => f.signalledAt !== null)) {
      let rejects: Map<string, string> | null;
      try {
        rejects = await this.rejectsOf(file.name);
        if (rejects === null) {
          if (clock.now() > file.signalledAt! + settings.importTimeoutMs)
            throw new Error(`bulk file ${file.name}: the import did not end within importTimeoutMs`);
          continue;
        }
      } catch (error) {
        this.options.logger.error(
          { err: error, flow: this.flowId, fileName: file.name },
          'bulk file failed; its rows go back to the queue',
        );
        await this.drop(file);
        await this.forget([file.name]);
        continue;
      }
      const pkeys = (await settings.port.readPKeys(file.name)) ?? new Map<string, string>();
      // Its import took from its signal (or the end of the file imported before it) until now.
      const now = clock.now();
      const took = Math.max(0, now - Math.max(file.signalledAt!, this.lastSettledAt));
      this.lastSettledAt = now;
      const before = await this.load();
      await this.setStates([file.name], 'rejects-read', {
        imported: { rows: before.imported.rows + file.rows.length, ms: before.imported.ms + took },
      });
      await this.settleRows(file, rejects, pkeys);
      this.files = this.files.filter((f) => f !== file);
      await this.forget([file.name]);
      worked = true;
    }
    return worked;
  }

  /** The file's rejects by key once its import ended, else null; throws when the whole file failed. */
  private async rejectsOf(fileName: string): Promise<Map<string, string> | null> {
    const rejects = await this.options.settings.port.readRejects(fileName);
    if (rejects === null) return null;
    const whole = rejects.find((r) => r.row === 0);
    if (whole) throw new Error(`bulk file ${fileName} was not imported: ${whole.reason}`);
    return new Map(rejects.map((r) => [r.key, r.reason]));
  }

  /** Wait for the end of a file's import (a file left by an earlier process). */
  private async waitForImport(fileName: string): Promise<void> {
    const { settings, clock } = this.options;
    const deadline = clock.now() + settings.importTimeoutMs;
    for (;;) {
      if ((await this.rejectsOf(fileName)) !== null) return;
      if (clock.now() > deadline || !this.running)
        throw new Error(`bulk file ${fileName}: the import did not end within importTimeoutMs`);
      await this.sleep(settings.pollIntervalMs);
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
      else rows.push({ item, cells });
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

  /** Dead-letter the rejects, complete the rest with their key-map entries (PKeys from the export). */
  private async settleRows(
    file: FileInFlight,
    rejects: ReadonlyMap<string, string>,
    pkeys: ReadonlyMap<string, string>,
  ): Promise<void> {
    const { store, clock, owner, events, parking } = this.options;
    const flow = this.options.settings.flow;
    const rows = file.rows.entries();
    for (let start = 0; start < file.rows.length; start += settleSlice) {
      const fieldsOf = new Map<string, readonly string[]>();
      for (let i = 0; i < settleSlice; i++) {
        const next = rows.next();
        if (next.done === true) break;
        fieldsOf.set(String(next.value[0]), this.fieldSets[next.value[1]]!);
      }
      // A row whose lease was lost is not among them (its completion would be lost too).
      const slice = await store.queue.leasedHeads([...fieldsOf.keys()], owner);
      const entries = new Map(
        (
          await store.keyMap.getMany(
            flow.id,
            slice.map((r) => r.recordKey),
          )
        ).map((e) => [e.recordKey, e]),
      );
      const now = clock.now();
      const done: { item: WorkItemHead; outcome: ApplyOutcome; effects: Completion['effects'] }[] = [];
      for (const row of slice) {
        const reason = rejects.get(row.recordKey);
        if (reason !== undefined) {
          const message = `Campaign's import workflow rejected the row of ${flow.id}/${row.recordKey}: ${reason}`;
          await store.queue.fail({
            id: row.id,
            owner,
            error: { code: 'CAMPAIGN_BULK_ROW_REJECTED', message, retryable: false },
            retryAt: null,
          });
          events.emit('item.failed', {
            flow: row.flow,
            lane: row.lane,
            recordKey: row.recordKey,
            code: 'CAMPAIGN_BULK_ROW_REJECTED',
            deadLettered: true,
            throttled: false,
          });
          continue;
        }
        const entry = entries.get(row.recordKey) ?? null;
        const pkey = pkeys.get(row.recordKey) ?? entry?.campaignPKey ?? null;
        const release = pkey !== null ? parking.releaseOnLanding(flow.id, row.recordKey) : undefined;
        done.push({
          item: row,
          outcome: entry?.campaignPKey ? 'updated' : 'created',
          effects: {
            keyMap: {
              op: 'put',
              entry: {
                flow: flow.id,
                recordKey: row.recordKey,
                campaignPKey: pkey,
                origin: entry?.origin ?? 'created',
                lastSourceVersion: row.sourceVersion ?? entry?.lastSourceVersion ?? null,
                lastPayloadHash: null,
              },
            },
            audit: [
              {
                at: now,
                actor: 'engine',
                action: `${flow.sink.resource}.bulk-import`,
                flow: flow.id,
                recordKey: row.recordKey,
                fields: [...(fieldsOf.get(row.id) ?? [])],
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
  }

  private async completeAll(
    done: readonly {
      item: Pick<WorkItem, 'id' | 'flow' | 'lane' | 'enqueuedAt'>;
      outcome: ApplyOutcome;
      effects: Completion['effects'];
    }[],
  ): Promise<void> {
    const { store, owner, events } = this.options;
    for (let start = 0; start < done.length; start += settleSlice) {
      const batch = done.slice(start, start + settleSlice);
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

/** RFC 4180 quoting: a cell with the delimiter, a quote or a line break is quoted. */
function quote(cell: string, delimiter: string): string {
  return cell.includes(delimiter) || /["\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

/** A small text as one chunk (the manifest). */
async function* textOf(text: string): AsyncIterable<Uint8Array> {
  yield new TextEncoder().encode(text);
  await Promise.resolve();
}
