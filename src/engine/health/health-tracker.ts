import type { HealthCondition, HealthProblemKind } from './health-assessment.js';

/** A condition that has held long enough to be a problem. */
export interface HealthProblem extends HealthCondition {
  /** When the condition was first seen (ms). */
  since: number;
}

export type HealthTransition =
  | { type: 'entered'; problem: HealthProblem }
  /** Still the same problem, now worse (warning → critical). */
  | { type: 'escalated'; problem: HealthProblem }
  | { type: 'left'; problem: HealthProblem; endedAt: number };

/** Hysteresis per kind, after defaults. */
export interface HealthHysteresis {
  /** A condition becomes a problem once it held this long. */
  enterAfterMs: Readonly<Record<HealthProblemKind, number>>;
  /** A problem ends once its condition was absent this long. */
  leaveAfterMs: Readonly<Record<HealthProblemKind, number>>;
}

/**
 * Rates and storms (Campaign trouble, a growing backlog, failing changes) must hold a minute before
 * they page anyone, and end only after two calm minutes, so one blip or one good call does not
 * flap the header or the alerts. States an operator sets or clears (a pause, dead letters, a stale
 * file, storage) start and end at once.
 */
export const defaultHealthHysteresis: HealthHysteresis = {
  enterAfterMs: {
    'flow-paused': 0,
    'flow-failed': 0,
    'dead-letters': 0,
    'changes-retrying': 0,
    'campaign-throttled': 60_000,
    'campaign-failing': 60_000,
    'campaign-rate-cut': 60_000,
    'backlog-growing': 0,
    'opt-out-file-stale': 0,
    'opt-out-file-problem': 0,
    'sftp-usage': 0,
    orphans: 0,
    'privacy-request-stuck': 0,
    'no-sync-process': 0,
  },
  leaveAfterMs: {
    'flow-paused': 0,
    'flow-failed': 0,
    'dead-letters': 0,
    'changes-retrying': 120_000,
    'campaign-throttled': 120_000,
    'campaign-failing': 120_000,
    'campaign-rate-cut': 120_000,
    'backlog-growing': 120_000,
    'opt-out-file-stale': 0,
    'opt-out-file-problem': 0,
    'sftp-usage': 0,
    orphans: 0,
    'privacy-request-stuck': 0,
    'no-sync-process': 0,
  },
};

/** Kinds that must hold a while before they are a problem (config `health.stormEnterAfterMs`). */
export const stormEnterKinds = [
  'campaign-throttled',
  'campaign-failing',
  'campaign-rate-cut',
] as const satisfies readonly HealthProblemKind[];

/** Kinds that end only after a calm while (config `health.stormLeaveAfterMs`). */
export const stormLeaveKinds = [
  'changes-retrying',
  'campaign-throttled',
  'campaign-failing',
  'campaign-rate-cut',
  'backlog-growing',
] as const satisfies readonly HealthProblemKind[];

/** Hysteresis overrides giving every storm kind the same enter and leave times. */
export function stormHysteresis(timing: { enterAfterMs: number; leaveAfterMs: number }): {
  enterAfterMs: Partial<Record<HealthProblemKind, number>>;
  leaveAfterMs: Partial<Record<HealthProblemKind, number>>;
} {
  return {
    enterAfterMs: Object.fromEntries(stormEnterKinds.map((kind) => [kind, timing.enterAfterMs])),
    leaveAfterMs: Object.fromEntries(stormLeaveKinds.map((kind) => [kind, timing.leaveAfterMs])),
  };
}

interface Tracked {
  condition: HealthCondition;
  firstSeen: number;
  lastSeen: number;
  active: boolean;
}

function keyOf(condition: Pick<HealthCondition, 'kind' | 'subject'>): string {
  return `${condition.kind}\u0000${condition.subject}`;
}

/**
 * Turns the conditions of successive assessments into problems with a start time: a condition
 * enters after `enterAfterMs` of being seen in every assessment, and leaves after `leaveAfterMs`
 * of not being seen (it keeps its last description meanwhile). Sampling may be irregular: only
 * the times passed in count.
 */
export class HealthTracker {
  private readonly tracked = new Map<string, Tracked>();

  constructor(private readonly hysteresis: HealthHysteresis = defaultHealthHysteresis) {}

  observe(now: number, conditions: readonly HealthCondition[]): HealthTransition[] {
    const transitions: HealthTransition[] = [];
    const seen = new Set<string>();
    for (const condition of conditions) {
      const key = keyOf(condition);
      seen.add(key);
      const entry = this.tracked.get(key) ?? {
        condition,
        firstSeen: now,
        lastSeen: now,
        active: false,
      };
      const escalated =
        entry.active && entry.condition.severity === 'warning' && condition.severity === 'critical';
      entry.condition = condition;
      entry.lastSeen = now;
      this.tracked.set(key, entry);
      if (!entry.active && now - entry.firstSeen >= this.hysteresis.enterAfterMs[condition.kind]) {
        entry.active = true;
        transitions.push({ type: 'entered', problem: this.problemOf(entry) });
      } else if (escalated) transitions.push({ type: 'escalated', problem: this.problemOf(entry) });
    }
    for (const [key, entry] of this.tracked) {
      if (seen.has(key)) continue;
      if (!entry.active) this.tracked.delete(key);
      else if (now - entry.lastSeen >= this.hysteresis.leaveAfterMs[entry.condition.kind]) {
        this.tracked.delete(key);
        transitions.push({ type: 'left', problem: this.problemOf(entry), endedAt: now });
      }
    }
    return transitions;
  }

  /** Current problems, critical first, then oldest first. */
  problems(): HealthProblem[] {
    return [...this.tracked.values()]
      .filter((entry) => entry.active)
      .map((entry) => this.problemOf(entry))
      .sort(
        (a, b) => Number(b.severity === 'critical') - Number(a.severity === 'critical') || a.since - b.since,
      );
  }

  private problemOf(entry: Tracked): HealthProblem {
    return { ...entry.condition, since: entry.firstSeen };
  }
}
