/**
 * The State port: everything the engine needs to resume after a crash (DESIGN.md §4).
 *
 * Two adapters implement it — SQLite (embedded default) and PostgreSQL (scale-out) — and both
 * pass one contract suite (`test/integration/store/state-store-contract.ts`). The engine never
 * relies on behaviour that only one adapter has.
 *
 * Time: every method that reasons about time reads the injected {@link Clock} given to the
 * adapter, never the database's own clock, so leases and backoff are testable without sleeping.
 *
 * Glossary (docs/glossary.md): a *work item* is the newest known state of one record that still
 * has to be written to a sink; its *record key* identifies the record within a *flow*; a *lease*
 * is a time-bounded claim on a work item by one worker; a *dead letter* is a work item that will
 * not be retried without an operator; a *parked* item waits for its parent record.
 */
import type { JsonValue } from '../json.js';
import type { RecordTraceDetail } from '../record-trace.js';
import type { BudgetStore } from './budget-store.js';
import type { OptOutStore } from './opt-out-store.js';
import type { PrivacyStore } from './privacy-store.js';
import type { WorkerStore } from './worker-store.js';

/** Work states of an item in the durable inbox. */
export const workStates = ['queued', 'leased'] as const;
export type WorkState = (typeof workStates)[number];

/**
 * Lanes order work: `live` changes always lease before `bulk` work (initial load, replay,
 * re-baseline), so a large load never starves streaming.
 */
export const workLanes = ['live', 'bulk'] as const;
export type WorkLane = (typeof workLanes)[number];

/** One change to stage in the inbox. */
export interface WorkItemInput {
  /** Flow id, e.g. `contacts` or `table:new_order`. */
  flow: string;
  /** Record key within the flow (for Dynamics records: the lower-case GUID). */
  recordKey: string;
  /** The change to apply: the newest state of the record (or a delete marker). Opaque to the store. */
  payload: JsonValue;
  /**
   * Source version (Dataverse `versionnumber`, decimal digits) when known. When both the queued
   * item and the new one carry a version, a lower new version never replaces a higher queued one.
   */
  sourceVersion?: string | undefined;
  /** @default 'live' */
  lane?: WorkLane | undefined;
  /** Not leasable before this time (ms since epoch). @default now */
  availableAt?: number | undefined;
}

/** What happened to one staged item. */
export const enqueueOutcomes = ['queued', 'coalesced', 'stale', 'folded-into-parked'] as const;
export type EnqueueOutcome = (typeof enqueueOutcomes)[number];

/** A work item as the store holds it. */
export interface WorkItem {
  /** Store-assigned id, unique across flows; increases with staging order. */
  id: string;
  flow: string;
  recordKey: string;
  payload: JsonValue;
  sourceVersion: string | null;
  lane: WorkLane;
  state: WorkState;
  /** How many times this item has been leased (a crash mid-write counts as an attempt). */
  attempts: number;
  enqueuedAt: number;
  availableAt: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** Last failure, if the item was retried. */
  lastError: FailureInfo | null;
  /** When the item (or an item it superseded) first failed; null if it never failed. */
  firstFailedAt: number | null;
  /**
   * The key-map entry of the item's key (`null`: none) as the lease found it, when the lease asked
   * for it ({@link LeaseRequest.withKeyMap}): what a read right after the lease would return, without
   * its round trip (the key's changes are the lease holder's to make).
   */
  keyMap?: KeyMapEntry | null;
  /**
   * The lease wrote a create intent for the item's key ({@link LeaseRequest.createIntents}): the key
   * had no key-map entry (`keyMap` is null, as the lease found it) and now has one with no Campaign
   * PKey and origin `created`, committed with the lease. The holder may create the record without
   * writing the intent itself; if it does not create (nor adopt) the record, it removes the entry.
   */
  intentWritten?: boolean;
}

