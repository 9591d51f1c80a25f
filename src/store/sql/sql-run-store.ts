import { z } from 'zod';
import { addRunCounts, emptyRunCounts } from '../../core/run-counts.js';
import { StoreError } from '../../core/errors.js';
import {
  runKinds,
  runOutcomes,
  runPhases,
  runTotalSources,
  runTriggers,
  type Page,
  type PageRequest,
  type RunCounts,
  type RunCountsDelta,
  type RunEvent,
  type RunFilter,
  type RunOutcome,
  type RunRecord,
  type RunStartInput,
  type RunStore,
  type RunUpdate,
} from '../../core/ports/state-store.js';
import { selectPage } from './page-cursor.js';
import type { SqlExecutor, SqlParam } from './sql-driver.js';
import { isStoreId, whereAll } from './sql-list.js';
import type { SqlStoreContext } from './sql-store-context.js';
import { requireText, requireTime } from './staged-change-input.js';
import { parseStoredJson } from './stored-json.js';

interface RunRow {
  id: string | number;
  flow: string;
  kind: string;
  trigger: string;
  subject: string | null;
  started_at: number | string;
  ended_at: number | string | null;
  outcome: string;
  phase: string;
  total: number | string | null;
  total_source: string | null;
  counts: string;
  updated_at: number | string;
  [column: string]: unknown;
}

interface RunEventRow {
  at: number | string;
  kind: string;
  detail: string | null;
  [column: string]: unknown;
}

const count = z.number().int().nonnegative();
const runCountsSchema = z.object({
  read: count,
  created: count,
  updated: count,
  adopted: count,
  deleted: count,
  unchanged: count,
  skipped: z.record(z.string(), count),
  parked: count,
  deadLettered: count,
  campaignCalls: count,
});

const runColumns =
  'id, flow, kind, trigger, subject, started_at, ended_at, outcome, phase, total, total_source, counts, updated_at';

function addCounts(base: RunCounts, delta: RunCountsDelta | undefined, label: string): RunCounts {
  return addRunCounts(base, delta, (field, add) => {
    if (!Number.isInteger(add) || add < 0)
      throw new StoreError('STORE_INVALID_INPUT', `${label}: counts.${field} must be a non-negative integer`);
  });
}

function requireOneOf<T extends string>(
  values: readonly T[],
  value: unknown,
  field: string,
): asserts value is T {
  if (!values.includes(value as T))
    throw new StoreError('STORE_INVALID_INPUT', `${field} must be one of ${values.join(', ')}`);
}

function requireTotal(total: unknown, field: string): void {
  if (total !== null && total !== undefined && (!Number.isInteger(total) || (total as number) < 0))
    throw new StoreError('STORE_INVALID_INPUT', `${field} must be a non-negative integer or null`);
}

/** Run history in `runs` and `run_events`. */
export class SqlRunStore implements RunStore {
  constructor(private readonly ctx: SqlStoreContext) {}

  async start(input: RunStartInput): Promise<RunRecord> {
    requireText(input.flow, 'run start: flow');
    requireOneOf(runKinds, input.kind, 'run start: kind');
    requireOneOf(runTriggers, input.trigger, 'run start: trigger');
    const phase = input.phase ?? 'reading';
    requireOneOf(runPhases, phase, 'run start: phase');
    if (input.totalSource != null) requireOneOf(runTotalSources, input.totalSource, 'run start: totalSource');
    requireTotal(input.total, 'run start: total');
    const now = this.ctx.clock.now();
    const startedAt = input.startedAt ?? now;
    requireTime(startedAt, 'run start: startedAt');
    const counts = addCounts(emptyRunCounts(), input.counts, 'run start');
    const [row] = await this.ctx.driver.all<RunRow>(
      'INSERT INTO runs (flow, kind, trigger, subject, started_at, ended_at, outcome, phase, total, total_source, counts, updated_at) ' +
        `VALUES (?, ?, ?, ?, ?, NULL, 'running', ?, ?, ?, ?, ?) RETURNING ${runColumns}`,
      [
        input.flow,
        input.kind,
        input.trigger,
        input.subject ?? null,
        startedAt,
        phase,
        input.total ?? null,
        input.totalSource ?? null,
        JSON.stringify(counts),
        now,
      ],
    );
    return toRunRecord(row!);
  }

  update(id: string, update: RunUpdate): Promise<boolean> {
    return this.write(id, update, null, 'run update');
  }

  end(id: string, outcome: Exclude<RunOutcome, 'running'>, update: RunUpdate = {}): Promise<boolean> {
    requireOneOf(
      runOutcomes.filter((o) => o !== 'running'),
      outcome,
      'run end: outcome',
    );
    return this.write(id, update, outcome, 'run end');
  }

