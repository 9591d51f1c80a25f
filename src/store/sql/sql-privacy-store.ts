import { z } from 'zod';
import { parseStoredJson } from './stored-json.js';
import { StoreError } from '../../core/errors.js';
import type { GuardVerdict } from '../../core/ports/record-guard.js';
import { PRIVACY_HOLD_FLOW } from '../../core/ports/record-guard.js';
import {
  activePrivacyRequestStates,
  PRIVACY_GUARD_REFRESH_MS,
  type PrivacyGuardKind,
  privacyLinkedRecordSchema,
  type PrivacyPurgeReport,
  type PrivacyRequest,
  type PrivacyRequestFilter,
  type PrivacyRequestInput,
  type PrivacyRequestPatch,
  type PrivacyStep,
  type PrivacyStepEntry,
  type PrivacyStepOutcome,
  type PrivacyStore,
} from '../../core/ports/privacy-store.js';
import type { AuditEntry, Page, PageRequest } from '../../core/ports/state-store.js';
import { insertAuditEntries } from './sql-audit-store.js';
import type { SqlExecutor, SqlParam } from './sql-driver.js';
import { chunk, isStoreId, keyOf, placeholders, whereAll } from './sql-list.js';
import type { SqlStoreContext } from './sql-store-context.js';
import { requireText } from './staged-change-input.js';
import { itemsOfKeys } from './work-item-row.js';

interface RequestRow {
  id: string | number;
  type: string;
  contact_key: string;
  regulation: string;
  state: string;
  step: string;
  requested_by: string;
  created_at: number | string;
  updated_at: number | string;
  next_attempt_at: number | string;
  attempts: number | string;
  job_id: string | null;
  held_at: number | string | null;
  tombstoned_at: number | string | null;
  profile_pkey: string | null;
  linked: string;
  error_code: string | null;
  error_message: string | null;
  [column: string]: unknown;
}

interface StepRow {
  id: string | number;
  request_id: string | number;
  step: string;
  outcome: string;
  started_at: number | string;
  finished_at: number | string;
  detail: string | null;
  [column: string]: unknown;
}

const requestColumns =
  'id, type, contact_key, regulation, state, step, requested_by, created_at, updated_at, next_attempt_at, ' +
  'attempts, job_id, held_at, tombstoned_at, profile_pkey, linked, error_code, error_message';
const activeStates = `(${activePrivacyRequestStates.map((s) => `'${s}'`).join(', ')})`;

/** Request patch field → column. */
const patchColumns: Record<keyof PrivacyRequestPatch, string> = {
  state: 'state',
  step: 'step',
  nextAttemptAt: 'next_attempt_at',
  attempts: 'attempts',
  jobId: 'job_id',
  heldAt: 'held_at',
  tombstonedAt: 'tombstoned_at',
  profilePKey: 'profile_pkey',
  linked: 'linked',
  errorCode: 'error_code',
  errorMessage: 'error_message',
};

const defaultPageLimit = 100;
const maxPageLimit = 1000;
const keysPerStatement = 400;

/** Above this many guards the engine asks the database per record instead of caching them all. */
const snapshotLimit = 50_000;

interface GuardSnapshot {
  version: string;
  /** null: too many guards to cache; look each key up. */
  guards: Map<string, PrivacyGuardKind> | null;
  checkedAt: number;
}

/**
 * Privacy requests, their step history, holds and tombstones (`privacy_*` tables), and the
 * record guard the engine asks before every write. The guard caches all guards in memory and
 * re-reads them only when `privacy_guard_version` moved, at most once per
 * {@link PRIVACY_GUARD_REFRESH_MS} — so a check costs a map look-up, not a query.
 */
export class SqlPrivacyStore implements PrivacyStore {
  private snapshot: GuardSnapshot | null = null;
  private refreshing: Promise<GuardSnapshot> | null = null;

  constructor(private readonly ctx: SqlStoreContext) {}

