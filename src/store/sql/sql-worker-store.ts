import { z } from 'zod';
import { jsonObjectSchema } from '../../core/json.js';
import type { WorkerRecord, WorkerReport, WorkerState, WorkerStore } from '../../core/ports/worker-store.js';
import { workerStates } from '../../core/ports/worker-store.js';
import { StoreError } from '../../core/errors.js';
import type { SqlStoreContext } from './sql-store-context.js';
import { requireText } from './staged-change-input.js';
import { parseStoredJson } from './stored-json.js';

type WorkerRow = {
  id: string;
  host: string;
  pid: number | string;
  version: string;
  schema_version: number | string;
  started_at: number | string;
  heartbeat_at: number | string;
  state: string;
  duties: string;
  items_leased: number | string;
  budget: string | null;
  last_error: string | null;
};

const columns =
  'id, host, pid, version, schema_version, started_at, heartbeat_at, state, duties, items_leased, budget, last_error';
const dutiesSchema = z.array(z.string());

/** The worker registry over `workers` (migration 0011). */
export class SqlWorkerStore implements WorkerStore {
  constructor(private readonly ctx: SqlStoreContext) {}

  async register(worker: Omit<WorkerRecord, 'heartbeatAt'>): Promise<void> {
    requireText(worker.id, 'worker id');
    const now = this.ctx.clock.now();
    await this.ctx.driver.run(
      `INSERT INTO workers (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET ` +
        'heartbeat_at = excluded.heartbeat_at, state = excluded.state, duties = excluded.duties, ' +
        'items_leased = excluded.items_leased, budget = excluded.budget, last_error = excluded.last_error',
      [
        worker.id,
        worker.host,
        worker.pid,
        worker.version,
        worker.schemaVersion,
        worker.startedAt,
        now,
        checkState(worker.state),
        JSON.stringify(worker.duties),
        worker.itemsLeased,
        worker.budget === null ? null : JSON.stringify(worker.budget),
        worker.lastError,
      ],
    );
  }

  async heartbeat(id: string, report: WorkerReport): Promise<boolean> {
    const changed = await this.ctx.driver.run(
      'UPDATE workers SET heartbeat_at = ?, state = ?, duties = ?, items_leased = ?, budget = ?, last_error = ? WHERE id = ?',
      [
        this.ctx.clock.now(),
        checkState(report.state),
        JSON.stringify(report.duties),
        report.itemsLeased,
        report.budget === null ? null : JSON.stringify(report.budget),
        report.lastError,
        id,
      ],
    );
    return changed > 0;
  }

  async list(): Promise<WorkerRecord[]> {
    const rows = await this.ctx.driver.all<WorkerRow>(
      `SELECT ${columns} FROM workers ORDER BY started_at, id`,
    );
    return rows.map((row) => ({
      id: row.id,
      host: row.host,
      pid: Number(row.pid),
      version: row.version,
      schemaVersion: Number(row.schema_version),
      startedAt: Number(row.started_at),
      heartbeatAt: Number(row.heartbeat_at),
      state: checkState(row.state),
      duties: parseStoredJson(dutiesSchema, row.duties, `workers ${row.id}: duties`),
      itemsLeased: Number(row.items_leased),
      budget:
        row.budget === null
          ? null
          : parseStoredJson(jsonObjectSchema, row.budget, `workers ${row.id}: budget`),
      lastError: row.last_error,
    }));
  }

  prune(heartbeatBefore: number): Promise<number> {
    return this.ctx.driver.run('DELETE FROM workers WHERE heartbeat_at < ?', [heartbeatBefore]);
  }

  async schemaVersion(): Promise<number> {
    const rows = await this.ctx.driver.all<{ version: number | string | null }>(
      'SELECT MAX(version) AS version FROM schema_migrations',
    );
    return Number(rows[0]?.version ?? 0);
  }
}

function checkState(state: string): WorkerState {
  if ((workerStates as readonly string[]).includes(state)) return state as WorkerState;
  throw new StoreError('STORE_CORRUPT', `workers: unknown state "${state}"`);
}
