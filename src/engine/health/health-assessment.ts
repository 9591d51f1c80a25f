import { formatIso } from '../../core/clock.js';
import type { FlowStatus } from '../flow-status.js';

/**
 * What can be wrong right now. Each is also an alert kind: the health monitor raises it when the
 * problem starts and again (resolved) when it ends.
 */
export const healthProblemKinds = [
  'flow-paused',
  'flow-failed',
  'dead-letters',
  'changes-retrying',
  'campaign-throttled',
  'campaign-failing',
  'campaign-rate-cut',
  'backlog-growing',
  'opt-out-file-stale',
  'opt-out-file-problem',
  'sftp-usage',
  'orphans',
  'privacy-request-stuck',
  'no-sync-process',
] as const;
export type HealthProblemKind = (typeof healthProblemKinds)[number];

export const healthSeverities = ['warning', 'critical'] as const;
export type HealthSeverity = (typeof healthSeverities)[number];

/** One condition that holds at the moment of the assessment. No personal data: ids, counts, codes. */
export interface HealthCondition {
  kind: HealthProblemKind;
  /** What it is about (flow id, `campaign`, `opt-out-export`, `sftp`); with `kind`, its identity. */
  subject: string;
  severity: HealthSeverity;
  /** A few words for the header and `overall.problems`, e.g. `flow contacts: 3 dead letters`. */
  summary: string;
  /** What, how bad, and what to do. */
  detail: string;
}

/** What the Campaign call budget says about the last minutes (a `CallBudgetUsage` satisfies it). */
export interface CampaignHealthInput {
  currentCallsPerSecond: number;
  callsPerSecondLimit: number;
  /** Until when a Retry-After holds every call back, or null. */
  pausedUntil: number | null;
  /** The last 429, 5xx, transport failure or slow answer, and when. */
  lastTrouble: { at: number; reason: string } | null;
}

/** How a flow's backlog moved over the monitor's window. */
export interface BacklogTrend {
  flow: string;
  /** Queued at the start of the window. */
  from: number;
  /** Queued now. */
  to: number;
  windowMs: number;
}

export interface OptOutHealthInput {
  freshness: { lastFileAt: number | null; stalenessHours: number; stale: boolean } | null;
  usage: { usedBytes: number; quotaBytes: number | null } | null;
  /** Export files that need the operator (quarantined lines, failed, held too long, retried). */
  fileProblems?:
    readonly { file: string; problem: string; summary: string; detail: string }[] | null | undefined;
}

/** A privacy delete request still in progress (ids and times only). */
export interface ActivePrivacyRequest {
  id: string;
  /** The step it is on, e.g. `poll`. */
  step: string;
  createdAt: number;
  /** When the runner looks at it next (ms); overdue when no process moves requests on. */
  nextAttemptAt: number;
}

export interface HealthInputs {
  now: number;
  flows: readonly FlowStatus[];
  campaign: CampaignHealthInput | null;
  /** Empty when nobody sampled the backlog over time (one-off status reads). */
  backlogTrends: readonly BacklogTrend[];
  optOut: OptOutHealthInput | null;
  /** Privacy requests in progress; absent or null when privacy requests are not configured. */
  privacyRequests?: readonly ActivePrivacyRequest[] | null | undefined;
  /**
   * Whether a sync process reports (its heartbeat is live), for a read from outside one (`dcsync
   * status` in another shell); absent inside a running service, which is one.
   */
  syncProcess?: { running: boolean; lastSeenAt: number | null } | null | undefined;
}

