import { SyncError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { JsonObject } from '../core/json.js';
import type { EngineLogger } from '../core/ports/engine-logger.js';
import type { LockHolder, StateStore } from '../core/ports/state-store.js';
import type { WorkerRecord, WorkerState } from '../core/ports/worker-store.js';
import type { DutyRoster } from './duty.js';

/** Who a worker is, fixed for the life of the process. */
export interface WorkerIdentity {
  /** Unique per process start (`host:pid:random`). */
  id: string;
  host: string;
  pid: number;
  /** The package version. */
  version: string;
  /** The newest store migration the code knows. */
  schemaVersion: number;
}

/** Timing of the worker registry (`workers` in the configuration). */
export interface WorkerTiming {
  /** How often a worker refreshes its row. @default 2000 */
  heartbeatMs?: number | undefined;
  /** A worker without a heartbeat this long is dead. @default min(3 × heartbeatMs, 10000) */
  deadAfterMs?: number | undefined;
  /** A dead worker stays listed (as dead) this long, then its row is removed. @default 3600000 */
  pruneAfterMs?: number | undefined;
}

export interface ResolvedWorkerTiming {
  heartbeatMs: number;
  deadAfterMs: number;
  pruneAfterMs: number;
}

export function resolveWorkerTiming(timing: WorkerTiming = {}): ResolvedWorkerTiming {
  const heartbeatMs = timing.heartbeatMs ?? 2000;
  return {
    heartbeatMs,
    deadAfterMs: timing.deadAfterMs ?? Math.min(3 * heartbeatMs, 10_000),
    pruneAfterMs: timing.pruneAfterMs ?? 3_600_000,
  };
}

/** A worker as shown to an operator: its row, and whether it is alive. */
export interface WorkerView extends WorkerRecord {
  alive: boolean;
}

/** A duty as shown to an operator: its holder (null when free), and whether the holder is alive. */
export interface DutyView {
  name: string;
  holder: string | null;
  epoch: number;
  expiresAt: number;
  holderAlive: boolean;
}

export interface WorkersView {
  workers: WorkerView[];
  duties: DutyView[];
  /** Workers alive now. */
  alive: number;
  /** The newest heartbeat on record (null: no worker ever reported). */
  lastSeenAt: number | null;
}

/** The registry's and the duties' view for status, the API, metrics and the dashboard. */
export async function readWorkers(
  store: Pick<StateStore, 'workers' | 'locks'>,
  now: number,
  timing: WorkerTiming = {},
): Promise<WorkersView> {
  const { deadAfterMs } = resolveWorkerTiming(timing);
  const [rows, locks] = await Promise.all([store.workers.list(), store.locks.list()]);
  return describeWorkers(rows, locks, now, deadAfterMs);
}

/** Pure: mark the dead, and name each duty's live holder. */
export function describeWorkers(
  rows: readonly WorkerRecord[],
  locks: readonly LockHolder[],
  now: number,
  deadAfterMs: number,
): WorkersView {
  const workers = rows.map((w) => ({ ...w, alive: isAlive(w, now, deadAfterMs) }));
  const alive = new Set(workers.filter((w) => w.alive).map((w) => w.id));
  const duties = locks
    .filter((l) => !l.name.startsWith('privacy-request:'))
    .map((l) => {
      const held = l.expiresAt > now;
      return {
        name: l.name,
        holder: held ? l.owner : null,
        epoch: l.epoch,
        expiresAt: l.expiresAt,
        holderAlive: held && alive.has(l.owner),
      };
    });
  const lastSeenAt = rows.reduce<number | null>(
    (m, w) => (m === null || w.heartbeatAt > m ? w.heartbeatAt : m),
    null,
  );
  return { workers, duties, alive: alive.size, lastSeenAt };
}

function isAlive(worker: WorkerRecord, now: number, deadAfterMs: number): boolean {
  return worker.state !== 'stopped' && now - worker.heartbeatAt <= deadAfterMs;
}

export interface WorkerRegistryOptions {
  store: StateStore;
  clock: Clock;
  logger: EngineLogger;
  identity: WorkerIdentity;
  duties: DutyRoster;
  /** Check the store's schema and the live workers before registering. @default true */
  checks?: boolean;
  timing?: WorkerTiming | undefined;
  /** Work items leased now. @default 0 */
  itemsLeased?: () => number;
  /** The worker's budget slice (the call budget's `usage()`). @default null */
  budget?: () => JsonObject | null;
  /**
   * One process per store (SQLite): another live worker refuses this one. `isProcessAlive` says
   * whether a worker on this host still runs (a `kill -9` leaves a fresh row for a few seconds).
   */
  single?: { isProcessAlive(pid: number): boolean; host: string } | undefined;
}

/**
 * This worker's row in the registry: registered at start (after the compatibility checks), kept
 * fresh every `heartbeatMs` with its state, duties held, items leased and budget slice; marked
 * `draining` on a stop signal and `stopped` at the end. Prunes rows of workers long dead.
 */
export class WorkerRegistry {
  private timer: NodeJS.Timeout | null = null;
  private state: WorkerState = 'running';
  private lastError: string | null = null;
  private readonly timing: ResolvedWorkerTiming;
  private beating: Promise<void> | null = null;
  private readonly startedAt: number;

  constructor(private readonly options: WorkerRegistryOptions) {
    this.timing = resolveWorkerTiming(options.timing);
    this.startedAt = options.clock.now();
  }

  get id(): string {
    return this.options.identity.id;
  }

  /**
   * Refuse to start next to what this worker must not share the store with (see the
   * `WORKER_*` codes), then register.
   */
  async register(): Promise<void> {
    const { store, clock, identity } = this.options;
    const now = clock.now();
    if (this.options.checks === false) {
      await store.workers.register({ ...identity, startedAt: this.startedAt, ...this.report() });
      return;
    }
    const schema = await store.workers.schemaVersion();
    if (schema < identity.schemaVersion) {
      throw new SyncError(
        'WORKER_SCHEMA_BEHIND',
        `the ${store.dialect} state store has schema version ${schema}, this worker (dcsync ${identity.version}) needs ${identity.schemaVersion}: let it migrate the store, then start it again (see "Rolling upgrades" in docs/operations.md)`,
      );
    }
    const others = (await store.workers.list()).filter(
      (w) => w.id !== identity.id && isAlive(w, now, this.timing.deadAfterMs),
    );
    const single = this.options.single;
    if (single) {
      const running = others.filter((w) => w.host !== single.host || single.isProcessAlive(w.pid));
      const other = running[0];
      if (other) {
        throw new SyncError(
          'WORKER_SQLITE_SHARED',
          `another dcsync process (worker ${other.id}, pid ${other.pid} on ${other.host}) runs on this SQLite state store; a SQLite store serves one process. Stop it, or use PostgreSQL (store.url: postgres://…) to run several workers`,
        );
      }
    }
    for (const other of others) {
      const reason = incompatibility(identity, other);
      if (reason) {
        throw new SyncError(
          'WORKER_INCOMPATIBLE',
          `live worker ${other.id} runs dcsync ${other.version} (store schema ${other.schemaVersion}); this is dcsync ${identity.version} (schema ${identity.schemaVersion}): ${reason}. Upgrade or stop the other workers first (see "Rolling upgrades" in docs/operations.md)`,
        );
      }
    }
    await store.workers.register({
      ...identity,
      startedAt: this.startedAt,
      ...this.report(),
    });
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.beat(), this.timing.heartbeatMs);
    this.timer.unref();
  }

  /** A stop signal: say so at once (status shows the worker handing its work back). */
  async drain(): Promise<void> {
    this.state = 'draining';
    await this.beat();
  }

  /** Record the last error this worker met (a code and a message without personal data). */
  noteError(message: string): void {
    this.lastError = message;
  }

  /** The last heartbeat: `stopped`. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    this.state = 'stopped';
    await this.beat();
  }

  /** Refresh this worker's row now (re-register if it was pruned while paused). */
  beat(): Promise<void> {
    this.beating ??= this.write().finally(() => {
      this.beating = null;
    });
    return this.beating;
  }

  private report(): Pick<WorkerRecord, 'state' | 'duties' | 'itemsLeased' | 'budget' | 'lastError'> {
    return {
      state: this.state,
      duties: this.options.duties.held(),
      itemsLeased: this.options.itemsLeased?.() ?? 0,
      budget: this.options.budget?.() ?? null,
      lastError: this.lastError,
    };
  }

  private async write(): Promise<void> {
    const { store, clock, identity, logger } = this.options;
    try {
      const report = this.report();
      if (!(await store.workers.heartbeat(identity.id, report)))
        await store.workers.register({ ...identity, startedAt: this.startedAt, ...report });
      await store.workers.prune(clock.now() - this.timing.pruneAfterMs);
    } catch (error) {
      logger.warn({ err: error }, 'worker heartbeat failed');
    }
  }
}

/** Why two workers must not share a store (null: they may). */
export function incompatibility(
  self: Pick<WorkerIdentity, 'version' | 'schemaVersion'>,
  other: Pick<WorkerRecord, 'version' | 'schemaVersion'>,
): string | null {
  if (major(self.version) !== major(other.version)) return 'another major version';
  if (self.schemaVersion !== other.schemaVersion) return 'another store schema version';
  return null;
}

function major(version: string): string {
  return version.split('.')[0] ?? version;
}
