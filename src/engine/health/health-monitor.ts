import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import type { Alert, AlertSink } from '../../core/ports/alert-sink.js';
import type { EngineLogger } from '../../core/ports/engine-logger.js';
import type { CheckpointStore } from '../../core/ports/state-store.js';
import type { FlowStatus } from '../flow-status.js';
import {
  assessHealth,
  defaultHealthSettings,
  formatDuration,
  healthProblemKinds,
  healthSeverities,
  type BacklogTrend,
  type CampaignHealthInput,
  type HealthSettings,
  type ActivePrivacyRequest,
  type OptOutHealthInput,
} from './health-assessment.js';
import {
  defaultHealthHysteresis,
  HealthTracker,
  type HealthHysteresis,
  type HealthProblem,
  type HealthTransition,
} from './health-tracker.js';

/** What the monitor reads about opt-out files (the opt-out provider satisfies it). */
export interface OptOutHealthSource {
  freshness(): Promise<{ lastFileAt: number | null; stalenessHours: number; stale: boolean }>;
  sftpUsage(): Promise<{ usedBytes: number; quotaBytes: number | null } | null>;
  /** Export files that need the operator. @default none */
  fileProblems?(): Promise<NonNullable<OptOutHealthInput['fileProblems']>>;
}

/** What the monitor reads about privacy requests (the privacy provider satisfies it). */
export interface PrivacyFailureSource {
  list(
    filter: { state: 'failed' | 'in-progress' },
    page: { limit: number },
  ): Promise<{
    items: readonly {
      id: string;
      updatedAt: number;
      error: { code: string } | null;
      step?: string;
      createdAt?: number;
      nextAttemptAt?: number | null;
    }[];
  }>;
}

export interface HealthMonitorOptions {
  engine: { flowStatuses(): Promise<FlowStatus[]> };
  alerts: AlertSink;
  clock: Clock;
  logger: EngineLogger;
  /** Where the current problems are written for other processes (`dcsync status`). */
  checkpoints?: Pick<CheckpointStore, 'set'> | undefined;
  /** The Campaign call budget's view (a `CallBudget`'s `usage()` satisfies it). */
  campaign?: (() => CampaignHealthInput) | undefined;
  optOut?: OptOutHealthSource | undefined;
  privacy?: PrivacyFailureSource | undefined;
  /** How often conditions are checked. @default 10000 */
  intervalMs?: number;
  /**
   * The deployment's alert duty (`alerts:monitor`): every worker assesses its health (for its
   * `/healthz`), only the holder raises alerts and writes the problems, so an alert is raised once
   * per deployment. @default always held (one process)
   */
  duty?: { readonly held: boolean; start(): void; stop(): Promise<void> } | undefined;
  /** Thresholds of the assessment. @default defaultHealthSettings */
  settings?: Partial<HealthSettings>;
  /** Per-kind hysteresis. @default defaultHealthHysteresis */
  hysteresis?: Partial<{
    enterAfterMs: Partial<HealthHysteresis['enterAfterMs']>;
    leaveAfterMs: Partial<HealthHysteresis['leaveAfterMs']>;
  }>;
  /** The backlog trend compares with the oldest sample of this window. @default 300000 */
  backlogWindowMs?: number;
  /** Dead letters of a flow growing by at least `threshold` within `windowMs` raise an alert. @default { threshold: 100, windowMs: 900000 } */
  deadLetterGrowth?: { threshold: number; windowMs: number };
  /** Failed privacy requests updated longer ago than this are not (re-)announced. @default 86400000 */
  privacyLookbackMs?: number;
}

/** Checkpoint holding the problems the monitor last saw (`{ at, problems }`). */
export const healthCheckpoint = 'health:problems';

const problemSchema = z.object({
  kind: z.enum(healthProblemKinds),
  subject: z.string(),
  severity: z.enum(healthSeverities),
  summary: z.string(),
  detail: z.string(),
  since: z.number(),
});