/** Thresholds of the assessment, after defaults. */
export interface HealthSettings {
  /** A running flow whose delta read has not completed for this long has failed. @default 600000 */
  staleReadMs: number;
  /** A flow whose oldest queued change is older than this has failed to apply. @default 1800000 */
  maxLagMs: number;
  /** Changes failing for longer than this are a problem (warning). @default 120000 */
  retryingAfterMs: number;
  /** …and a critical one after this long. @default 900000 */
  retryingCriticalAfterMs: number;
  /** Campaign trouble (429, 5xx, transport) this recent counts as ongoing. @default 120000 */
  troubleWindowMs: number;
  /** The adaptive rate below this share of the configured rate is a rate cut. @default 0.5 */
  rateCutShare: number;
  /** A backlog that grew by at least this many changes over the window grows faster than it drains. @default 100 */
  backlogGrowthMin: number;
  /** A privacy request in progress for longer than this is stuck (config `privacy.stuckAfterMs`). @default 86400000 */
  privacyStuckAfterMs: number;
  /** …and so is one whose next look is overdue by this much (nothing moves requests on). @default 300000 */
  privacyOverdueMs: number;
}

export const defaultHealthSettings: HealthSettings = {
  staleReadMs: 10 * 60_000,
  maxLagMs: 30 * 60_000,
  retryingAfterMs: 2 * 60_000,
  retryingCriticalAfterMs: 15 * 60_000,
  troubleWindowMs: 2 * 60_000,
  rateCutShare: 0.5,
  backlogGrowthMin: 100,
  privacyStuckAfterMs: 24 * 60 * 60_000,
  privacyOverdueMs: 5 * 60_000,
};

/** A duration for people: `12 s` under a minute, else whole minutes (`5 min`). */
export function formatDuration(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m < 1 ? `${Math.max(1, Math.round(ms / 1000))} s` : `${m} min`;
}

/** The system a flow writes to, for people: Campaign, or Dynamics for the flows coming back (F4's file side, F6). */
export function targetOf(flow: Pick<FlowStatus, 'direction'>): 'Campaign' | 'Dynamics' {
  return flow.direction === 'campaign-to-dynamics' ? 'Dynamics' : 'Campaign';
}

/** What a flow reads, for people: a Dynamics table, or the journal it is fed from. */
function sourceOf(flow: FlowStatus): string {
  return flow.journal ? `the ${flow.table}` : `table ${flow.table}`;
}