/** A work item without its payload and lease bookkeeping. */
export type WorkItemHead = Pick<
  WorkItem,
  'id' | 'flow' | 'recordKey' | 'sourceVersion' | 'lane' | 'enqueuedAt'
>;

export interface FailureInfo {
  code: string;
  /** Human-readable reason; never holds personal data or secrets. */
  message: string;
  retryable: boolean;
}

export interface LeaseRequest {
  /** Worker identity (host:pid:n); recorded on the lease. */
  owner: string;
  /** Maximum number of items to lease. */
  limit: number;
  /** Lease duration. Items whose lease expired are taken over by the next `lease` call. */
  leaseMs: number;
  /** Only these flows. @default all flows */
  flows?: readonly string[] | undefined;
  /** Only these lanes. @default all lanes, `live` first */
  lanes?: readonly WorkLane[] | undefined;
  /** Return each item with its key-map entry ({@link WorkItem.keyMap}). @default false */
  withKeyMap?: boolean | undefined;
  /**
   * Flows whose leased items, when their key has no key-map entry, get a create intent written in
   * the lease's own commit ({@link WorkItem.intentWritten}): the write that must be durable before a
   * create is sent, without a commit (SQLite) or round trip (PostgreSQL) of its own. Needs
   * `withKeyMap`. @default none
   */
  createIntents?: readonly string[] | undefined;
}

/** Result of completing or failing a leased item. `lost` means the lease expired and someone else owns it now. */
export type LeaseOutcome = 'ok' | 'lost';

export interface FailRequest {
  id: string;
  owner: string;
  error: FailureInfo;
  /**
   * When to try again (whole ms since epoch). `null` moves the item to the dead letters: one dead
   * letter per flow, record key and error code, so a record that fails again for the same cause
   * updates its dead letter (see {@link DeadLetter}) instead of adding one. The engine computes it
   * from its `RetryPolicy` (and the remote's `Retry-After`).
   */
  retryAt: number | null;
  /**
   * Whether this try uses up an attempt. `false` gives the attempt its lease took back (a
   * throttled try: not the record's fault). Only meaningful with a `retryAt`. @default true
   */
  countsAttempt?: boolean;
  /**
   * Audit entries to append in the same transaction (the trace's failed attempt or dead letter);
   * written only when the lease is still ours.
   */
  audit?: readonly Omit<AuditEntry, 'id'>[] | undefined;
}

export interface CheckpointWrite {
  name: string;
  value: string;
}

/** The durable inbox: staged changes, coalesced per record key, leased by workers. */
export interface WorkQueue {
  /**
   * Stage changes atomically, optionally together with a checkpoint (e.g. the next delta link),
   * so a checkpoint never advances past changes that are not durably staged.
   *
   * Per record key, at most one item is queued: a newer change replaces the queued one
   * (`coalesced`; the more urgent lane is kept) unless its `sourceVersion` is lower (`stale`).
   * A record whose item is leased gets a second, queued item that is not leasable until the lease
   * ends, so one key never runs twice at once and changes apply in source order.
   * A record that is parked has its parked payload replaced instead (`folded-into-parked`).
   * With a `fence`, nothing is written unless the lock still names its owner at its epoch
   * (`STORE_LOCK_LOST`): one statement per call, in the same transaction.
   */
  enqueue(
    items: readonly WorkItemInput[],
    checkpoint?: CheckpointWrite,
    fence?: LockFence,
  ): Promise<EnqueueOutcome[]>;

  /**
   * Lease up to `limit` available items: `live` lane first, then staging order. Never leases an
   * item whose record key already has an unexpired lease. Expired leases are taken over (the old
   * owner's later `complete`/`fail` returns `lost`); when a newer item for the same key is queued,
   * the expired older one is dropped instead.
   */
  lease(request: LeaseRequest): Promise<WorkItem[]>;

  /** Extend a lease (heartbeat). */
  extendLease(id: string, owner: string, leaseMs: number): Promise<LeaseOutcome>;

