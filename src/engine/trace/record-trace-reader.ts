import { formatIso, type Clock } from '../../core/clock.js';
import { isEmailQuery, type ContactFinder } from '../../core/ports/contact-finder.js';
import { PRIVACY_HOLD_FLOW } from '../../core/ports/record-guard.js';
import type {
  AuditEntry,
  DeadLetter,
  KeyMapEntry,
  ParkedItem,
  StateStore,
  WorkItem,
} from '../../core/ports/state-store.js';
import { dynamicsRecordKey, isDynamicsId } from '../../core/record-key.js';
import {
  traceAuditActions,
  traceChildrenLimit,
  traceStepLimit,
  type RecordTraceDetail,
  type TraceAnswer,
  type TraceMatch,
  type TraceRecordRef,
  type TraceRecordState,
  type TraceStep,
  type TraceStepKind,
} from '../../core/record-trace.js';
import { NO_PARENT_KEY } from '../records/link-resolver.js';

/** What the reader reads: the store's ports, never SQL. */
export type TraceStore = Pick<
  StateStore,
  'audit' | 'keyMap' | 'queue' | 'parked' | 'deadLetters' | 'optOut' | 'privacy'
>;

export interface RecordTraceReaderOptions {
  store: TraceStore;
  clock: Clock;
  /** The configured flows: where a Dynamics id is looked for (besides the flows its audit names). */
  flows: () => readonly string[];
  /** Scrubs free text (error messages, notes) before it is shown. @default identity */
  scrub?: ((text: string) => string) | undefined;
  /** Steps kept per match, newest first. @default traceStepLimit (200) */
  stepLimit?: number | undefined;
  /** The flow whose records opt-out decisions are about. @default 'contacts' */
  contactsFlow?: string | undefined;
  /**
   * Looks contacts up by e-mail in Dynamics, live (the store keeps no e-mail addresses). Absent: an
   * e-mail query finds nothing.
   */
  contacts?: ContactFinder | undefined;
}

/** Contacts one e-mail search may find. */
const emailMatchLimit = 10;

/** Opt-out decisions shown per contact, newest first. */
const decisionLimit = 50;
/** Dead letters read per record (one per error code). */
const deadLetterLimit = 20;

/** A step and where it sorts among steps of the same time (its place in the record's life). */
interface OrderedStep {
  step: TraceStep;
  order: number;
}

const orphanPrefix = 'no parent in Dynamics';

/** An orphan step's summary: the park reason names the state already (the link resolver's words). */
function orphanSummary(note: string): string {
  if (note.startsWith(orphanPrefix)) return note;
  return note ? `${orphanPrefix}: ${note}` : orphanPrefix;
}

/**
 * Builds the trace of one record (docs/trace.md) from the store: the audit trail of the key (applied
 * writes with their source version, staging time, attempts and PKey; parks, releases, failed
 * attempts, dead letters, operator and privacy actions), its current work item, parked item and
 * dead letters, the opt-out decision audit and the privacy guard. Given a Dynamics id it answers one
 * match per flow holding the key; given a Campaign PKey, the record the key map maps it to. Used by
 * `dcsync trace` and `GET /api/trace`.
 */
export class RecordTraceReader {
  private readonly scrub: (text: string) => string;
  private readonly stepLimit: number;
  private readonly contactsFlow: string;

  constructor(private readonly options: RecordTraceReaderOptions) {
    this.scrub = options.scrub ?? ((text) => text);
    this.stepLimit = Math.max(1, options.stepLimit ?? traceStepLimit);
    this.contactsFlow = options.contactsFlow ?? 'contacts';
  }

  /** The trace of `query` (a Dynamics id, a Campaign PKey, or any record key), in `flow` only when given. */
  async trace(query: string, filter: { flow?: string | undefined } = {}): Promise<TraceAnswer> {
    const asked = query.trim();
    const matches: TraceMatch[] = [];
    if (asked === '') return { query, matches };
    const targets: { flow: string; recordKey: string; keyMap?: KeyMapEntry }[] = [];
    if (isEmailQuery(asked)) {
      // Asked of Dynamics now; neither the address nor the answer is kept.
      const ids = (await this.options.contacts?.findByEmail(asked, emailMatchLimit)) ?? [];
      for (const id of ids) targets.push(...(await this.targetsOfKey(id, filter.flow)));
    } else {
      const byPKey = isDynamicsId(asked) ? [] : await this.options.store.keyMap.findByCampaignPKey(asked);
      targets.push(
        ...byPKey
          .filter((entry) => filter.flow === undefined || entry.flow === filter.flow)
          .map((entry) => ({ flow: entry.flow, recordKey: entry.recordKey, keyMap: entry })),
      );
      if (byPKey.length === 0)
        targets.push(
          ...(await this.targetsOfKey(isDynamicsId(asked) ? dynamicsRecordKey(asked) : asked, filter.flow)),
        );
    }
    for (const target of targets) {
      const match = await this.traceOne(target.flow, target.recordKey, target.keyMap);
      if (match) matches.push(match);
    }
    await this.addContactSteps(matches);
    return { query, matches };
  }