function flowConditions(flow: FlowStatus, now: number, s: HealthSettings): HealthCondition[] {
  const out: HealthCondition[] = [];
  const id = flow.flow;
  const { control, cursor } = flow;
  const target = targetOf(flow);
  const journalReadAt = flow.journal?.readAt ?? null;
  if (control.status === 'paused') {
    out.push({
      kind: 'flow-paused',
      subject: id,
      severity: control.trippedRunId !== null ? 'critical' : 'warning',
      summary: `flow ${id} paused`,
      detail:
        control.trippedRunId !== null
          ? `Flow ${id} was paused by the mass-change breaker (${control.reason ?? 'mass change'}); ${flow.backlog.queued} changes wait. Review the change in Dynamics, then resume with --accept-mass-change.`
          : `Flow ${id} is paused${control.reason ? ` (${control.reason})` : ''}; ${flow.backlog.queued} changes wait. Resume it from the dashboard, the API or "dcsync flow resume".`,
    });
  } else {
    const caughtUpAt = cursor.caughtUpAt;
    if (
      cursor.phase === 'delta' &&
      caughtUpAt !== null &&
      now - control.since > s.staleReadMs &&
      now - caughtUpAt > s.staleReadMs
    )
      out.push({
        kind: 'flow-failed',
        subject: id,
        severity: 'critical',
        summary: `flow ${id}: no read for ${formatDuration(now - caughtUpAt)}`,
        detail: `Flow ${id} has not completed a read of ${sourceOf(flow)} for ${formatDuration(now - caughtUpAt)}; Dynamics may be unreachable or refusing the service (see the log), or no sync process is running.`,
      });
    else if (
      flow.journal &&
      journalReadAt !== null &&
      now - control.since > s.staleReadMs &&
      now - journalReadAt > s.staleReadMs
    )
      out.push({
        kind: 'flow-failed',
        subject: id,
        severity: 'critical',
        summary: `flow ${id}: no read for ${formatDuration(now - journalReadAt)}`,
        detail: `Flow ${id} has not read ${sourceOf(flow)} for ${formatDuration(now - journalReadAt)}; Adobe I/O Events may be unreachable or refusing the credential (see the log), or no sync process is running. Events are kept 7 days: past that they are lost.`,
      });
    else if (flow.lagMs !== null && flow.lagMs > s.maxLagMs)
      out.push({
        kind: 'flow-failed',
        subject: id,
        severity: 'critical',
        summary: `flow ${id}: oldest change waits ${formatDuration(flow.lagMs)}`,
        detail: `Flow ${id}: the oldest queued change has waited ${formatDuration(flow.lagMs)} (${flow.backlog.queued} queued); ${target} writes are failing or too slow (see retrying changes and the log).`,
      });
  }
  if (flow.deadLetters > 0)
    out.push({
      kind: 'dead-letters',
      subject: id,
      severity: 'warning',
      summary: `flow ${id}: ${flow.deadLetters} dead letter${flow.deadLetters === 1 ? '' : 's'}`,
      detail: `Flow ${id} has ${flow.deadLetters} dead letter${flow.deadLetters === 1 ? '' : 's'}: changes that will not be retried without you. Read their codes and reasons (dashboard, "dcsync dlq list"), fix the cause, then retry or discard them.`,
    });
  if (flow.orphans > 0) {
    const n = flow.orphans;
    const since = flow.orphansSince === null ? '' : ` (the oldest since ${formatIso(flow.orphansSince)})`;
    out.push({
      kind: 'orphans',
      subject: id,
      severity: 'warning',
      summary: `flow ${id}: ${n} record${n === 1 ? '' : 's'} with no parent in Dynamics`,
      detail: `Flow ${id} has ${n} record${n === 1 ? '' : 's'} with no parent to link to${since}: the required lookup (a cardinality-1 link in Campaign) is empty, or names a parent outside its flow's filter. No parent will ever release ${n === 1 ? 'it' : 'them'}, and Campaign would hide ${n === 1 ? 'it' : 'them'}. Set the lookup in Dynamics ("dcsync parked list --orphans" names them and their parent): each is written at its next change.`,
    });
  }
  const failing = flow.retrying.byCode.filter(
    (r) => r.oldestFailedAt !== null && now - r.oldestFailedAt > s.retryingAfterMs,
  );
  if (failing.length > 0) {
    const oldest = Math.min(...failing.map((r) => r.oldestFailedAt!));
    const count = failing.reduce((n, r) => n + r.count, 0);
    const codes = [...new Set(failing.map((r) => r.code))].join(', ');
    out.push({
      kind: 'changes-retrying',
      subject: id,
      severity: now - oldest > s.retryingCriticalAfterMs ? 'critical' : 'warning',
      summary: `flow ${id}: ${count} change${count === 1 ? '' : 's'} failing for ${formatDuration(now - oldest)} (${codes})`,
      detail: `Flow ${id}: ${count} change${count === 1 ? ' keeps' : 's keep'} failing (${codes}), the oldest for ${formatDuration(now - oldest)}; they are retried with backoff and become dead letters when their attempts run out. Check what the codes say (${target} down or throttling, a rejected value).`,
    });
  }
  return out;
}