  /**
   * {@link extendLease} for many items at once (the bulk lane holds a whole file's items while
   * Campaign imports it). Returns how many leases are still ours and were extended.
   */
  extendLeases(ids: readonly string[], owner: string, leaseMs: number): Promise<number>;

  /**
   * End now the leases of one flow and lane that run past `heldPast` (whoever owns them): they are
   * then taken over like any lapsed lease. The bulk lane holds a file's items with a long lease
   * (one row write per item, not one per heartbeat); the worker that takes the lane over releases
   * what a dead holder left this way. Returns how many leases it ended.
   */
  expireLeases(request: { flow: string; lane: WorkLane; heldPast: number }): Promise<number>;

  /**
   * The leased items among `ids` that `owner` still holds, without their payloads (the bulk lane
   * keeps only the ids of a file's rows in memory), in no particular order.
   */
  leasedHeads(ids: readonly string[], owner: string): Promise<WorkItemHead[]>;

  /**
   * The item was applied: remove it, and in the same transaction apply its `effects` (key-map
   * change, audit entries, resolving the key's dead letters). Effects are applied only when the
   * lease is still ours (`ok`), so a lost lease never leaves half a completion behind.
   */
  complete(id: string, owner: string, effects?: CompletionEffects): Promise<LeaseOutcome>;

  /**
   * Complete many items in one transaction (group commit), each with its own effects.
   * Returns one outcome per completion, in order; `lost` ones are skipped with their effects.
   */
  completeMany(completions: readonly Completion[]): Promise<LeaseOutcome[]>;

  /**
   * The item failed: retry at `retryAt` or dead-letter it when `retryAt` is null. When a newer
   * item for the same key is already queued, the failed one is dropped (the newer state
   * supersedes it) unless it is being dead-lettered.
   */
  fail(request: FailRequest): Promise<LeaseOutcome>;

  /**
   * Move a leased item to the parked set, waiting for `parent` to land (`state` `orphan`: a child
   * with no parent in Dynamics, parked on a pseudo-parent; @default 'waiting').
   * If a newer item for the key is queued, it is folded into the parked item. `audit` entries (the
   * trace's park step) are appended in the same transaction when the lease is still ours.
   */
  park(
    id: string,
    owner: string,
    parent: ParentRef,
    reason: string,
    audit?: readonly Omit<AuditEntry, 'id'>[],
    state?: ParkedState,
  ): Promise<LeaseOutcome>;

  /** Backlog per flow and lane (queued + leased), for status and metrics. */
  backlog(): Promise<BacklogEntry[]>;

  /**
   * Items of one flow and lane that are queued (and leased too, with `includeLeased`), counted up
   * to `atMost`: a test against a threshold whose cost grows with `atMost`, not with the inbox like
   * {@link backlog} (the bulk lane and the run tracker ask it every second while a million items
   * wait).
   */
  countPending(request: PendingCountRequest): Promise<number>;

  /**
   * Items that failed at least once and are not done yet (queued for a retry, or leased again),
   * per flow and last error code: what is failing before it becomes a dead letter, and why.
   */
  retrying(): Promise<RetryingEntry[]>;

  /**
   * The items {@link retrying} counts, one by one, oldest id first, optionally of one flow: what is
   * failing for which record key, why, and when it is tried next.
   */
  listRetrying(filter: { flow?: string | undefined }, page: PageRequest): Promise<Page<RetryingItem>>;

  /** How many items {@link listRetrying} lists with this filter. */
  countRetrying(filter: { flow?: string | undefined }): Promise<number>;

  /** The oldest `enqueuedAt` per flow among queued items (lag), or null when empty. */
  oldestQueuedAt(flow: string): Promise<number | null>;

  /** Items for one record key (queued and leased), oldest first. */
  itemsForKey(flow: string, recordKey: string): Promise<WorkItem[]>;
}