  /** The flows to look for a key in: the one asked, else the configured ones and those its audit names. */
  private async targetsOfKey(
    recordKey: string,
    flow: string | undefined,
  ): Promise<{ flow: string; recordKey: string }[]> {
    const flows =
      flow !== undefined
        ? [flow]
        : [
            ...new Set([
              ...this.options.flows(),
              ...(await this.options.store.audit.flowsOfRecord(recordKey)),
            ]),
          ];
    return flows.filter((f) => f !== PRIVACY_HOLD_FLOW).map((f) => ({ flow: f, recordKey }));
  }

  /** One flow's view of a key, or null when the store holds nothing for it there. */
  private async traceOne(
    flow: string,
    recordKey: string,
    knownEntry?: KeyMapEntry,
  ): Promise<TraceMatch | null> {
    const { store } = this.options;
    const [entries, keyMap, items, parked, deadLetters, waiting] = await Promise.all([
      store.audit.forRecord(recordKey, { flow, limit: this.stepLimit + 1 }),
      knownEntry === undefined ? store.keyMap.get(flow, recordKey) : Promise.resolve(knownEntry),
      store.queue.itemsForKey(flow, recordKey),
      store.parked.get(flow, recordKey),
      store.deadLetters.list({ flow, recordKey }, { limit: deadLetterLimit }),
      // A parent not read yet is known by the children parked on it.
      store.parked.list({ parent: { flow, recordKey } }, { limit: traceChildrenLimit }),
    ]);
    if (
      entries.length === 0 &&
      keyMap === null &&
      items.length === 0 &&
      parked === null &&
      deadLetters.items.length === 0 &&
      waiting.items.length === 0
    ) {
      return null;
    }
    const truncated = entries.length > this.stepLimit;
    const audit = entries.slice(0, this.stepLimit).map((entry) => ({
      entry,
      detail: entry.trace ?? {},
    }));

    const ordered: OrderedStep[] = [];
    for (const { entry, detail } of audit)
      ordered.push({ step: this.auditStep(entry, detail), order: order(entry) });
    ordered.push(...readSteps(flow, audit));
    ordered.push(...items.map((item) => ({ step: this.itemStep(item), order: Number.MAX_SAFE_INTEGER })));
    ordered.push(...this.deadLetterSteps(deadLetters.items, audit));

    const [guard, children] = await Promise.all([
      store.privacy.guardOf(recordKey),
      this.children(waiting.items, audit),
    ]);
    if (flow === this.contactsFlow && guard !== null) {
      const kind: TraceStepKind = guard.kind === 'hold' ? 'privacy-hold' : 'tombstone';
      ordered.push({
        step: {
          at: guard.at,
          kind,
          flow,
          summary:
            guard.kind === 'hold'
              ? `held by privacy request ${guard.requestId ?? '?'}: nothing is written while it runs`
              : 'tombstoned: privacy-deleted, never written again',
        },
        order: Number.MAX_SAFE_INTEGER - 1,
      });
    }

    const steps = sortSteps(ordered);
    return {
      flow,
      recordKey,
      campaignPKey: keyMap?.campaignPKey ?? null,
      state: stateOf({
        guard: flow === this.contactsFlow ? (guard?.kind ?? null) : null,
        items,
        parked,
        deadLettered: deadLetters.items.length > 0,
        keyMap,
        lastApplied: audit.find(({ entry }) => isWriteAction(entry.action))?.entry ?? null,
      }),
      parent: parentOf(parked, audit),
      children,
      steps: steps.slice(0, this.stepLimit),
      truncated: truncated || steps.length > this.stepLimit,
    };
  }