function campaignConditions(c: CampaignHealthInput, now: number, s: HealthSettings): HealthCondition[] {
  const out: HealthCondition[] = [];
  const trouble =
    c.lastTrouble !== null && now - c.lastTrouble.at <= s.troubleWindowMs ? c.lastTrouble : null;
  if ((c.pausedUntil !== null && c.pausedUntil > now) || trouble?.reason === 'HTTP 429')
    out.push({
      kind: 'campaign-throttled',
      subject: 'campaign',
      severity: 'warning',
      summary: 'Campaign is throttling calls',
      detail:
        c.pausedUntil !== null && c.pausedUntil > now
          ? `Campaign answered 429 and asked to wait until ${formatIso(c.pausedUntil)}; every call waits. Changes are kept and retried; if this lasts, lower campaign.budget.callsPerSecond or ask Adobe about the package's limits.`
          : 'Campaign answered 429 (too many calls) in the last minutes; the call rate was cut and changes are retried. If this lasts, lower campaign.budget.callsPerSecond or ask Adobe about the package limits.',
    });
  if (trouble !== null && trouble.reason !== 'HTTP 429' && trouble.reason !== 'slow answer')
    out.push({
      kind: 'campaign-failing',
      subject: 'campaign',
      severity: 'critical',
      summary: `Campaign calls failing (${trouble.reason})`,
      detail: `Campaign calls are failing (${trouble.reason}, last at ${formatIso(trouble.at)}); changes are kept and retried with backoff. Check Campaign's status and the network path; retrying changes and their codes show what is affected.`,
    });
  if (trouble !== null && c.currentCallsPerSecond < c.callsPerSecondLimit * s.rateCutShare)
    out.push({
      kind: 'campaign-rate-cut',
      subject: 'campaign',
      severity: 'warning',
      summary: `Campaign call rate cut to ${Math.round(c.currentCallsPerSecond)} of ${c.callsPerSecondLimit}/s`,
      detail: `The adaptive call budget cut the Campaign call rate to ${Math.round(c.currentCallsPerSecond)} of ${c.callsPerSecondLimit} calls/s after ${trouble.reason}; it grows back once calls succeed again. Loads take longer meanwhile.`,
    });
  return out;
}

function backlogConditions(
  flows: readonly FlowStatus[],
  trends: readonly BacklogTrend[],
  s: HealthSettings,
): HealthCondition[] {
  const out: HealthCondition[] = [];
  for (const trend of trends) {
    const flow = flows.find((f) => f.flow === trend.flow);
    // A full read (initial load, re-baseline) or a replay fills the backlog on purpose.
    if (!flow || flow.cursor.phase !== 'delta' || flow.replay !== null || flow.control.status === 'paused')
      continue;
    const growth = trend.to - trend.from;
    if (growth < Math.max(s.backlogGrowthMin, trend.from * 0.2)) continue;
    out.push({
      kind: 'backlog-growing',
      subject: trend.flow,
      severity: 'warning',
      summary: `flow ${trend.flow}: backlog grew by ${growth} to ${trend.to} in ${formatDuration(trend.windowMs)}`,
      detail: `Flow ${trend.flow}: the backlog grew from ${trend.from} to ${trend.to} changes in ${formatDuration(trend.windowMs)}: changes arrive faster than ${targetOf(flow)} takes them. See ${targetOf(flow) === 'Campaign' ? 'Campaign trouble, the call budget' : 'Dataverse throttling (service protection limits)'} and retrying changes.`,
    });
  }
  return out;
}

function optOutConditions(input: OptOutHealthInput): HealthCondition[] {
  const out: HealthCondition[] = [];
  const { freshness, usage } = input;
  if (freshness?.stale)
    out.push({
      kind: 'opt-out-file-stale',
      subject: 'opt-out-export',
      severity: 'critical',
      summary: 'opt-out export file is stale',
      detail:
        freshness.lastFileAt === null
          ? `No opt-out export file has arrived on the Campaign SFTP server (window ${freshness.stalenessHours} h): opt-outs made in Campaign are not reaching Dynamics. Check (and restart) the Campaign export workflow.`
          : `No new opt-out export file for more than ${freshness.stalenessHours} h (last ${formatIso(freshness.lastFileAt)}): opt-outs made in Campaign are not reaching Dynamics. Check (and restart) the Campaign export workflow.`,
    });
  if (usage?.quotaBytes) {
    const share = usage.usedBytes / usage.quotaBytes;
    if (share >= 0.8)
      out.push({
        kind: 'sftp-usage',
        subject: 'sftp',
        severity: share >= 0.9 ? 'critical' : 'warning',
        summary: `SFTP usage at ${Math.floor(share * 100)} %`,
        detail: `Campaign SFTP storage is ${Math.floor(share * 100)} % used (${usage.usedBytes} of ${usage.quotaBytes} bytes); a full SFTP server can lose or corrupt files. Processed files are removed after flows.optOut.file.retentionDays: lower it or free space.`,
      });
  }
  for (const file of input.fileProblems ?? [])
    out.push({
      kind: 'opt-out-file-problem',
      subject: `${file.problem}:${file.file}`,
      severity: 'critical',
      summary: file.summary,
      detail: file.detail,
    });
  return out;
}