/** Store changes that must commit together with a work item's completion. */
export interface CompletionEffects {
  keyMap?:
    | { op: 'put'; entry: Omit<KeyMapEntry, 'createdAt' | 'updatedAt'> }
    | { op: 'delete'; flow: string; recordKey: string }
    | undefined;
  audit?: readonly Omit<AuditEntry, 'id'>[] | undefined;
  /** Remove the dead letters of this item's key (a newer state of it was applied). @default false */
  resolveDeadLetters?: boolean | undefined;
  /**
   * Release the items parked on this parent (the completed record landed), in the same transaction
   * as the completion, as {@link ParkedStore.release} does.
   */
  releaseParked?: ParentRef | undefined;
  /**
   * The completed record is out of its flow's scope (its filter): the children waiting for it have
   * no parent to wait for, so they become orphans with this reason, in the same transaction.
   */
  orphanParked?: { parent: ParentRef; reason: string } | undefined;
}

export interface Completion {
  id: string;
  owner: string;
  effects?: CompletionEffects | undefined;
}

export interface PendingCountRequest {
  flow: string;
  lane: WorkLane;
  /** Count leased items too. @default false */
  includeLeased?: boolean | undefined;
  /** Stop counting here (a non-negative whole number). */
  atMost: number;
}

export interface BacklogEntry {
  flow: string;
  lane: WorkLane;
  queued: number;
  leased: number;
}

/** Work items that failed and wait for (or are in) a retry, per flow and last error code. */
export interface RetryingEntry {
  flow: string;
  /** The code of the items' last failure, e.g. `CAMPAIGN_RATE_LIMITED`. */
  code: string;
  count: number;
  /** The earliest `firstFailedAt` among them (ms): how long the oldest has been failing. */
  oldestFailedAt: number | null;
}

/** One work item that failed and waits for (or is in) its retry. */
export interface RetryingItem {
  id: string;
  flow: string;
  recordKey: string;
  /** The code and message of its last failure (the message as a dead letter would keep it). */
  code: string;
  message: string;
  /** Attempts so far. */
  attempts: number;
  firstFailedAt: number | null;
  /** When it is leased again (ms); null while an attempt is running (leased). */
  nextAttemptAt: number | null;
}

/** Reference to the parent record a child waits for. */
export interface ParentRef {
  flow: string;
  recordKey: string;
}

/**
 * Why a parked item waits:
 * - `waiting`: for a parent record that exists in Dynamics and has not landed in Campaign yet; it is
 *   released the moment that parent lands;
 * - `orphan`: a child with no parent in Dynamics (its lookup on a required, cardinality-1 link is
 *   empty). No landing releases it; only a later change of the child that fills the lookup does.
 */
export const parkedStates = ['waiting', 'orphan'] as const;
export type ParkedState = (typeof parkedStates)[number];

export interface ParkedItem {
  flow: string;
  recordKey: string;
  parent: ParentRef;
  /** `waiting` for `parent` to land, or `orphan`: no parent to wait for (see {@link parkedStates}). */
  state: ParkedState;
  payload: JsonValue;
  sourceVersion: string | null;
  reason: string;
  parkedAt: number;
  updatedAt: number;
}

export interface ParkedStore {
  /**
   * Move every item parked on `parent` back to the queue (live lane), each coalescing with any
   * queued item of its key as `enqueue` does. Returns how many were released. Every release (this
   * one and a completion's `releaseParked`) appends, in the same transaction, a `record.released`
   * audit entry per child and one `record.children-released` entry on the parent (the trace).
   */
  release(parent: ParentRef): Promise<number>;
  get(flow: string, recordKey: string): Promise<ParkedItem | null>;
  /** Drop a parked item without applying it (e.g. a child deleted before its parent arrived). */
  remove(flow: string, recordKey: string): Promise<boolean>;
  list(
    filter: { flow?: string; parent?: ParentRef; state?: ParkedState },
    page: PageRequest,
  ): Promise<Page<ParkedItem>>;
  /** Parked items (of a flow, in a state; every one when neither is given). */
  count(flow?: string, state?: ParkedState): Promise<number>;
  /** The earliest `parkedAt` among the flow's items in `state`, or null when there are none. */
  oldestParkedAt(flow: string, state: ParkedState): Promise<number | null>;
}