  /** The step an audit entry stands for. */
  private auditStep(entry: AuditEntry, detail: RecordTraceDetail): TraceStep {
    const flow = entry.flow ?? '';
    const note = entry.detail === null ? '' : this.scrub(entry.detail);
    const extra: Partial<TraceStep> = {
      ...(detail.sourceVersion === undefined ? {} : { sourceVersion: detail.sourceVersion }),
      ...(detail.campaignPKey === undefined ? {} : { campaignPKey: detail.campaignPKey }),
    };
    const attempts = detail.attempts === undefined ? '' : `, attempt ${detail.attempts}`;
    const step = (kind: TraceStepKind, summary: string, more: Partial<TraceStep> = {}): TraceStep => ({
      at: entry.at,
      kind,
      flow,
      summary,
      ...extra,
      ...more,
    });
    const parent = detail.parents?.[0];
    switch (entry.action) {
      case traceAuditActions.skipped:
        return step('applied', `${entry.outcome}: nothing written to Campaign${attempts}`);
      case traceAuditActions.parked:
        if (parent?.recordKey === NO_PARENT_KEY)
          return step('orphaned', orphanSummary(note || 'the lookup is empty'));
        if (parent?.flow === PRIVACY_HOLD_FLOW)
          return step('privacy-hold', `change held while a privacy request runs${note ? ` (${note})` : ''}`);
        return step(
          'parked',
          `parked waiting for ${parent ? `${parent.flow}/${parent.recordKey}` : 'its parent'}${note ? ` (${note})` : ''}`,
        );
      case traceAuditActions.orphaned:
        return step('orphaned', orphanSummary(note));
      case traceAuditActions.released:
        return step(
          'released',
          parent?.flow === PRIVACY_HOLD_FLOW
            ? `released: the privacy hold ended${note ? ` (${note})` : ''}`
            : `released: parent ${parent ? `${parent.flow}/${parent.recordKey}` : ''} landed${note ? ` (${note})` : ''}`,
        );
      case traceAuditActions.childrenReleased: {
        const count = detail.childCount ?? detail.children?.length ?? 0;
        return step('released', `landed and released ${count} child record(s) parked on it`);
      }
      case traceAuditActions.attemptFailed:
        return step(
          'attempt-failed',
          `attempt failed (${entry.outcome})${attempts}: ${note}${detail.retryAt === undefined ? '' : `; next attempt ${formatIso(detail.retryAt)}`}`,
          { code: detail.code ?? entry.outcome },
        );
      case traceAuditActions.deadLettered:
        return step('dead-lettered', `dead-lettered (${entry.outcome})${attempts}: ${note}`, {
          code: detail.code ?? entry.outcome,
        });
      case 'dlq.superseded':
        return step('dead-lettered', `dead letters superseded: ${note}`);
      default:
        break;
    }
    if (entry.action.startsWith('privacy.')) {
      const kind: TraceStepKind =
        entry.action === 'privacy.tombstone'
          ? 'tombstone'
          : entry.actor === 'engine'
            ? 'privacy-hold'
            : 'operator';
      return step(kind, `${entry.action} ${entry.outcome}${note ? `: ${note}` : ''} (by ${entry.actor})`);
    }
    if (entry.actor !== 'engine') {
      return step('operator', `${entry.action} ${entry.outcome} by ${entry.actor}${note ? `: ${note}` : ''}`);
    }
    const verb = appliedVerb(entry);
    const pkey = detail.campaignPKey === undefined ? '' : ` (PKey ${detail.campaignPKey})`;
    const version = detail.sourceVersion === undefined ? '' : ` version ${detail.sourceVersion}`;
    return step(
      'applied',
      `${verb}${pkey}: ${entry.action}${version}${attempts}${note ? ` — ${note}` : ''}`,
      entry.fields.length > 0 ? { fields: [...entry.fields] } : {},
    );
  }

  /** The record's work item now: staged (queued) or leased, with its attempts and last error. */
  private itemStep(item: WorkItem): TraceStep {
    const version = item.sourceVersion === null ? '' : ` version ${item.sourceVersion}`;
    const failing =
      item.lastError === null
        ? ''
        : `; last error ${item.lastError.code}: ${this.scrub(item.lastError.message)}`;
    const attempts = item.attempts > 0 ? `; ${item.attempts} attempt(s)` : '';
    const base = {
      flow: item.flow,
      ...(item.sourceVersion === null ? {} : { sourceVersion: item.sourceVersion }),
      ...(item.lastError === null ? {} : { code: item.lastError.code }),
    };
    if (item.state === 'leased') {
      return {
        ...base,
        at: Math.min(item.availableAt, this.options.clock.now()),
        kind: 'leased',
        summary: `being applied now${version} (${item.lane} lane, lease until ${formatIso(item.leaseExpiresAt ?? 0)})${attempts}${failing}`,
      };
    }
    const next =
      item.availableAt > this.options.clock.now() ? `; next attempt ${formatIso(item.availableAt)}` : '';
    return {
      ...base,
      at: item.enqueuedAt,
      kind: 'staged',
      summary: `staged${version} in the ${item.lane} lane, waiting to be applied${attempts}${failing}${next}`,
    };
  }