  async create(input: PrivacyRequestInput): Promise<{ request: PrivacyRequest; created: boolean }> {
    requireText(input.contactKey, 'privacy request: contactKey');
    requireText(input.regulation, 'privacy request: regulation');
    requireText(input.requestedBy, 'privacy request: requestedBy');
    const now = this.ctx.clock.now();
    return this.ctx.driver.transaction('create privacy request', async (tx) => {
      await tx.lockKeys([keyOf('privacy-request', input.contactKey)]);
      if (input.type === 'delete') {
        const active = await tx.all<RequestRow>(
          `SELECT ${requestColumns} FROM privacy_requests WHERE contact_key = ? AND type = 'delete' AND state IN ${activeStates}`,
          [input.contactKey],
        );
        if (active[0] !== undefined) return { request: toRequest(active[0]), created: false };
      }
      const firstStep: PrivacyStep = input.type === 'delete' ? 'hold' : 'gather';
      const rows = await tx.all<RequestRow>(
        'INSERT INTO privacy_requests (type, contact_key, regulation, state, step, requested_by, created_at, updated_at, next_attempt_at) ' +
          `VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?) RETURNING ${requestColumns}`,
        [input.type, input.contactKey, input.regulation, firstStep, input.requestedBy, now, now, now],
      );
      const request = toRequest(rows[0]!);
      await insertSteps(tx, request.id, [
        { step: firstStep, outcome: 'requested', startedAt: now, finishedAt: now, detail: null },
      ]);
      return { request, created: true };
    });
  }

  async get(id: string): Promise<PrivacyRequest | null> {
    if (!isStoreId(id)) return null;
    const rows = await this.ctx.driver.all<RequestRow>(
      `SELECT ${requestColumns} FROM privacy_requests WHERE id = ?`,
      [id],
    );
    return rows[0] === undefined ? null : toRequest(rows[0]);
  }