/**
 * A record that failed and will not be retried without an operator. There is at most one per flow,
 * record key and error `code`: when the same record fails again for the same cause (a re-baseline
 * or replay reads it again, an operator's retry fails again), its dead letter keeps its id and
 * takes the newer state (the payload with the higher source version; on a tie or an unknown
 * version the later failure's), the later message, the sum of the attempts and the later
 * `lastFailedAt`; `firstFailedAt` stays the earliest.
 */
export interface DeadLetter {
  id: string;
  flow: string;
  recordKey: string;
  payload: JsonValue;
  sourceVersion: string | null;
  code: string;
  message: string;
  /** Tries of every failure this dead letter stands for (a repeat failure adds its own). */
  attempts: number;
  firstFailedAt: number;
  /** When the record last failed for this cause. */
  lastFailedAt: number;
}

export interface DeadLetterFilter {
  flow?: string | undefined;
  /** Exact record key, or a prefix when it ends with `*`. */
  recordKey?: string | undefined;
  code?: string | undefined;
}

/** Order of a dead-letter list: by when each was first dead-lettered (its id). */
export interface DeadLetterListOrder {
  /** Newest first (the CLI's `dlq list`). @default false — oldest first */
  newestFirst?: boolean | undefined;
}

export interface DeadLetterStore {
  list(filter: DeadLetterFilter, page: PageRequest, order?: DeadLetterListOrder): Promise<Page<DeadLetter>>;
  count(filter?: DeadLetterFilter): Promise<number>;
  /** Counts per flow and code, for the dashboard and metrics. */
  countByCode(): Promise<{ flow: string; code: string; count: number }[]>;
  /**
   * Put dead letters back in the queue (live lane, attempts reset). A key that already has a
   * newer queued item keeps that item; the dead letter is removed either way. Returns how many
   * were retried.
   */
  retry(ids: readonly string[]): Promise<number>;
  /** Remove dead letters without applying them. Returns how many were removed. */
  discard(ids: readonly string[]): Promise<number>;
  /** Remove the dead letters of a key (a newer state of it was applied). */
  resolveKey(flow: string, recordKey: string): Promise<number>;
}

export interface PageRequest {
  /** Opaque cursor from a previous page. */
  cursor?: string | undefined;
  /** @default 100, at most 1000 */
  limit?: number | undefined;
}

export interface Page<T> {
  items: T[];
  /** Cursor of the next page, null on the last page. */
  nextCursor: string | null;
}

export interface CheckpointStore {
  get(name: string): Promise<string | null>;
  set(name: string, value: string): Promise<void>;
  delete(name: string): Promise<void>;
  /** All checkpoints whose name starts with `prefix`. */
  list(prefix: string): Promise<{ name: string; value: string; updatedAt: number }[]>;
}

/** Who created the Campaign record: the sync, or it existed and was adopted by its external id. */
export const keyOrigins = ['created', 'adopted'] as const;
export type KeyOrigin = (typeof keyOrigins)[number];