  /** Dead letters the audit has no entry for (written before the trace recorded them). */
  private deadLetterSteps(
    deadLetters: readonly DeadLetter[],
    audit: readonly { entry: AuditEntry; detail: RecordTraceDetail }[],
  ): OrderedStep[] {
    const recorded = new Set(
      audit
        .filter(({ entry }) => entry.action === traceAuditActions.deadLettered)
        .map(({ entry }) => entry.outcome),
    );
    return deadLetters
      .filter((letter) => !recorded.has(letter.code))
      .map((letter) => ({
        step: {
          at: letter.lastFailedAt,
          kind: 'dead-lettered' as const,
          flow: letter.flow,
          summary: `dead letter ${letter.id} (${letter.code}) after ${letter.attempts} attempt(s): ${this.scrub(letter.message)}`,
          code: letter.code,
          ...(letter.sourceVersion === null ? {} : { sourceVersion: letter.sourceVersion }),
        },
        order: Number.MAX_SAFE_INTEGER - 2,
      }));
  }

  /** Children parked on the record, then children its landings released (at most the cap). */
  private async children(
    parked: readonly ParkedItem[],
    audit: readonly { entry: AuditEntry; detail: RecordTraceDetail }[],
  ): Promise<TraceMatch['children']> {
    const children: TraceMatch['children'] = parked.map((item) => ({
      flow: item.flow,
      recordKey: item.recordKey,
      state: 'parked',
    }));
    const seen = new Set(children.map((c) => `${c.flow}\u0000${c.recordKey}`));
    const released: TraceRecordRef[] = [];
    for (const { entry, detail } of audit) {
      if (entry.action !== traceAuditActions.childrenReleased) continue;
      for (const child of detail.children ?? []) {
        const id = `${child.flow}\u0000${child.recordKey}`;
        if (seen.has(id) || children.length + released.length >= traceChildrenLimit) continue;
        seen.add(id);
        released.push(child);
      }
    }
    for (const child of released) children.push({ ...child, state: await this.quickState(child) });
    return children;
  }

  /** A linked record's state, from its current holdings only. */
  private async quickState(ref: TraceRecordRef): Promise<TraceRecordState> {
    const { store } = this.options;
    const [parked, items, deadLetters, keyMap] = await Promise.all([
      store.parked.get(ref.flow, ref.recordKey),
      store.queue.itemsForKey(ref.flow, ref.recordKey),
      store.deadLetters.count({ flow: ref.flow, recordKey: ref.recordKey }),
      store.keyMap.get(ref.flow, ref.recordKey),
    ]);
    return stateOf({
      guard: null,
      items,
      parked,
      deadLettered: deadLetters > 0,
      keyMap,
      lastApplied: null,
    });
  }

  /** Opt-out decisions about a contact, on the contact's match (or the first, for opt-out flows). */
  private async addContactSteps(matches: TraceMatch[]): Promise<void> {
    const match = matches.find((m) => m.flow === this.contactsFlow) ?? matches[0];
    if (match === undefined || !isDynamicsId(match.recordKey)) return;
    const decisions = await this.options.store.optOut.listDecisions(
      { recordKey: match.recordKey },
      { limit: decisionLimit },
    );
    if (decisions.items.length === 0) return;
    const steps: TraceStep[] = decisions.items.map((d) => ({
      at: d.at,
      kind: 'opt-out-decision',
      flow: match.flow,
      summary:
        `opt-out ${d.dynamicsColumn}/${d.campaignAttribute}: ${d.winningSide} wins by rule ${d.rule} ` +
        `(${d.source}${d.sourceRef === null ? '' : ` ${d.sourceRef}`}), action ${d.action}`,
      fields: [d.dynamicsColumn, d.campaignAttribute],
    }));
    const merged = sortSteps([
      ...match.steps.map((step, index) => ({ step, order: Number.MAX_SAFE_INTEGER - index })),
      ...steps.map((step) => ({ step, order: 0 })),
    ]);
    match.truncated = match.truncated || merged.length > this.stepLimit;
    match.steps = merged.slice(0, this.stepLimit);
  }
}

