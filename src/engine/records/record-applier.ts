import { createHash } from 'node:crypto';
import { createIntentEntry, dropCreateIntent } from '../../core/create-intent.js';
import { RecordRejectedError, SyncError } from '../../core/errors.js';
import type { JsonObject, JsonValue } from '../../core/json.js';
import {
  isFullWrite,
  type DeleteChange,
  type RecordChange,
  type UpsertChange,
} from '../../core/record-change.js';
import { matchesFilter } from '../../core/record-filter.js';
import { holdsRecordKey, isOlderSourceVersion } from '../../core/record-key.js';
import { mergeTraceDetail } from '../../core/record-trace.js';
import type {
  AuditEntry,
  CompletionEffects,
  KeyMapEntry,
  StateStore,
  WorkItem,
  WorkLane,
} from '../../core/ports/state-store.js';
import type { Clock } from '../../core/clock.js';
import { noRecordGuard, type RecordGuard } from '../../core/ports/record-guard.js';
import type { ApplyOutcome } from '../engine-stats.js';
import type { Applier, ApplyResult } from '../flow.js';
import { privacyHold } from '../parking.js';
import { KeyMapIntentWriter } from './key-map-intent-writer.js';
import { resolveLinks } from './link-resolver.js';
import type { RecordFlowSettings } from './record-flow.js';
import { findVanishedParent, isNotFoundError } from './vanished-parent-check.js';

function stableStringify(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(value[k] ?? null)}`).join(',')}}`;
}

/** Hash of the fields written, to skip writes that would change nothing. */
export function hashFields(fields: JsonObject): string {
  return createHash('sha256').update(stableStringify(fields)).digest('base64url').slice(0, 32);
}

/**
 * Applies one work item to Campaign, idempotently:
 * - upserts find the Campaign record through the key map, else by its key field (adopting a
 *   record that already carries the Dynamics id), else create it — with a key-map intent written
 *   before the create, so a crash between Campaign's answer and our commit never leads to a
 *   second record (I4);
 * - only records whose key field holds the Dynamics id are ever addressed (I2);
 * - a change older than the last applied version is skipped (I5);
 * - children whose parent has not landed are parked (I6).
 */
export class RecordApplier implements Applier<RecordChange> {
  private readonly intents: KeyMapIntentWriter;
  /** Items being applied whose create was sent (their lease-written intent must stay on failure). */
  private readonly createsSent = new Set<WorkItem>();

  /**
   * @param flow the record flow this applier writes
   * @param recordFlows every record flow by id (a child's parents are found through them)
   */
  constructor(
    private readonly store: StateStore,
    private readonly flow: RecordFlowSettings,
    private readonly recordFlows: ReadonlyMap<string, RecordFlowSettings>,
    private readonly clock: Clock,
    private readonly guard: RecordGuard = noRecordGuard,
  ) {
    this.intents = new KeyMapIntentWriter(store.keyMap);
  }

  async apply(item: WorkItem, change: RecordChange): Promise<ApplyResult> {
    if (item.intentWritten !== true) return this.applyChange(item, change);
    // The lease wrote a create intent for this key: it stays only if the record was created or
    // adopted (the completion then puts the full entry), or if the apply failed once the create was
    // sent (a retry looks the record up first, as after any create intent). Anything else removes it.
    let result: ApplyResult;
    try {
      result = await this.applyChange(item, change);
    } catch (error) {
      if (!this.createsSent.has(item)) await this.dropIntent(item);
      throw error;
    } finally {
      this.createsSent.delete(item);
    }
    if (result.kind === 'park') {
      await this.dropIntent(item);
      return result;
    }
    if (result.effects.keyMap !== undefined) return result;
    return {
      ...result,
      effects: { ...result.effects, keyMap: { op: 'delete', flow: item.flow, recordKey: item.recordKey } },
    };
  }

  /** Remove the lease's create intent; if that fails, the intent stays (a retry looks up first). */
  private dropIntent(item: WorkItem): Promise<void> {
    return dropCreateIntent(this.store.keyMap, item.flow, item.recordKey);
  }

