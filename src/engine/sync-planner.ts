import type { JsonObject, JsonValue } from '../core/json.js';
import type { SinkRecord } from '../core/ports/record-sink.js';
import type { StateStore } from '../core/ports/state-store.js';
import { matchesFilter } from '../core/record-filter.js';
import type { RecordFlowSettings } from './records/record-flow.js';

/** What `dcsync plan` would do, per category; samples are ids only (no personal data). */
export interface SyncPlan {
  flow: string;
  counts: {
    create: number;
    update: number;
    adopt: number;
    unchanged: number;
    delete: number;
    filtered: number;
    leftAlone: number;
    adoptionCandidates: number;
    /**
     * Rows with no parent in Dynamics (an empty lookup on a cardinality-1 link): not written until
     * the lookup is filled, so neither created nor updated (docs/custom-tables.md).
     */
    orphans: number;
  };
  samples: {
    create: string[];
    orphans: string[];
    update: string[];
    adopt: string[];
    delete: string[];
    leftAlone: string[];
    /** Campaign profiles without externalId whose e-mail matches a contact: `PKey → contactid`. */
    adoptionCandidates: { pkey: string; contactId: string }[];
  };
  dynamicsRows: number;
  campaignRecords: number;
}

export interface PlanOptions {
  /** Samples kept per category. @default 5 */
  samples?: number;
  /** Dynamics column and Campaign field used to find adoption candidates. @default emailaddress1 / email */
  matchColumn?: string;
  matchField?: string;
  onProgress?: (phase: 'dynamics' | 'campaign', rows: number) => void;
}

function normalize(value: JsonValue | undefined): string {
  if (value === undefined || value === null || value === '') return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function differs(mapped: JsonObject, current: JsonObject): boolean {
  return Object.keys(mapped).some((k) => normalize(mapped[k]) !== normalize(current[k]));
}

/** A row whose lookup on a required (cardinality-1) link is empty: an orphan, never written as it is. */
function hasNoParent(flow: RecordFlowSettings, values: JsonObject): boolean {
  return flow.links.some((link) => {
    const raw = values[link.lookup];
    return link.required && (raw === null || raw === undefined || raw === '');
  });
}

/**
 * Dry run of a flow: read every Dynamics row and every Campaign record, compare, and count what
 * a sync would create, update, adopt, delete and leave alone. Writes nothing. Holds one small
 * entry per Dynamics row in memory (its mapped-field fingerprint), so a million rows fit in a few
 * hundred MiB.
 */
export async function planFlow(
  flow: RecordFlowSettings,
  store: StateStore,
  campaignRecords: AsyncIterable<SinkRecord>,
  options: PlanOptions = {},
): Promise<SyncPlan> {
  const sampleSize = options.samples ?? 5;
  const matchColumn = options.matchColumn ?? 'emailaddress1';
  const matchField = options.matchField ?? 'email';
  const plan: SyncPlan = {
    flow: flow.id,
    counts: {
      create: 0,
      update: 0,
      adopt: 0,
      unchanged: 0,
      delete: 0,
      filtered: 0,
      leftAlone: 0,
      adoptionCandidates: 0,
      orphans: 0,
    },
    samples: {
      create: [],
      orphans: [],
      update: [],
      adopt: [],
      delete: [],
      leftAlone: [],
      adoptionCandidates: [],
    },
    dynamicsRows: 0,
    campaignRecords: 0,
  };
  const sample = (list: string[], id: string): void => {
    if (list.length < sampleSize) list.push(id);
  };

  const mapped = new Map<string, JsonObject>();
  const filteredOut = new Set<string>();
  // Orphans held in Campaign already (their lookup was emptied later) are neither updated nor deleted.
  const orphans = new Set<string>();
  const byMatch = new Map<string, string>();
  for await (const page of flow.feed.readChanges(null)) {
    for (const row of page.upserts) {
      plan.dynamicsRows++;
      const id = row.id.toLowerCase();
      if (!matchesFilter(flow.filter, row.values)) {
        plan.counts.filtered++;
        if (flow.deleteWhenFilteredOut) filteredOut.add(id);
        continue;
      }
      if (hasNoParent(flow, row.values)) {
        plan.counts.orphans++;
        orphans.add(id);
        sample(plan.samples.orphans, id);
        continue;
      }
      mapped.set(id, flow.mapping.apply(row.values, 'create', flow.optionLabels).fields);
      const match = row.values[matchColumn];
      if (typeof match === 'string' && match !== '') byMatch.set(match.toLowerCase(), id);
    }
    options.onProgress?.('dynamics', plan.dynamicsRows);
  }

  const matched = new Set<string>();
  const candidates: { pkey: string; match: string }[] = [];
  let batch: SinkRecord[] = [];
  const flush = async (): Promise<void> => {
    const keys = batch
      .map((r) => r.fields[flow.sink.keyField])
      .filter((k): k is string => typeof k === 'string' && k !== '')
      .map((k) => k.toLowerCase());
    const synced = new Set((await store.keyMap.getMany(flow.id, keys)).map((e) => e.recordKey));
    for (const record of batch) {
      const rawKey = record.fields[flow.sink.keyField];
      const key = typeof rawKey === 'string' && rawKey !== '' ? rawKey.toLowerCase() : null;
      if (key && orphans.has(key)) continue;
      if (key && mapped.has(key)) {
        matched.add(key);
        const fields = mapped.get(key)!;
        if (!synced.has(key)) {
          plan.counts.adopt++;
          sample(plan.samples.adopt, key);
        } else if (differs(fields, record.fields)) {
          plan.counts.update++;
          sample(plan.samples.update, key);
        } else {
          plan.counts.unchanged++;
        }
      } else if (
        key &&
        synced.has(key) &&
        (filteredOut.has(key) ? flow.deleteWhenFilteredOut : flow.deletes)
      ) {
        plan.counts.delete++;
        sample(plan.samples.delete, key);
      } else {
        plan.counts.leftAlone++;
        sample(plan.samples.leftAlone, record.pkey);
        const match = record.fields[matchField];
        if (!key && typeof match === 'string' && match !== '')
          candidates.push({ pkey: record.pkey, match: match.toLowerCase() });
      }
    }
    batch = [];
  };
  for await (const record of campaignRecords) {
    plan.campaignRecords++;
    batch.push(record);
    if (batch.length >= 500) {
      await flush();
      options.onProgress?.('campaign', plan.campaignRecords);
    }
  }
  await flush();

  for (const id of mapped.keys()) {
    if (!matched.has(id)) {
      plan.counts.create++;
      sample(plan.samples.create, id);
    }
  }
  for (const c of candidates) {
    const contactId = byMatch.get(c.match);
    if (contactId && !matched.has(contactId)) {
      plan.counts.adoptionCandidates++;
      if (plan.samples.adoptionCandidates.length < sampleSize)
        plan.samples.adoptionCandidates.push({ pkey: c.pkey, contactId });
    }
  }
  return plan;
}