/** Where an audit entry sorts among steps of the same millisecond: its id (append order). */
function order(entry: AuditEntry): number {
  return Number(entry.id) * 2 + 1;
}

/** Newest first; at the same time, the later step of the record's life first. */
function sortSteps(steps: readonly OrderedStep[]): TraceStep[] {
  return [...steps].sort((a, b) => b.step.at - a.step.at || b.order - a.order).map((s) => s.step);
}

/**
 * The changes read: one step per source version (or per staging, for changes without one, such as
 * deletes) at the time it was first staged, from the entries that carry the staging facts.
 */
function readSteps(
  flow: string,
  audit: readonly { entry: AuditEntry; detail: RecordTraceDetail }[],
): OrderedStep[] {
  const earliest = new Map<string, { entry: AuditEntry; detail: RecordTraceDetail }>();
  for (const row of audit) {
    const { detail } = row;
    if (detail.stagedAt === undefined) continue;
    const id = detail.sourceVersion ?? `staged:${detail.stagedAt}`;
    const held = earliest.get(id);
    if (held === undefined || detail.stagedAt < (held.detail.stagedAt ?? Infinity)) earliest.set(id, row);
  }
  return [...earliest.values()].map(({ entry, detail }) => ({
    step: {
      at: detail.stagedAt ?? entry.at,
      kind: 'read',
      flow,
      summary:
        detail.sourceVersion === undefined
          ? `change read and staged${detail.lane === undefined ? '' : ` in the ${detail.lane} lane`}`
          : `version ${detail.sourceVersion} read and staged${detail.lane === undefined ? '' : ` in the ${detail.lane} lane`}`,
      ...(detail.sourceVersion === undefined ? {} : { sourceVersion: detail.sourceVersion }),
    },
    order: order(entry) - 1,
  }));
}

/** Applier actions that wrote Campaign (or tried to): `<resource>.create|update|adopt|delete`. */
function isWriteAction(action: string): boolean {
  return /\.(create|update|adopt|delete)$/.test(action) && !action.startsWith('privacy.');
}

function appliedVerb(entry: AuditEntry): string {
  if (entry.action.endsWith('.create')) return 'created';
  if (entry.action.endsWith('.adopt')) return 'adopted';
  if (entry.action.endsWith('.delete'))
    return entry.outcome === 'absent' ? 'deleted (not in Campaign)' : 'deleted';
  if (entry.action.endsWith('.update')) return 'updated';
  return entry.outcome;
}

/** The parent: the one it waits for, else the one its newest write (or park) named. */
function parentOf(
  parked: ParkedItem | null,
  audit: readonly { entry: AuditEntry; detail: RecordTraceDetail }[],
): TraceRecordRef | null {
  const real = (ref: TraceRecordRef | undefined): ref is TraceRecordRef =>
    ref !== undefined && ref.flow !== PRIVACY_HOLD_FLOW && ref.recordKey !== NO_PARENT_KEY;
  if (parked !== null && real(parked.parent)) return { ...parked.parent };
  for (const { detail } of audit) {
    const parent = detail.parents?.[0];
    if (real(parent)) return { flow: parent.flow, recordKey: parent.recordKey };
  }
  return null;
}

/** Where a record stands: a hold first, then pending work, then what Campaign holds. */
function stateOf(held: {
  guard: 'hold' | 'tombstone' | null;
  items: readonly WorkItem[];
  parked: ParkedItem | null;
  deadLettered: boolean;
  keyMap: KeyMapEntry | null;
  lastApplied: AuditEntry | null;
}): TraceRecordState {
  if (held.guard === 'hold' || held.parked?.parent.flow === PRIVACY_HOLD_FLOW) return 'held';
  if (held.guard === 'tombstone') return 'deleted';
  if (held.parked !== null) return held.parked.parent.recordKey === NO_PARENT_KEY ? 'orphan' : 'parked';
  if (held.items.some((item) => item.lastError !== null)) return 'retrying';
  if (held.items.length > 0) return 'queued';
  if (held.deadLettered) return 'dead-lettered';
  if (held.keyMap?.campaignPKey) return 'synced';
  if (held.lastApplied?.action.endsWith('.delete')) return 'deleted';
  return 'unknown';
}