  async list(filter: PrivacyRequestFilter, page: PageRequest): Promise<Page<PrivacyRequest>> {
    const limit = page.limit ?? defaultPageLimit;
    if (!Number.isInteger(limit) || limit < 1)
      throw new StoreError('STORE_INVALID_INPUT', 'privacy list: page limit must be a positive integer');
    const before = decodeCursor(page.cursor);
    const where = whereAll([
      filter.state === undefined ? null : ['state = ?', filter.state],
      filter.type === undefined ? null : ['type = ?', filter.type],
      filter.contactKey === undefined ? null : ['contact_key = ?', filter.contactKey],
      before === null ? null : ['id < ?', before],
    ]);
    const size = Math.min(limit, maxPageLimit);
    const rows = await this.ctx.driver.all<RequestRow>(
      `SELECT ${requestColumns} FROM privacy_requests WHERE ${where.sql} ORDER BY id DESC LIMIT ?`,
      [...where.params, size + 1],
    );
    const items = rows.slice(0, size).map(toRequest);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > size && last ? encodeCursor(last.id) : null };
  }

  async due(now: number, limit: number): Promise<PrivacyRequest[]> {
    const rows = await this.ctx.driver.all<RequestRow>(
      `SELECT ${requestColumns} FROM privacy_requests WHERE state IN ${activeStates} AND next_attempt_at <= ? ` +
        'ORDER BY next_attempt_at, id LIMIT ?',
      [now, limit],
    );
    return rows.map(toRequest);
  }

  async advance(
    id: string,
    expectedStep: PrivacyStep,
    patch: PrivacyRequestPatch,
    history: readonly Omit<PrivacyStepEntry, 'id' | 'requestId'>[],
    audit: readonly Omit<AuditEntry, 'id'>[] = [],
  ): Promise<boolean> {
    if (!isStoreId(id)) return false;
    const sets: string[] = ['updated_at = ?'];
    const params: SqlParam[] = [this.ctx.clock.now()];
    for (const [field, value] of Object.entries(patch) as [keyof PrivacyRequestPatch, unknown][]) {
      if (value === undefined) continue;
      sets.push(`${patchColumns[field]} = ?`);
      params.push(field === 'linked' ? JSON.stringify(value) : (value as SqlParam));
    }
    return this.ctx.driver.transaction('advance privacy request', async (tx) => {
      const changed = await tx.run(
        `UPDATE privacy_requests SET ${sets.join(', ')} WHERE id = ? AND step = ? AND state IN ${activeStates}`,
        [...params, id, expectedStep],
      );
      if (changed === 0) return false;
      await insertSteps(tx, id, history);
      if (audit.length > 0) await insertAuditEntries(tx, audit);
      return true;
    });
  }

  async steps(requestId: string): Promise<PrivacyStepEntry[]> {
    if (!isStoreId(requestId)) return [];
    const rows = await this.ctx.driver.all<StepRow>(
      'SELECT id, request_id, step, outcome, started_at, finished_at, detail FROM privacy_request_steps ' +
        'WHERE request_id = ? ORDER BY id',
      [requestId],
    );
    return rows.map(toStep);
  }

  async hold(recordKeys: readonly string[], requestId: string): Promise<void> {
    const keys = [...new Set(recordKeys)];
    if (keys.length === 0) return;
    const now = this.ctx.clock.now();
    await this.ctx.driver.transaction('privacy hold', async (tx) => {
      for (const part of chunk(keys, keysPerStatement)) {
        await tx.run(
          'INSERT INTO privacy_guards (record_key, kind, request_id, created_at) VALUES ' +
            part.map(() => "(?, 'hold', ?, ?)").join(', ') +
            " ON CONFLICT (record_key) DO UPDATE SET request_id = excluded.request_id WHERE privacy_guards.kind = 'hold'",
          part.flatMap((key) => [key, requestId, now]),
        );
      }
      await bumpGuardVersion(tx);
    });
    this.snapshot = null;
  }

  async tombstone(recordKeys: readonly string[]): Promise<void> {
    const keys = [...new Set(recordKeys)];
    if (keys.length === 0) return;
    const now = this.ctx.clock.now();
    await this.ctx.driver.transaction('privacy tombstone', async (tx) => {
      for (const part of chunk(keys, keysPerStatement)) {
        await tx.run(
          'INSERT INTO privacy_guards (record_key, kind, request_id, created_at) VALUES ' +
            part.map(() => "(?, 'tombstone', NULL, ?)").join(', ') +
            ' ON CONFLICT (record_key) DO UPDATE SET kind = excluded.kind, request_id = NULL, created_at = excluded.created_at ' +
            "WHERE privacy_guards.kind = 'hold'",
          part.flatMap((key) => [key, now]),
        );
      }
      await bumpGuardVersion(tx);
    });
    this.snapshot = null;
  }

  async releaseHolds(recordKeys: readonly string[], requestId: string): Promise<number> {
    const keys = [...new Set(recordKeys)];
    if (keys.length === 0) return 0;
    const released = await this.ctx.driver.transaction('privacy release', async (tx) => {
      let count = 0;
      for (const part of chunk(keys, keysPerStatement)) {
        count += await tx.run(
          `DELETE FROM privacy_guards WHERE kind = 'hold' AND request_id = ? AND record_key IN (${placeholders(part.length)})`,
          [requestId, ...part],
        );
      }
      if (count > 0) await bumpGuardVersion(tx);
      return count;
    });
    this.snapshot = null;
    return released;
  }

  async guardOf(
    recordKey: string,
  ): Promise<{ kind: PrivacyGuardKind; requestId: string | null; at: number } | null> {
    const rows = await this.ctx.driver.all<{
      kind: PrivacyGuardKind;
      request_id: string | number | null;
      created_at: number | string;
    }>('SELECT kind, request_id, created_at FROM privacy_guards WHERE record_key = ?', [recordKey]);
    const row = rows[0];
    if (row === undefined) return null;
    return {
      kind: row.kind,
      requestId: row.request_id === null ? null : String(row.request_id),
      at: Number(row.created_at),
    };
  }

  async purge(records: readonly { flow: string; recordKey: string }[]): Promise<PrivacyPurgeReport> {
    const report: PrivacyPurgeReport = { workItems: 0, parked: 0, deadLetters: 0, keyMap: 0 };
    if (records.length === 0) return report;
    return this.ctx.driver.transaction('privacy purge', async (tx) => {
      await tx.lockKeys([...new Set(records.map((r) => keyOf(r.flow, r.recordKey)))].sort());
      for (const { flow, recordKey } of records) {
        const own = [flow, recordKey];
        const items = itemsOfKeys(flow, [recordKey]);
        report.workItems += await tx.run(`DELETE FROM work_items WHERE ${items.sql}`, items.params);
        report.parked += await tx.run(
          'DELETE FROM parked_items WHERE (flow = ? AND record_key = ?) OR (parent_flow = ? AND parent_key = ?) ' +
            'OR (parent_flow = ? AND parent_key = ?)',
          [...own, ...own, PRIVACY_HOLD_FLOW, recordKey],
        );
        report.deadLetters += await tx.run('DELETE FROM dead_letters WHERE flow = ? AND record_key = ?', own);
        report.keyMap += await tx.run('DELETE FROM key_map WHERE flow = ? AND record_key = ?', own);
        await tx.run('DELETE FROM key_seen WHERE flow = ? AND record_key = ?', own);
      }
      return report;
    });
  }

  /** The record guard (I9): `hold` while a request runs, `tombstone` once the record is deleted. */
  async check(_flow: string, recordKey: string): Promise<GuardVerdict> {
    const snapshot = await this.currentSnapshot();
    if (snapshot.guards) return snapshot.guards.get(recordKey) ?? null;
    return (await this.guardOf(recordKey))?.kind ?? null;
  }

  private async currentSnapshot(): Promise<GuardSnapshot> {
    const current = this.snapshot;
    if (current && performance.now() - current.checkedAt < PRIVACY_GUARD_REFRESH_MS) return current;
    this.refreshing ??= this.refreshSnapshot(current).finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async refreshSnapshot(previous: GuardSnapshot | null): Promise<GuardSnapshot> {
    const checkedAt = performance.now();
    const versions = await this.ctx.driver.all<{ version: number | string }>(
      'SELECT version FROM privacy_guard_version WHERE id = 1',
    );
    const version = String(versions[0]?.version ?? '0');
    if (previous && previous.version === version) {
      this.snapshot = { ...previous, checkedAt };
      return this.snapshot;
    }
    const counted = await this.ctx.driver.all<{ n: number | string }>(
      'SELECT COUNT(*) AS n FROM privacy_guards',
    );
    let guards: Map<string, PrivacyGuardKind> | null = null;
    if (Number(counted[0]?.n ?? 0) <= snapshotLimit) {
      const rows = await this.ctx.driver.all<{ record_key: string; kind: PrivacyGuardKind }>(
        'SELECT record_key, kind FROM privacy_guards',
      );
      guards = new Map(rows.map((row) => [row.record_key, row.kind]));
    }
    this.snapshot = { version, guards, checkedAt };
    return this.snapshot;
  }
}