  private async applyChange(item: WorkItem, change: RecordChange): Promise<ApplyResult> {
    const flow = this.flow;
    const verdict = await this.guard.check(flow.id, item.recordKey);
    if (verdict === 'hold') {
      return {
        kind: 'park',
        parent: privacyHold(item.recordKey),
        reason: 'held: a privacy request is in progress',
      };
    }
    if (verdict === 'tombstone') return this.done('tombstoned', {}, false);
    // Read with the lease when the runner leased it (one round trip less), else now.
    const entry = item.keyMap !== undefined ? item.keyMap : await this.intents.get(flow.id, item.recordKey);
    const lane = item.lane;
    if (change.op === 'delete') return this.applyDelete(flow, item, change, entry, lane, 'deleted');

    if (isOlderSourceVersion(item.sourceVersion, entry?.lastSourceVersion ?? null)) {
      return this.done('stale', {}, false);
    }
    if (!matchesFilter(flow.filter, change.values)) {
      if (entry && flow.deleteWhenFilteredOut) {
        return this.applyDelete(
          flow,
          item,
          { op: 'delete', origin: change.origin, reason: 'deleted' },
          entry,
          lane,
          'filtered-out',
        );
      }
      return this.done('filtered', {}, false, true);
    }
    const prepared = (await flow.upsertHook?.prepare({ item, change, lane })) ?? null;
    if (!prepared) return this.upsertOrPark(flow, item, change, entry, lane);
    const result = await this.applyUpsert(flow, item, prepared.change, entry, lane, prepared);
    if (result.kind === 'done') await prepared.afterApplied(result.outcome);
    return result;
  }

  private done(
    outcome: ApplyOutcome,
    effects: CompletionEffects,
    landed: boolean,
    outOfScope = false,
  ): ApplyResult {
    return { kind: 'done', outcome, effects, landed, ...(outOfScope ? { outOfScope } : {}) };
  }

  private audit(
    flow: RecordFlowSettings,
    key: string,
    action: string,
    fields: string[],
    outcome: string,
    detail: string | null = null,
  ): Omit<AuditEntry, 'id'> {
    return {
      at: this.clock.now(),
      actor: 'engine',
      action,
      flow: flow.id,
      recordKey: key,
      fields,
      outcome,
      detail,
    };
  }

  /**
   * Upsert a record with links; when Campaign answers "not found" because a linked parent vanished
   * (a cascade our key map has not heard of yet), park on that parent instead of failing (I6).
   */
  private async upsertOrPark(
    flow: RecordFlowSettings,
    item: WorkItem,
    change: UpsertChange,
    entry: KeyMapEntry | null,
    lane: WorkLane,
  ): Promise<ApplyResult> {
    try {
      return await this.applyUpsert(flow, item, change, entry, lane);
    } catch (error) {
      if (flow.links.length === 0 || !isNotFoundError(error)) throw error;
      const parent = await findVanishedParent(this.store.keyMap, this.recordFlows, flow, change.values, lane);
      if (!parent) throw error;
      return { kind: 'park', parent, reason: `parent ${parent.flow}/${parent.recordKey} not in Campaign` };
    }
  }

  private async applyUpsert(
    flow: RecordFlowSettings,
    item: WorkItem,
    change: UpsertChange,
    entry: KeyMapEntry | null,
    lane: WorkLane,
    extra: { forceWrite: boolean; extraFields: JsonObject } = { forceWrite: false, extraFields: {} },
  ): Promise<ApplyResult> {
    const key = item.recordKey;
    const links = await resolveLinks(this.store.keyMap, flow, change.values);
    if (links.kind === 'missing')
      return { kind: 'park', parent: links.parent, reason: links.reason, state: links.state };
    // The trace shows the parents a record links to.
    const linked = (result: ApplyResult): ApplyResult =>
      withLinkedParents(result, links.parents, flow.id, key);
    const full = isFullWrite(change);
    const mode = entry?.campaignPKey ? (full ? 'full' : 'update') : 'create';
    const mapped = flow.mapping.apply(change.values, mode, flow.optionLabels);
    if (mapped.problems.length > 0) {
      const detail = mapped.problems.map((p) => `${p.source}→${p.target}: ${p.reason}`).join('; ');
      throw new RecordRejectedError(
        key,
        'MAPPING_INVALID',
        `record ${flow.id}/${key} cannot be mapped: ${detail}`,
      );
    }
    const fields: JsonObject = { ...mapped.fields, ...links.fields, [flow.sink.keyField]: key };
    const hash = hashFields(fields);
    const fieldNames = Object.keys(fields).sort();
    const version = item.sourceVersion ?? entry?.lastSourceVersion ?? null;

    if (entry?.campaignPKey) {
      if (entry.lastPayloadHash === hash && !full && !extra.forceWrite) {
        return this.done(
          'unchanged',
          { keyMap: { op: 'put', entry: { ...entry, lastSourceVersion: version } } },
          true,
        );
      }
      const outcome = await flow.sink.update(
        entry.campaignPKey,
        { ...fields, ...extra.extraFields },
        { lane },
      );
      if (outcome === 'ok') {
        return linked(
          this.done(
            'updated',
            {
              keyMap: { op: 'put', entry: { ...entry, lastSourceVersion: version, lastPayloadHash: hash } },
              audit: [this.audit(flow, key, `${flow.sink.resource}.update`, fieldNames, 'ok')],
              resolveDeadLetters: true,
            },
            true,
          ),
        );
      }
      // The record vanished from Campaign behind our back: Dynamics is the source of truth, so
      // write it again (create-mode mapping, so create-only fields are present).
      return this.createOrAdopt(
        flow,
        item,
        change,
        null,
        lane,
        links.fields,
        'recreated after it disappeared from Campaign',
        extra.extraFields,
      ).then(linked);
    }
    return linked(
      await this.createOrAdopt(flow, item, change, entry, lane, links.fields, null, extra.extraFields),
    );
  }