/** Dynamics id ↔ Campaign record, per flow. */
export interface KeyMapEntry {
  flow: string;
  recordKey: string;
  /** Campaign PKey, cached for calls (never shared outside the service). */
  campaignPKey: string | null;
  origin: KeyOrigin;
  /** Source version last applied to Campaign; a stale change (lower version) is skipped. */
  lastSourceVersion: string | null;
  /** Hash of the mapped values last written, to skip writes that change nothing. */
  lastPayloadHash: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface KeyMapStore {
  get(flow: string, recordKey: string): Promise<KeyMapEntry | null>;
  getMany(flow: string, recordKeys: readonly string[]): Promise<KeyMapEntry[]>;
  /** Insert or replace; `createdAt` is kept from the existing entry. */
  put(entry: Omit<KeyMapEntry, 'createdAt' | 'updatedAt'>): Promise<void>;
  /** {@link put} for several entries, in one commit. */
  putMany(entries: readonly Omit<KeyMapEntry, 'createdAt' | 'updatedAt'>[]): Promise<void>;
  delete(flow: string, recordKey: string): Promise<boolean>;
  /** The entries holding this Campaign PKey (one per flow at most, in practice one), for the trace. */
  findByCampaignPKey(campaignPKey: string): Promise<KeyMapEntry[]>;
  /** {@link findByCampaignPKey} for many PKeys at once (flow F6 matches a batch of events' profiles). */
  findByCampaignPKeys(campaignPKeys: readonly string[]): Promise<KeyMapEntry[]>;
  /** Keys in ascending order after `afterKey`, for re-baseline comparison. */
  listKeys(flow: string, afterKey: string | null, limit: number): Promise<string[]>;
  /**
   * Re-baseline bookkeeping: remember that these keys were present in the full read `runId`.
   * Keys without a key-map entry are remembered too (they may be applied later in the run).
   */
  markSeen(flow: string, recordKeys: readonly string[], runId: string): Promise<void>;
  /**
   * Keys of `flow` NOT marked seen in `runId` that the store holds anything for: a key-map entry
   * (a synced record or a create intent), a queued or leased work item, a parked item or a dead
   * letter. After a re-baseline's full read these are the records that vanished from Dynamics while
   * the delta link was dead, whether or not they ever reached Campaign. At most `limit` keys,
   * ascending (bytewise) after `afterKey`, each once.
   */
  listUnseen(flow: string, runId: string, afterKey: string | null, limit: number): Promise<UnseenKey[]>;
  /** Forget the seen marks of a finished run. */
  clearSeen(flow: string, runId: string): Promise<void>;
  /**
   * Records in Campaign (entries with a PKey): an intent whose create has not been confirmed is
   * not counted, so "synced" never runs ahead of Campaign.
   */
  count(flow?: string): Promise<number>;
}

/** A key a re-baseline's full read did not see ({@link KeyMapStore.listUnseen}). */
export interface UnseenKey {
  recordKey: string;
  /**
   * It has a key-map entry, so Campaign holds (or, for a create intent, may hold) its record; keys
   * with only pending work (queued, leased, parked, dead-lettered) never reached Campaign.
   */
  mapped: boolean;
}

/** Audit trail of writes: ids and field names, never values. Append-only. */
export interface AuditEntry {
  id: string;
  at: number;
  /** `engine`, `cli:<user>`, `api:<token-id>`… */
  actor: string;
  /** e.g. `profile.create`, `profile.update`, `profile.delete`, `dlq.retry`. */
  action: string;
  flow: string | null;
  recordKey: string | null;
  /** Names of the fields written, no values. */
  fields: string[];
  outcome: string;
  /** Free text without personal data. */
  detail: string | null;
  /**
   * Facts for the record's trace (source version, staging time, attempts, PKey, parents, error
   * code…; ids, codes and times, never values), on the entries the engine writes about a record.
   */
  trace?: RecordTraceDetail | undefined;
}

export interface AuditStore {
  append(entries: readonly Omit<AuditEntry, 'id'>[]): Promise<void>;
  list(
    filter: { flow?: string; recordKey?: string; action?: string; since?: number },
    page: PageRequest,
  ): Promise<Page<AuditEntry>>;
  /** The newest `limit` entries of one record key (of one flow, when given), newest first. */
  forRecord(recordKey: string, options: { flow?: string | undefined; limit: number }): Promise<AuditEntry[]>;
  /** The flows that have audit entries for this record key. */
  flowsOfRecord(recordKey: string): Promise<string[]>;
}

/** What a run is: a long piece of work an operator wants to see start, progress and end. */
export const runKinds = [
  'initial',
  'replay',
  'rebaseline',
  'opt-out-file',
  'privacy',
  'bulk-import',
] as const;
export type RunKind = (typeof runKinds)[number];

/** Why a run started. */
export const runTriggers = [
  'first-start',
  'operator',
  'cursor-expired',
  'file-arrived',
  'operator-request',
] as const;
export type RunTrigger = (typeof runTriggers)[number];

/**
 * How a run ended (`running` while it has not). `interrupted`: the process running it died and it
 * could not be continued (a run that is continued keeps its id and stays `running`).
 */
export const runOutcomes = ['running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type RunOutcome = (typeof runOutcomes)[number];

/** Where a run is: still reading its source, writing what it read, or ended. */
export const runPhases = ['reading', 'writing', 'ended'] as const;
export type RunPhase = (typeof runPhases)[number];

/** Where a run's total comes from: the source's own count (Dynamics `$count`) or the rows read. */
export const runTotalSources = ['count', 'read'] as const;
export type RunTotalSource = (typeof runTotalSources)[number];

/** What a run did, item by item. Skipped items are counted by reason (`filtered`, `stale`, …). */
export interface RunCounts {
  read: number;
  created: number;
  updated: number;
  adopted: number;
  deleted: number;
  unchanged: number;
  skipped: Record<string, number>;
  parked: number;
  deadLettered: number;
  campaignCalls: number;
}

/** Counts to add to a run's (every field optional; `skipped` adds per reason). */
export type RunCountsDelta = Partial<Omit<RunCounts, 'skipped'>> & { skipped?: Record<string, number> };

export interface RunRecord {
  id: string;
  /** Flow id (`contacts`), or the area for runs outside a flow (`optout`, `privacy`). */
  flow: string;
  kind: RunKind;
  trigger: RunTrigger;
  /** What the run is about when not the whole flow: an export file name, a privacy request id. */
  subject: string | null;
  startedAt: number;
  endedAt: number | null;
  outcome: RunOutcome;
  phase: RunPhase;
  /** Items the run will write when known (see `totalSource`). */
  total: number | null;
  totalSource: RunTotalSource | null;
  counts: RunCounts;
  updatedAt: number;
}

/** Something that happened during a run (breaker tripped, paused, resumed, read complete…). */
export interface RunEvent {
  at: number;
  /** e.g. `breaker-tripped`, `paused`, `resumed`, `read-complete`, `continued`. */
  kind: string;
  /** Plain words without personal data. */
  detail: string | null;
}

export interface RunStartInput {
  flow: string;
  kind: RunKind;
  trigger: RunTrigger;
  subject?: string | null | undefined;
  /** @default 'reading' */
  phase?: RunPhase | undefined;
  total?: number | null | undefined;
  totalSource?: RunTotalSource | null | undefined;
  counts?: RunCountsDelta | undefined;
  /** @default now */
  startedAt?: number | undefined;
}

export interface RunUpdate {
  phase?: RunPhase | undefined;
  total?: number | null | undefined;
  totalSource?: RunTotalSource | null | undefined;
  /**
   * Counts to add, in the same transaction as reading the stored ones, so processes that write
   * the same run (several workers) add up instead of overwriting each other.
   */
  addCounts?: RunCountsDelta | undefined;
}

export interface RunFilter {
  flow?: string | undefined;
  kind?: RunKind | undefined;
}

/**
 * Run history: initial loads, replays, re-baselines, opt-out files, privacy requests. A run is
 * started, updated now and then (not per item), given events, and ended once.
 */
export interface RunStore {
  start(input: RunStartInput): Promise<RunRecord>;
  /** Update a run (ended runs too: late counts of another process still add up). False when unknown. */
  update(id: string, update: RunUpdate): Promise<boolean>;
  addEvent(
    id: string,
    event: { kind: string; detail?: string | null | undefined; at?: number | undefined },
  ): Promise<void>;
  /**
   * End a running run (with its last counts and total). False when it had ended already: a run ends
   * once, whoever tries again.
   */
  end(id: string, outcome: Exclude<RunOutcome, 'running'>, update?: RunUpdate): Promise<boolean>;
  /** A run with its events, oldest event first; null when unknown. */
  get(id: string): Promise<(RunRecord & { events: RunEvent[] }) | null>;
  /** Newest first. */
  list(filter: RunFilter, page: PageRequest): Promise<Page<RunRecord>>;
  /** Runs still running, oldest first (few: one per flow and kind at most, plus files and requests). */
  active(): Promise<RunRecord[]>;
  /** Remove runs that ended before `endedBefore` (ms) and their events; returns how many. */
  prune(endedBefore: number): Promise<number>;
}

/**
 * Time-bounded named locks: one poller per table across all processes. SQLite implements them
 * as rows with an expiry; PostgreSQL the same way (so a paused process cannot hold one forever).
 */
export interface LockStore {
  /** Take the lock if free, expired, or already ours; returns whether we hold it now (not audited). */
  tryAcquire(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /**
   * {@link tryAcquire} that answers with the lock's **epoch** while we hold it (null when another
   * owner does). The epoch grows by one each time the lock changes hands (a new holder after a
   * release or an expiry) and stays while the same holder keeps it; a takeover is recorded in the
   * audit trail (`duty.acquired`, actor the owner, record key the lock, detail the epoch).
   */
  acquire(name: string, owner: string, ttlMs: number): Promise<number | null>;
  /** Extend our lock; false when we no longer hold it (taken over or released). */
  renew(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /**
   * Give the lock up at once (others take it without waiting for its expiry); with `audit`, the
   * release is recorded (`duty.released`) in the same transaction.
   */
  release(name: string, owner: string, options?: { audit?: boolean }): Promise<void>;
  /** Every lock that has a holder now or had one (released or expired locks included, see {@link LockHolder}). */
  list(prefix?: string): Promise<LockHolder[]>;
}

/** Who holds a named lock, since which epoch, until when (`expiresAt` 0: released). */
export interface LockHolder {
  name: string;
  owner: string;
  epoch: number;
  expiresAt: number;
}

/**
 * Proof that a writer still holds a lock: a write that carries it commits only if the lock names
 * this owner at this epoch (not released) in the same transaction, so a paused holder whose lock
 * was taken over can never commit afterwards.
 */
export interface LockFence {
  name: string;
  owner: string;
  epoch: number;
}

/** The whole State port. */
export interface StateStore {
  /** `sqlite` or `postgres`. */
  readonly dialect: string;
  readonly queue: WorkQueue;
  readonly parked: ParkedStore;
  readonly deadLetters: DeadLetterStore;
  readonly checkpoints: CheckpointStore;
  readonly keyMap: KeyMapStore;
  readonly audit: AuditStore;
  readonly locks: LockStore;
  /** Opt-out file ledger, quarantine, write ledger and decision audit (flow F4, I7, I8). */
  readonly optOut: OptOutStore;
  /** Privacy requests, their step history, holds and tombstones (flow F5, I9). */
  readonly privacy: PrivacyStore;
  /** Run history (initial loads, replays, re-baselines, opt-out files, privacy requests). */
  readonly runs: RunStore;
  /** The registry of worker processes (heartbeats, duties, state). */
  readonly workers: WorkerStore;
  /** The shared call budgets: day counts, the shared adaptive rate, the workers' slices. */
  readonly budgets: BudgetStore;
  /** Apply pending migrations (idempotent; safe when several processes start at once). */
  migrate(): Promise<void>;
  close(): Promise<void>;
}