async function bumpGuardVersion(executor: SqlExecutor): Promise<void> {
  // An upsert, so a table emptied by hand (or by a test) still counts changes.
  await executor.run(
    'INSERT INTO privacy_guard_version (id, version) VALUES (1, 1) ' +
      'ON CONFLICT (id) DO UPDATE SET version = privacy_guard_version.version + 1',
  );
}

async function insertSteps(
  executor: SqlExecutor,
  requestId: string,
  history: readonly Omit<PrivacyStepEntry, 'id' | 'requestId'>[],
): Promise<void> {
  for (const entry of history) {
    await executor.run(
      'INSERT INTO privacy_request_steps (request_id, step, outcome, started_at, finished_at, detail) VALUES (?, ?, ?, ?, ?, ?)',
      [requestId, entry.step, entry.outcome, entry.startedAt, entry.finishedAt, entry.detail],
    );
  }
}

function toNumberOrNull(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

function toRequest(row: RequestRow): PrivacyRequest {
  return {
    id: String(row.id),
    type: row.type as PrivacyRequest['type'],
    contactKey: row.contact_key,
    regulation: row.regulation,
    state: row.state as PrivacyRequest['state'],
    step: row.step as PrivacyStep,
    requestedBy: row.requested_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    nextAttemptAt: Number(row.next_attempt_at),
    attempts: Number(row.attempts),
    jobId: row.job_id,
    heldAt: toNumberOrNull(row.held_at),
    tombstonedAt: toNumberOrNull(row.tombstoned_at),
    profilePKey: row.profile_pkey,
    linked: parseStoredJson(
      z.array(privacyLinkedRecordSchema),
      row.linked,
      `privacy request ${row.id}: linked records`,
    ),
    errorCode: row.error_code,
    errorMessage: row.error_message,
  };
}

function toStep(row: StepRow): PrivacyStepEntry {
  return {
    id: String(row.id),
    requestId: String(row.request_id),
    step: row.step as PrivacyStep,
    outcome: row.outcome as PrivacyStepOutcome,
    startedAt: Number(row.started_at),
    finishedAt: Number(row.finished_at),
    detail: row.detail,
  };
}

function encodeCursor(id: string): string {
  return Buffer.from(`privacy:${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  const match = /^privacy:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match === null)
    throw new StoreError(
      'STORE_INVALID_CURSOR',
      'privacy list: the page cursor is not one this store issued',
    );
  return match[1]!;
}