  private async createOrAdopt(
    flow: RecordFlowSettings,
    item: WorkItem,
    change: UpsertChange,
    entry: KeyMapEntry | null,
    lane: WorkLane,
    linkFields: JsonObject,
    detail: string | null,
    extraFields: JsonObject = {},
  ): Promise<ApplyResult> {
    const key = item.recordKey;
    const mapped = flow.mapping.apply(change.values, 'create', flow.optionLabels);
    const fields: JsonObject = { ...mapped.fields, ...linkFields, [flow.sink.keyField]: key };
    const hash = hashFields(fields);
    const written: JsonObject = { ...fields, ...extraFields };
    const fieldNames = Object.keys(fields).sort();
    const version = item.sourceVersion ?? null;
    const intentWritten = entry !== null && entry.campaignPKey === null && entry.origin === 'created';

    // With a unique key and no earlier attempt, create first: Campaign refuses a duplicate, so
    // one call does it. Otherwise (or after a crash) look up first so nothing is created twice.
    const lookupFirst = !flow.sink.keyIsUnique || intentWritten;
    if (lookupFirst) {
      const adopted = await this.adoptExisting(
        flow,
        key,
        written,
        hash,
        version,
        lane,
        intentWritten,
        detail,
      );
      if (adopted) return adopted;
    }
    // The lease may have written the intent already (WorkItem.intentWritten).
    if (!intentWritten && item.intentWritten !== true) {
      await this.intents.write(createIntentEntry(flow.id, key));
    }
    this.createsSent.add(item);
    const created = await flow.sink.create(written, { lane });
    if ('duplicate' in created) {
      const adopted = await this.adoptExisting(flow, key, written, hash, version, lane, false, detail);
      if (adopted) return adopted;
      throw new SyncError(
        'SINK_KEY_CONFLICT',
        `${flow.sink.resource} ${flow.sink.keyField}=${key} exists in Campaign but cannot be read (hidden child?); will retry`,
      );
    }
    return this.done(
      'created',
      {
        keyMap: {
          op: 'put',
          entry: {
            flow: flow.id,
            recordKey: key,
            campaignPKey: created.pkey,
            origin: 'created',
            lastSourceVersion: version,
            lastPayloadHash: hash,
          },
        },
        audit: [this.audit(flow, key, `${flow.sink.resource}.create`, fieldNames, 'ok', detail)],
        resolveDeadLetters: true,
      },
      true,
    );
  }

  /**
   * Find the record by its key field and bring it in line: it was created by us before a crash
   * (our intent is in the key map) or it existed before the sync and carries the Dynamics id.
   */
  private async adoptExisting(
    flow: RecordFlowSettings,
    key: string,
    fields: JsonObject,
    hash: string,
    version: string | null,
    lane: WorkLane,
    intentWritten: boolean,
    detail: string | null,
  ): Promise<ApplyResult | null> {
    const existing = await flow.sink.findByKey(key, { lane });
    if (!existing) return null;
    if (!holdsRecordKey(existing.fields[flow.sink.keyField], key)) {
      // The look-up answered with a record that does not carry this key: never touch it (I2).
      return this.done('skipped-foreign', {}, false);
    }
    const origin = intentWritten ? 'created' : 'adopted';
    await flow.sink.update(existing.pkey, fields, { lane });
    return this.done(
      origin,
      {
        keyMap: {
          op: 'put',
          entry: {
            flow: flow.id,
            recordKey: key,
            campaignPKey: existing.pkey,
            origin,
            lastSourceVersion: version,
            lastPayloadHash: hash,
          },
        },
        audit: [
          this.audit(
            flow,
            key,
            `${flow.sink.resource}.${origin === 'created' ? 'create' : 'adopt'}`,
            Object.keys(fields).sort(),
            'ok',
            detail,
          ),
        ],
        resolveDeadLetters: true,
      },
      true,
    );
  }

