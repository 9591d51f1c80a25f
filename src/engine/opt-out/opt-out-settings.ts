import { formatIso } from '../../core/clock.js';
import type { CampaignOptOutAttribute, OptOutMode } from '../../core/opt-out-resolver.js';

/** One mapped opt-out: a Dynamics boolean column and the Campaign attribute it pairs with. */
export interface OptOutPair {
  dynamicsColumn: string;
  campaignAttribute: CampaignOptOutAttribute;
}

/** Opt-out modes that move values (everything but `disabled`). */
export type ActiveOptOutMode = Exclude<OptOutMode, 'disabled'>;

/** The flow-level opt-out settings every part of F4 shares. */
export interface OptOutSettings {
  mode: ActiveOptOutMode;
  pairs: readonly OptOutPair[];
}

/** `flows.optOut.mapping` (Dynamics column → Campaign attribute) as pairs, in mapping order. */
export function toOptOutPairs(mapping: Readonly<Record<string, string>>): OptOutPair[] {
  return Object.entries(mapping).map(([dynamicsColumn, campaignAttribute]) => ({
    dynamicsColumn,
    campaignAttribute: campaignAttribute as CampaignOptOutAttribute,
  }));
}

/** Work flow whose items write one resolved opt-out column to Dynamics (retries, dead letters). */
export const optOutDynamicsFlow = 'optout:dynamics';
/** Work flow whose items write one resolved opt-out attribute to a Campaign profile. */
export const optOutCampaignFlow = 'optout:campaign';

/** Record key of an opt-out work item: one per contact and column/attribute, so two never coalesce. */
export function optOutItemKey(contactId: string, field: string): string {
  return `${contactId}|${field}`;
}

/** `YYYY-MM-DD HH:MM:SS.mmmZ` (Campaign) or ISO-8601 → ms; null when empty or invalid. */
export function parseCampaignTime(value: unknown): number | null {
  if (typeof value !== 'string' || value === '') return null;
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?Z$/.exec(value);
  if (!match) return null;
  const ms = Date.parse(value.replace(' ', 'T'));
  if (Number.isNaN(ms)) return null;
  // Reject values that JavaScript rolls over (Feb 30 → Mar 2).
  const back = formatIso(ms);
  return back.slice(0, 19) === `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}`
    ? ms
    : null;
}

/** `flows.optOut.file` after defaults (docs/configuration.md). */
export interface OptOutFileSettings {
  pollIntervalMs: number;
  stableChecks: number;
  stalenessHours: number;
  retentionDays: number;
  afterProcessing: 'archive' | 'delete';
  batchSize: number;
  /** Longest line read; a longer one is quarantined (`line-too-long`) without being held. */
  maxLineBytes: number;
  /** Hold a file until it ends with the trailer `#EOF;N`. */
  requireTrailer: boolean;
  /** A file held (not whole) for longer than this is a problem and an alert. */
  incompleteAfterMinutes: number;
  /** Failed attempts of a file (connection, Dynamics errors) before it is a problem and an alert. */
  maxAttempts: number;
}