  /** Read the run under a row lock, merge, write back: concurrent writers add up. */
  private async write(
    id: string,
    update: RunUpdate,
    outcome: Exclude<RunOutcome, 'running'> | null,
    label: string,
  ): Promise<boolean> {
    if (update.phase !== undefined) requireOneOf(runPhases, update.phase, `${label}: phase`);
    if (update.totalSource != null)
      requireOneOf(runTotalSources, update.totalSource, `${label}: totalSource`);
    requireTotal(update.total, `${label}: total`);
    if (!isStoreId(id)) return false;
    return this.ctx.driver.transaction(label, async (tx) => {
      const [row] = await tx.all<RunRow>(`SELECT ${runColumns} FROM runs WHERE id = ? ${tx.forUpdate}`, [id]);
      if (!row) return false;
      const run = toRunRecord(row);
      if (outcome !== null && run.outcome !== 'running') return false;
      const now = this.ctx.clock.now();
      const sets: string[] = ['counts = ?', 'updated_at = ?'];
      const params: SqlParam[] = [JSON.stringify(addCounts(run.counts, update.addCounts, label)), now];
      if (update.phase !== undefined || outcome !== null) {
        sets.push('phase = ?');
        params.push(outcome !== null ? 'ended' : update.phase!);
      }
      if (update.total !== undefined) {
        sets.push('total = ?');
        params.push(update.total);
      }
      if (update.totalSource !== undefined) {
        sets.push('total_source = ?');
        params.push(update.totalSource);
      }
      if (outcome !== null) {
        sets.push('outcome = ?', 'ended_at = ?');
        params.push(outcome, now);
      }
      await tx.run(`UPDATE runs SET ${sets.join(', ')} WHERE id = ?`, [...params, id]);
      return true;
    });
  }

  async addEvent(
    id: string,
    event: { kind: string; detail?: string | null | undefined; at?: number | undefined },
  ): Promise<void> {
    requireText(event.kind, 'run event: kind');
    const at = event.at ?? this.ctx.clock.now();
    requireTime(at, 'run event: at');
    if (!isStoreId(id))
      throw new StoreError('STORE_INVALID_INPUT', 'run event: the run id is not one this store issued');
    await this.ctx.driver.run('INSERT INTO run_events (run_id, at, kind, detail) VALUES (?, ?, ?, ?)', [
      id,
      at,
      event.kind,
      event.detail ?? null,
    ]);
  }

  async get(id: string): Promise<(RunRecord & { events: RunEvent[] }) | null> {
    if (!isStoreId(id)) return null;
    const [row] = await this.ctx.driver.all<RunRow>(`SELECT ${runColumns} FROM runs WHERE id = ?`, [id]);
    if (!row) return null;
    const events = await this.ctx.driver.all<RunEventRow>(
      'SELECT at, kind, detail FROM run_events WHERE run_id = ? ORDER BY id',
      [id],
    );
    return {
      ...toRunRecord(row),
      events: events.map((e) => ({ at: Number(e.at), kind: e.kind, detail: e.detail })),
    };
  }

  list(filter: RunFilter, page: PageRequest): Promise<Page<RunRecord>> {
    const where = whereAll([
      filter.flow === undefined ? null : ['flow = ?', filter.flow],
      filter.kind === undefined ? null : ['kind = ?', filter.kind],
    ]);
    return selectPage(
      this.ctx.driver,
      { label: 'run list', table: 'runs', columns: runColumns, where, newestFirst: true },
      page,
      toRunRecord,
    );
  }

  async active(): Promise<RunRecord[]> {
    const rows = await this.ctx.driver.all<RunRow>(
      `SELECT ${runColumns} FROM runs WHERE outcome = 'running' ORDER BY id`,
    );
    return rows.map(toRunRecord);
  }

  prune(endedBefore: number): Promise<number> {
    requireTime(endedBefore, 'run prune: endedBefore');
    return this.ctx.driver.transaction('run prune', (tx) => pruneRuns(tx, endedBefore));
  }
}

async function pruneRuns(tx: SqlExecutor, endedBefore: number): Promise<number> {
  await tx.run(
    'DELETE FROM run_events WHERE run_id IN (SELECT id FROM runs WHERE ended_at IS NOT NULL AND ended_at < ?)',
    [endedBefore],
  );
  return tx.run('DELETE FROM runs WHERE ended_at IS NOT NULL AND ended_at < ?', [endedBefore]);
}

function toRunRecord(row: RunRow): RunRecord {
  const what = `run ${row.id}`;
  return {
    id: String(row.id),
    flow: row.flow,
    kind: row.kind as RunRecord['kind'],
    trigger: row.trigger as RunRecord['trigger'],
    subject: row.subject,
    startedAt: Number(row.started_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
    outcome: row.outcome as RunOutcome,
    phase: row.phase as RunRecord['phase'],
    total: row.total === null ? null : Number(row.total),
    totalSource: row.total_source as RunRecord['totalSource'],
    counts: parseStoredJson(runCountsSchema, row.counts, `${what}: counts`),
    updatedAt: Number(row.updated_at),
  };
}