  /**
   * Apply a delete (or a record leaving the filter). A delete supersedes the key's dead letters
   * whatever happens in Campaign: they hold older states of a record that is gone, and an
   * operator's later retry must not bring it back. That is recorded as `dlq.superseded`. A delete
   * of a record Campaign does not hold (a create that never got there, cancelled by a delete or a
   * re-baseline) is recorded with the outcome `absent`.
   */
  private async applyDelete(
    flow: RecordFlowSettings,
    item: WorkItem,
    change: DeleteChange,
    entry: KeyMapEntry | null,
    lane: WorkLane,
    why: 'deleted' | 'filtered-out',
  ): Promise<ApplyResult> {
    const key = item.recordKey;
    const superseded = await this.supersedeDeadLetters(flow, key, why);
    if (!flow.deletes && why === 'deleted') return this.done('skipped-delete', superseded, false);
    let pkey = entry?.campaignPKey ?? null;
    if (!pkey) {
      const existing = await flow.sink.findByKey(key, { lane });
      if (existing && holdsRecordKey(existing.fields[flow.sink.keyField], key)) pkey = existing.pkey;
    }
    const detail =
      why === 'filtered-out'
        ? 'regular delete: record left the flow filter'
        : change.reason === 'missing-after-rebaseline'
          ? 'regular delete: record missing from Dynamics after re-baseline (not a privacy delete)'
          : 'regular delete (not a privacy delete)';
    const action = `${flow.sink.resource}.delete`;
    if (!pkey) {
      return this.done(
        'absent',
        {
          ...(entry ? { keyMap: { op: 'delete' as const, flow: flow.id, recordKey: key } } : {}),
          audit: [
            this.audit(flow, key, action, [], 'absent', `${detail}; not in Campaign`),
            ...(superseded.audit ?? []),
          ],
          resolveDeadLetters: true,
        },
        false,
        why === 'filtered-out',
      );
    }
    const outcome = await flow.sink.delete(pkey, { lane });
    return this.done(
      outcome === 'ok' ? 'deleted' : 'absent',
      {
        keyMap: { op: 'delete', flow: flow.id, recordKey: key },
        audit: [this.audit(flow, key, action, [], outcome, detail), ...(superseded.audit ?? [])],
        resolveDeadLetters: true,
      },
      false,
      why === 'filtered-out',
    );
  }

  /** Completion effects that resolve the key's dead letters, with an audit entry when there are any. */
  private async supersedeDeadLetters(
    flow: RecordFlowSettings,
    key: string,
    why: 'deleted' | 'filtered-out',
  ): Promise<CompletionEffects> {
    const count = await this.store.deadLetters.count({ flow: flow.id, recordKey: key });
    if (count === 0) return {};
    return {
      audit: [
        this.audit(
          flow,
          key,
          'dlq.superseded',
          [],
          'ok',
          `${count} dead letter(s) superseded: the record ${why === 'deleted' ? 'was deleted in Dynamics' : 'left the flow filter'}`,
        ),
      ],
      resolveDeadLetters: true,
    };
  }
}

/** Name the parents a record links to in its own audit entry's detail (ids only). */
function withLinkedParents(
  result: ApplyResult,
  parents: readonly { flow: string; recordKey: string }[],
  flow: string,
  key: string,
): ApplyResult {
  if (result.kind !== 'done' || parents.length === 0 || result.effects.audit === undefined) return result;
  const refs = parents.map((p) => ({ flow: p.flow, recordKey: p.recordKey }));
  const audit = result.effects.audit.map((entry) =>
    entry.flow === flow && entry.recordKey === key
      ? { ...entry, trace: mergeTraceDetail(entry.trace, { parents: refs }) }
      : entry,
  );
  return { ...result, effects: { ...result.effects, audit } };
}
