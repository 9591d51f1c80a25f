import { resolveOptOut, type OptOutResolution } from '../../core/opt-out-resolver.js';
import type {
  OptOutDecision,
  OptOutDecisionAction,
  OptOutDecisionSource,
  OptOutSystem,
} from '../../core/ports/opt-out-store.js';
import type { ActiveOptOutMode, OptOutPair } from './opt-out-settings.js';

/** What is known about both sides of one mapped attribute when it is decided. */
export interface OptOutObservation {
  mode: ActiveOptOutMode;
  pair: OptOutPair;
  recordKey: string;
  /** Null when Dynamics holds no value (treated as `false`, Dataverse's default). */
  dynamicsValue: boolean | null;
  dynamicsChangedAt: number | null;
  /** Null when Campaign has no such profile yet (treated as `false`, never set). */
  campaignValue: boolean | null;
  campaignChangedAt: number | null;
  at: number;
  source: OptOutDecisionSource;
  sourceRef: string | null;
}

export interface DecidedOptOut {
  decision: Omit<OptOutDecision, 'id'>;
  resolution: OptOutResolution;
}

function actionOf(resolution: OptOutResolution): OptOutDecisionAction {
  if (resolution.writeDynamics && resolution.writeCampaign) return 'write-both';
  if (resolution.writeDynamics) return 'write-dynamics';
  if (resolution.writeCampaign) return 'write-campaign';
  return 'none';
}

function winningSideOf(resolution: OptOutResolution, dynamicsValue: boolean): OptOutSystem {
  if (resolution.rule === 'campaign-newer' || resolution.rule === 'mode-campaign-to-dynamics')
    return 'campaign';
  if (resolution.rule === 'mode-dynamics-to-campaign') return 'dynamics';
  return resolution.winner === dynamicsValue ? 'dynamics' : 'campaign';
}

/**
 * Dataverse keeps `modifiedon` in whole seconds; Campaign keeps milliseconds. Both are compared in
 * whole seconds, so a sub-second difference counts as equal — where `true` wins (I7).
 */
function toSecond(ms: number | null): number | null {
  return ms === null ? null : Math.floor(ms / 1000) * 1000;
}

/**
 * Resolve one attribute by the configured mode (the core rule, `resolveOptOut`) and describe the
 * decision for the audit. An unknown value counts as `false` and an unknown time as older than
 * any known time, so an unknown side never defeats a known `true` (I7).
 */
export function decideOptOut(o: OptOutObservation): DecidedOptOut {
  const dynamicsValue = o.dynamicsValue ?? false;
  const resolution = resolveOptOut(o.mode, {
    dynamicsValue,
    dynamicsModifiedOn: toSecond(o.dynamicsChangedAt),
    campaignValue: o.campaignValue ?? false,
    campaignLastModified: o.campaignValue === null ? null : toSecond(o.campaignChangedAt),
  });
  return {
    resolution,
    decision: {
      ...auditFields(o),
      winner: resolution.winner,
      winningSide: winningSideOf(resolution, dynamicsValue),
      rule: resolution.rule,
      action: actionOf(resolution),
    },
  };
}

/** The audit entry for a value recognised as the echo of our own write (nothing is resolved). */
export function recordEcho(
  o: OptOutObservation,
  echoOf: OptOutSystem,
  value: boolean,
): Omit<OptOutDecision, 'id'> {
  return {
    ...auditFields(o),
    winner: value,
    winningSide: echoOf === 'dynamics' ? 'campaign' : 'dynamics',
    rule: 'echo',
    action: 'echo',
  };
}

/**
 * The audit entry for a file row older than one already applied for the same contact and
 * attribute (a held file or a fixed line applied late): nothing is resolved or written.
 */
export function recordSupersededRow(o: OptOutObservation): Omit<OptOutDecision, 'id'> {
  return {
    ...auditFields(o),
    winner: o.dynamicsValue ?? false,
    winningSide: 'dynamics',
    rule: 'newer-file-row-applied',
    action: 'superseded',
  };
}

function auditFields(
  o: OptOutObservation,
): Omit<OptOutDecision, 'id' | 'winner' | 'winningSide' | 'rule' | 'action'> {
  return {
    at: o.at,
    recordKey: o.recordKey,
    dynamicsColumn: o.pair.dynamicsColumn,
    campaignAttribute: o.pair.campaignAttribute,
    dynamicsValue: o.dynamicsValue,
    dynamicsChangedAt: o.dynamicsChangedAt,
    campaignValue: o.campaignValue,
    campaignChangedAt: o.campaignChangedAt,
    mode: o.mode,
    source: o.source,
    sourceRef: o.sourceRef,
  };
}