function privacyConditions(
  requests: readonly ActivePrivacyRequest[],
  now: number,
  s: HealthSettings,
): HealthCondition[] {
  const out: HealthCondition[] = [];
  for (const r of requests) {
    const age = now - r.createdAt;
    const overdue = now - r.nextAttemptAt;
    if (age <= s.privacyStuckAfterMs && overdue <= s.privacyOverdueMs) continue;
    out.push({
      kind: 'privacy-request-stuck',
      subject: r.id,
      severity: 'warning',
      summary: `privacy request ${r.id} stuck at step ${r.step}`,
      detail:
        overdue > s.privacyOverdueMs
          ? `Privacy request ${r.id} (step ${r.step}) was due at ${formatIso(r.nextAttemptAt)} and has not moved for ${formatDuration(overdue)}: no process is moving privacy requests on. Run "dcsync run" with the privacy section, or "dcsync privacy delete --wait" again; the record stays held meanwhile.`
          : `Privacy request ${r.id} has been in progress for ${formatDuration(age)} (step ${r.step}, next look ${formatIso(r.nextAttemptAt)}); the record stays held meanwhile. See its steps ("dcsync privacy show ${r.id}"); at step poll the Privacy Service job has not completed — check it in the Privacy Service UI.`,
    });
  }
  return out;
}

/**
 * The one health model: every problem the service can see at one moment, from the flows' status,
 * the Campaign call budget, the backlog's trend and the opt-out export. Pure: the header,
 * `/api/status`, `dcsync status` and the alerts all read problems through it (the monitor adds
 * time: hysteresis, and alerts on entering and leaving).
 */
export function assessHealth(
  inputs: HealthInputs,
  settings: HealthSettings = defaultHealthSettings,
): HealthCondition[] {
  return [
    ...inputs.flows.flatMap((flow) => flowConditions(flow, inputs.now, settings)),
    ...(inputs.campaign ? campaignConditions(inputs.campaign, inputs.now, settings) : []),
    ...backlogConditions(inputs.flows, inputs.backlogTrends, settings),
    ...(inputs.optOut ? optOutConditions(inputs.optOut) : []),
    ...privacyConditions(inputs.privacyRequests ?? [], inputs.now, settings),
    ...syncProcessConditions(inputs.syncProcess ?? null, inputs.now),
  ];
}

function syncProcessConditions(
  sync: { running: boolean; lastSeenAt: number | null } | null,
  now: number,
): HealthCondition[] {
  if (sync === null || sync.running) return [];
  const since =
    sync.lastSeenAt === null
      ? 'No sync process has ever reported to this store'
      : `No sync process has reported for ${formatDuration(now - sync.lastSeenAt)} (last at ${formatIso(sync.lastSeenAt)})`;
  return [
    {
      kind: 'no-sync-process',
      subject: 'sync',
      severity: 'critical',
      summary:
        sync.lastSeenAt === null
          ? 'no sync process reporting'
          : `no sync process reporting for ${formatDuration(now - sync.lastSeenAt)}`,
      detail: `${since}: nothing is read from Dynamics or written to Campaign. Start "dcsync run" with this configuration, or find why it stopped (its log, the service manager).`,
    },
  ];
}