/** The problems a running monitor last wrote. */
export const healthRecordSchema = z.object({ at: z.number(), problems: z.array(problemSchema) });
export type HealthRecord = z.infer<typeof healthRecordSchema>;

/** Read the problems the monitor last wrote; null when none was written or it is unreadable. */
export function parseHealthRecord(raw: string | null): HealthRecord | null {
  if (raw === null) return null;
  try {
    const parsed = healthRecordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

const minute = 60_000;

/**
 * Watches the service's health on a timer: assesses every condition (the one health model,
 * `assessHealth`), turns conditions into problems with hysteresis, raises an alert when a problem
 * starts, gets worse or ends, and writes the current problems to the store for other processes.
 * Also raises the event alerts that are not states: dead letters piling up fast, failed privacy
 * requests. Breaker trips and delta re-baselines are raised by the pollers themselves.
 */
export class HealthMonitor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly tracker: HealthTracker;
  private readonly settings: HealthSettings;
  private readonly backlogSamples = new Map<string, { at: number; queued: number }[]>();
  private readonly deadLetterSamples = new Map<string, { at: number; count: number }[]>();
  private readonly announcedPrivacyFailures = new Set<string>();
  private checked = false;

  constructor(private readonly options: HealthMonitorOptions) {
    this.settings = { ...defaultHealthSettings, ...options.settings };
    this.tracker = new HealthTracker({
      enterAfterMs: { ...defaultHealthHysteresis.enterAfterMs, ...options.hysteresis?.enterAfterMs },
      leaveAfterMs: { ...defaultHealthHysteresis.leaveAfterMs, ...options.hysteresis?.leaveAfterMs },
    });
  }

  start(): void {
    if (this.timer) return;
    this.options.duty?.start();
    void this.checkOnce();
    this.timer = setInterval(() => void this.checkOnce(), this.options.intervalMs ?? 10_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    await this.options.duty?.stop();
  }

  /** Whether a check has completed (before that, {@link problems} knows nothing yet). */
  get hasChecked(): boolean {
    return this.checked;
  }

  /** The problems as of the last check, critical first. */
  problems(): HealthProblem[] {
    return this.tracker.problems();
  }

  /** Settings the assessment runs with (the status reader assesses one-off reads the same way). */
  get assessmentSettings(): HealthSettings {
    return this.settings;
  }

  /** One round of checks (overlapping rounds are skipped). */
  checkOnce(): Promise<void> {
    this.running ??= this.check().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async check(): Promise<void> {
    await Promise.all([
      this.guard('health', () => this.checkHealth()),
      this.guard('privacy requests', () => this.checkPrivacy()),
    ]);
  }

  private async guard(what: string, check: () => Promise<void>): Promise<void> {
    try {
      await check();
    } catch (error) {
      this.options.logger.warn({ err: error }, `health monitor: checking ${what} failed`);
    }
  }

  private get alerting(): boolean {
    return this.options.duty?.held ?? true;
  }

  private async raise(alert: Omit<Alert, 'at'>): Promise<void> {
    if (!this.alerting) return;
    await this.options.alerts.raise({ ...alert, at: this.options.clock.now() });
  }

  private async checkHealth(): Promise<void> {
    const now = this.options.clock.now();
    const [flows, optOut, privacyRequests] = await Promise.all([
      this.options.engine.flowStatuses(),
      this.readOptOut(),
      this.readActivePrivacy(),
    ]);
    const conditions = assessHealth(
      {
        now,
        flows,
        campaign: this.options.campaign?.() ?? null,
        backlogTrends: this.backlogTrends(flows, now),
        optOut,
        privacyRequests,
      },
      this.settings,
    );
    for (const transition of this.tracker.observe(now, conditions)) await this.announce(transition, now);
    for (const flow of flows) {
      const growth = this.deadLetterGrowth(flow.flow, flow.deadLetters, now);
      if (growth) await this.raise(growth);
    }
    this.checked = true;
    if (this.alerting)
      await this.options.checkpoints?.set(
        healthCheckpoint,
        JSON.stringify({ at: now, problems: this.tracker.problems() } satisfies HealthRecord),
      );
  }

  private announce(transition: HealthTransition, now: number): Promise<void> {
    const { problem } = transition;
    if (transition.type === 'left')
      return this.raise({
        kind: problem.kind,
        severity: 'info',
        state: 'resolved',
        subject: problem.subject,
        message: `Resolved after ${formatDuration(now - problem.since)}: ${problem.summary}.`,
      });
    return this.raise({
      kind: problem.kind,
      severity: problem.severity,
      state: 'firing',
      subject: problem.subject,
      message: problem.detail,
    });
  }

  /** Privacy requests in progress (stuck ones are a problem); null without privacy requests. */
  private async readActivePrivacy(): Promise<ActivePrivacyRequest[] | null> {
    const source = this.options.privacy;
    if (!source) return null;
    const active = await source.list({ state: 'in-progress' }, { limit: 100 });
    return active.items.map((r) => ({
      id: r.id,
      step: r.step ?? 'unknown',
      createdAt: r.createdAt ?? r.updatedAt,
      nextAttemptAt: r.nextAttemptAt ?? r.updatedAt,
    }));
  }

  private async readOptOut(): Promise<OptOutHealthInput | null> {
    const source = this.options.optOut;
    if (!source) return null;
    const [freshness, usage, fileProblems] = await Promise.all([
      source.freshness(),
      source.sftpUsage(),
      source.fileProblems?.() ?? [],
    ]);
    return { freshness, usage, fileProblems };
  }

  /** Each flow's queued count now against the oldest sample of the window (once the window is mostly covered). */
  private backlogTrends(flows: readonly FlowStatus[], now: number): BacklogTrend[] {
    const windowMs = this.options.backlogWindowMs ?? 5 * minute;
    const trends: BacklogTrend[] = [];
    for (const flow of flows) {
      const samples = (this.backlogSamples.get(flow.flow) ?? []).filter((s) => now - s.at <= windowMs);
      const oldest = samples[0];
      if (oldest && now - oldest.at >= windowMs * 0.8)
        trends.push({
          flow: flow.flow,
          from: oldest.queued,
          to: flow.backlog.queued,
          windowMs: now - oldest.at,
        });
      samples.push({ at: now, queued: flow.backlog.queued });
      this.backlogSamples.set(flow.flow, samples);
    }
    return trends;
  }

  private deadLetterGrowth(flowId: string, count: number, now: number): Omit<Alert, 'at'> | null {
    const { threshold, windowMs } = this.options.deadLetterGrowth ?? {
      threshold: 100,
      windowMs: 15 * minute,
    };
    const samples = (this.deadLetterSamples.get(flowId) ?? []).filter((s) => now - s.at <= windowMs);
    samples.push({ at: now, count });
    this.deadLetterSamples.set(flowId, samples);
    const lowest = Math.min(...samples.map((s) => s.count));
    if (count - lowest < threshold) return null;
    return {
      kind: 'dead-letters-growing',
      severity: 'warning',
      subject: flowId,
      message: `Dead letters of flow ${flowId} grew by ${count - lowest} to ${count} within ${Math.round(windowMs / minute)} min. Check the errors by code on the dashboard.`,
    };
  }

  private async checkPrivacy(): Promise<void> {
    const source = this.options.privacy;
    if (!source) return;
    const since = this.options.clock.now() - (this.options.privacyLookbackMs ?? 24 * 60 * minute);
    const failed = await source.list({ state: 'failed' }, { limit: 100 });
    for (const request of failed.items) {
      if (request.updatedAt < since || this.announcedPrivacyFailures.has(request.id)) continue;
      this.announcedPrivacyFailures.add(request.id);
      await this.raise({
        kind: 'privacy-request-failed',
        severity: 'critical',
        subject: request.id,
        message: `Privacy request ${request.id} failed${request.error ? ` (${request.error.code})` : ''}; the record stays held. See the request's steps on the dashboard.`,
      });
    }
  }
}
