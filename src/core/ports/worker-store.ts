import type { JsonObject } from '../json.js';

/** Where a worker is in its life: working, handing its work back (SIGTERM), or gone cleanly. */
export const workerStates = ['running', 'draining', 'stopped'] as const;
export type WorkerState = (typeof workerStates)[number];

/** One `dcsync run` process as it last reported itself. */
export interface WorkerRecord {
  /** Unique per process start: `host:pid:random`. */
  id: string;
  host: string;
  pid: number;
  /** The package version the process runs. */
  version: string;
  /** The newest store migration the process's code knows. */
  schemaVersion: number;
  startedAt: number;
  heartbeatAt: number;
  state: WorkerState;
  /** Names of the duties (named locks) it held at its last heartbeat. */
  duties: string[];
  /** Work items it had leased at its last heartbeat. */
  itemsLeased: number;
  /** Its share of the call budget, as the composition root reports it. */
  budget: JsonObject | null;
  /** The last error it reported (code and message, no personal data). */
  lastError: string | null;
}

/** What a worker reports on each heartbeat. */
export type WorkerReport = Pick<WorkerRecord, 'state' | 'duties' | 'itemsLeased' | 'budget' | 'lastError'>;

/** The worker registry (`workers`): every process keeps its row fresh; anyone can list them. */
export interface WorkerStore {
  /** Insert (or replace) the row of a starting worker; its heartbeat is now. */
  register(worker: Omit<WorkerRecord, 'heartbeatAt'>): Promise<void>;
  /** Refresh the row; false when it is gone (pruned while the process was paused). */
  heartbeat(id: string, report: WorkerReport): Promise<boolean>;
  /** Every worker on record, oldest start first. */
  list(): Promise<WorkerRecord[]>;
  /** Remove workers whose last heartbeat is older than `heartbeatBefore`; returns how many. */
  prune(heartbeatBefore: number): Promise<number>;
  /** The newest migration applied to the store (`schema_migrations`). */
  schemaVersion(): Promise<number>;
}
