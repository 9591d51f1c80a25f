import { holdsRecordKey } from '../../core/record-key.js';
import type { Clock } from '../../core/clock.js';
import type { JsonObject } from '../../core/json.js';
import type { OptOutDecision, OptOutStore, OptOutWrite } from '../../core/ports/opt-out-store.js';
import type { RecordSink } from '../../core/ports/record-sink.js';
import type { WorkItemInput, WorkQueue } from '../../core/ports/state-store.js';
import type { PreparedUpsert, UpsertHook } from '../records/record-flow.js';
import { decideOptOut, recordEcho, type OptOutObservation } from './opt-out-decision.js';
import {
  optOutDynamicsFlow,
  optOutItemKey,
  parseCampaignTime,
  type OptOutSettings,
} from './opt-out-settings.js';
import type { OptOutDynamicsPayload } from './opt-out-work-applier.js';

export interface OptOutContactHookOptions {
  settings: OptOutSettings;
  store: { optOut: OptOutStore; queue: Pick<WorkQueue, 'enqueue'> };
  /** The contacts flow's profile sink (read once per change in bidirectional mode). */
  profiles: RecordSink;
  clock: Clock;
}

/** Outcomes after which the profile holds what the change carried. */
const appliedOutcomes = new Set(['created', 'updated', 'adopted', 'unchanged']);

/**
 * The Dynamics side of F4, on the contact flow (F1):
 * - `dynamics-to-campaign`: the opt-out columns travel in the field mapping; this hook only records
 *   each decision (rule `mode-dynamics-to-campaign`) once the profile was written;
 * - `bidirectional`: each mapped column of the change is resolved against the profile's current
 *   value and `…LastModified` (one read), the winner is written with the profile write (outside
 *   the unchanged check), and a Campaign winner goes to Dynamics through the durable
 *   `optout:dynamics` flow. A column whose value is our own earlier Dynamics write — the change's
 *   version is exactly the one Dataverse returned for that write — is an echo: nothing is read,
 *   resolved or written for it (I8).
 */
export class OptOutContactHook implements UpsertHook {
  constructor(private readonly options: OptOutContactHookOptions) {}

  async prepare(input: Parameters<UpsertHook['prepare']>[0]): Promise<PreparedUpsert | null> {
    const { settings, clock, store } = this.options;
    const { item, change, lane } = input;
    const pairs = settings.pairs.filter((p) => typeof change.values[p.dynamicsColumn] === 'boolean');
    if (pairs.length === 0 || settings.mode === 'campaign-to-dynamics') return null;
    const key = item.recordKey;
    const at = clock.now();
    const dynamicsChangedAt = parseCampaignTime(change.modifiedOn);
    const observe = (
      pair: (typeof pairs)[number],
      campaign: { value: boolean | null; at: number | null },
    ): OptOutObservation => ({
      mode: settings.mode,
      pair,
      recordKey: key,
      dynamicsValue: change.values[pair.dynamicsColumn] as boolean,
      dynamicsChangedAt,
      campaignValue: campaign.value,
      campaignChangedAt: campaign.at,
      at,
      source: 'contact-change',
      sourceRef: item.sourceVersion,
    });
    const decisions: Omit<OptOutDecision, 'id'>[] = [];

    if (settings.mode === 'dynamics-to-campaign') {
      for (const pair of pairs)
        decisions.push(decideOptOut(observe(pair, { value: null, at: null })).decision);
      return {
        change,
        forceWrite: false,
        extraFields: {},
        afterApplied: async (outcome) => {
          if (outcome !== 'unchanged' && appliedOutcomes.has(outcome))
            await store.optOut.recordDecisions(decisions);
        },
      };
    }

    const ours = new Map((await store.optOut.latestWrites('dynamics', [key])).map((w) => [w.attribute, w]));
    const isEcho = (pair: (typeof pairs)[number]): boolean => {
      const write = ours.get(pair.campaignAttribute);
      return (
        write !== undefined &&
        write.resultVersion !== null &&
        write.resultVersion === item.sourceVersion &&
        write.value === change.values[pair.dynamicsColumn]
      );
    };
    const live = pairs.filter((p) => !isEcho(p));
    for (const pair of pairs.filter(isEcho)) {
      decisions.push(
        recordEcho(
          observe(pair, { value: null, at: null }),
          'dynamics',
          change.values[pair.dynamicsColumn] as boolean,
        ),
      );
    }
    let profile: JsonObject | null = null;
    if (live.length > 0) {
      const found = await this.options.profiles.findByKey(key, { lane });
      const foundKey = found?.fields[this.options.profiles.keyField];
      if (found && holdsRecordKey(foundKey, key)) profile = found.fields;
    }
    const extraFields: JsonObject = {};
    const campaignWrites: Omit<OptOutWrite, 'at'>[] = [];
    const items: WorkItemInput[] = [];
    let forceWrite = false;
    for (const pair of live) {
      const attribute = pair.campaignAttribute;
      const campaign = profile
        ? { value: profile[attribute] === true, at: parseCampaignTime(profile[`${attribute}LastModified`]) }
        : { value: null, at: null };
      const { decision, resolution } = decideOptOut(observe(pair, campaign));
      decisions.push(decision);
      if (profile === null || resolution.writeCampaign) {
        extraFields[attribute] = resolution.winner;
        if (profile !== null) forceWrite = true;
        if (profile !== null || resolution.winner)
          campaignWrites.push({
            recordKey: key,
            attribute,
            system: 'campaign',
            value: resolution.winner,
            resultVersion: null,
          });
      }
      if (resolution.writeDynamics) {
        const payload: OptOutDynamicsPayload = {
          contactId: key,
          column: pair.dynamicsColumn,
          attribute,
          value: resolution.winner,
          basis: change.values[pair.dynamicsColumn] as boolean,
          sourceRef: item.sourceVersion,
        };
        items.push({
          flow: optOutDynamicsFlow,
          recordKey: optOutItemKey(key, pair.dynamicsColumn),
          payload: { ...payload },
        });
      }
    }
    return {
      change,
      forceWrite,
      extraFields,
      afterApplied: async (outcome) => {
        if (!appliedOutcomes.has(outcome)) return;
        await store.optOut.recordDecisions(decisions);
        if (outcome !== 'unchanged' && campaignWrites.length > 0)
          await store.optOut.recordWrites(campaignWrites.map((w) => ({ ...w, at: clock.now() })));
        if (items.length > 0) await store.queue.enqueue(items);
      },
    };
  }
}
