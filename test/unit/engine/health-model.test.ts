/**
 * The one health model: which conditions hold (pure assessment) and when they become problems and
 * stop being ones (hysteresis), on a clock the test moves.
 */
import { describe, expect, it } from 'vitest';
import {
  assessHealth,
  type CampaignHealthInput,
  type HealthCondition,
  type HealthInputs,
} from '../../../src/engine/health/health-assessment.js';
import { HealthTracker } from '../../../src/engine/health/health-tracker.js';
import { HealthMonitor } from '../../../src/engine/health/health-monitor.js';
import type { Alert } from '../../../src/core/ports/alert-sink.js';
import { silentLogger } from '../../../src/core/ports/engine-logger.js';
import type { FlowStatus } from '../../../src/engine/flow-status.js';

const t0 = Date.UTC(2026, 5, 1, 12);
const minute = 60_000;

function buildFlow(overrides: Partial<FlowStatus> = {}): FlowStatus {
  return {
    flow: 'contacts',
    table: 'contact',
    control: {
      status: 'running',
      reason: null,
      since: t0 - 60 * minute,
      acceptedRunId: null,
      trippedRunId: null,
    },
    cursor: {
      phase: 'delta',
      link: 'delta-link',
      runId: null,
      runRows: 0,
      runDeletes: 0,
      runOverwrites: 0,
      startedAt: t0 - 60 * minute,
      caughtUpAt: t0 - 1000,
    },
    replay: null,
    backlog: { queued: 0, leased: 0, live: 0, bulk: 0 },
    lagMs: null,
    retrying: { total: 0, byCode: [] },
    deadLetters: 0,
    parked: 0,
    orphans: 0,
    orphansSince: null,
    synced: 100,
    processed: null,
    phase: 'live',
    run: null,
    ...overrides,
  };
}

const calm: CampaignHealthInput = {
  currentCallsPerSecond: 800,
  callsPerSecondLimit: 800,
  pausedUntil: null,
  lastTrouble: null,
};

function inputs(overrides: Partial<HealthInputs> = {}): HealthInputs {
  return { now: t0, flows: [buildFlow()], campaign: calm, backlogTrends: [], optOut: null, ...overrides };
}

const kinds = (conditions: readonly HealthCondition[]): string[] =>
  conditions.map((c) => `${c.kind}:${c.subject}:${c.severity}`);

describe('assessHealth', () => {
  it('finds nothing wrong in a calm, caught-up sync', () => {
    expect(assessHealth(inputs())).toEqual([]);
  });

  it('sees a 503 storm: Campaign failing, the rate cut, changes retrying (the observed "all good")', () => {
    const conditions = assessHealth(
      inputs({
        campaign: {
          currentCallsPerSecond: 40,
          callsPerSecondLimit: 800,
          pausedUntil: null,
          lastTrouble: { at: t0 - 5000, reason: 'HTTP 503' },
        },
        flows: [
          buildFlow({
            backlog: { queued: 4700, leased: 25, live: 4725, bulk: 0 },
            retrying: {
              total: 25,
              byCode: [{ code: 'CAMPAIGN_HTTP_503', count: 25, oldestFailedAt: t0 - 3 * minute }],
            },
          }),
        ],
      }),
    );
    expect(kinds(conditions)).toEqual([
      'changes-retrying:contacts:warning',
      'campaign-failing:campaign:critical',
      'campaign-rate-cut:campaign:warning',
    ]);
    expect(conditions.map((c) => c.summary)).toEqual([
      'flow contacts: 25 changes failing for 3 min (CAMPAIGN_HTTP_503)',
      'Campaign calls failing (HTTP 503)',
      'Campaign call rate cut to 40 of 800/s',
    ]);
  });

  it('tells throttling from failing, and forgets trouble older than the window', () => {
    const throttled = assessHealth(
      inputs({ campaign: { ...calm, lastTrouble: { at: t0 - 1000, reason: 'HTTP 429' } } }),
    );
    expect(kinds(throttled)).toEqual(['campaign-throttled:campaign:warning']);
    const paused = assessHealth(inputs({ campaign: { ...calm, pausedUntil: t0 + 30_000 } }));
    expect(kinds(paused)).toEqual(['campaign-throttled:campaign:warning']);
    const old = assessHealth(
      inputs({
        campaign: {
          ...calm,
          currentCallsPerSecond: 10,
          lastTrouble: { at: t0 - 10 * minute, reason: 'HTTP 503' },
        },
      }),
    );
    expect(old).toEqual([]);
    // Slow answers cut the rate but are not failures.
    const slow = assessHealth(
      inputs({
        campaign: { ...calm, currentCallsPerSecond: 100, lastTrouble: { at: t0, reason: 'slow answer' } },
      }),
    );
    expect(kinds(slow)).toEqual(['campaign-rate-cut:campaign:warning']);
  });

  it('turns changes failing for 15 min critical, and counts every dead letter', () => {
    const conditions = assessHealth(
      inputs({
        flows: [
          buildFlow({
            deadLetters: 3,
            retrying: {
              total: 2,
              byCode: [
                { code: 'CAMPAIGN_HTTP_503', count: 1, oldestFailedAt: t0 - 20 * minute },
                { code: 'CAMPAIGN_RATE_LIMITED', count: 1, oldestFailedAt: t0 - 30_000 },
              ],
            },
          }),
        ],
      }),
    );
    expect(kinds(conditions)).toEqual([
      'dead-letters:contacts:warning',
      'changes-retrying:contacts:critical',
    ]);
    expect(conditions[1]!.summary).toBe('flow contacts: 1 change failing for 20 min (CAMPAIGN_HTTP_503)');
  });

  it('sees a backlog growing while following deltas, but not while a load fills it on purpose', () => {
    const trend = { flow: 'contacts', from: 200, to: 900, windowMs: 5 * minute };
    expect(kinds(assessHealth(inputs({ backlogTrends: [trend] })))).toEqual([
      'backlog-growing:contacts:warning',
    ]);
    const loading = buildFlow({ cursor: { ...buildFlow().cursor, phase: 'initial' } });
    expect(assessHealth(inputs({ flows: [loading], backlogTrends: [trend] }))).toEqual([]);
    const replaying = buildFlow({ replay: { link: null, rows: 10, startedAt: t0, total: null } });
    expect(assessHealth(inputs({ flows: [replaying], backlogTrends: [trend] }))).toEqual([]);
    // Small or proportionally small growth is noise.
    expect(assessHealth(inputs({ backlogTrends: [{ ...trend, from: 10, to: 60 }] }))).toEqual([]);
    expect(assessHealth(inputs({ backlogTrends: [{ ...trend, from: 5000, to: 5500 }] }))).toEqual([]);
  });

  it('names a paused flow, a breaker trip, a stalled read and a long wait', () => {
    const paused = buildFlow({
      control: { ...buildFlow().control, status: 'paused', reason: 'maintenance' },
    });
    const tripped = buildFlow({
      flow: 'orders',
      control: { ...buildFlow().control, status: 'paused', reason: 'mass change', trippedRunId: 'r1' },
    });
    const stalled = buildFlow({
      flow: 'stalled',
      cursor: { ...buildFlow().cursor, caughtUpAt: t0 - 20 * minute },
    });
    const waiting = buildFlow({
      flow: 'waiting',
      lagMs: 45 * minute,
      backlog: { queued: 7, leased: 0, live: 7, bulk: 0 },
    });
    expect(kinds(assessHealth(inputs({ flows: [paused, tripped, stalled, waiting] })))).toEqual([
      'flow-paused:contacts:warning',
      'flow-paused:orders:critical',
      'flow-failed:stalled:critical',
      'flow-failed:waiting:critical',
    ]);
  });

  it('names the target a flow writes: Dynamics for the e-mail events flow, never "Campaign writes"', () => {
    const journal = {
      read: 10,
      staged: 10,
      skipped: {},
      positionAgeMs: 1000,
      readAt: t0 - 20 * minute,
      caughtUpAt: t0 - 20 * minute,
      expiries: 0,
      eventLag: null,
      replay: null,
    };
    const events = buildFlow({
      flow: 'emailEvents',
      table: 'Campaign e-mail events journal',
      direction: 'campaign-to-dynamics',
      cursor: { ...buildFlow().cursor, phase: 'initial', caughtUpAt: null },
      lagMs: 40 * minute,
      backlog: { queued: 5000, leased: 0, live: 0, bulk: 5000 },
      retrying: {
        total: 3,
        byCode: [{ code: 'DYNAMICS_RATE_LIMITED', count: 3, oldestFailedAt: t0 - 5 * minute }],
      },
      journal,
    });
    const conditions = assessHealth(
      inputs({
        flows: [events],
        backlogTrends: [{ flow: 'emailEvents', from: 100, to: 5000, windowMs: 5 * minute }],
      }),
    );
    expect(kinds(conditions)).toEqual([
      'flow-failed:emailEvents:critical',
      'changes-retrying:emailEvents:warning',
    ]);
    // The journal has not been read for 20 minutes: that is what the flow-failed says first.
    expect(conditions[0]!.detail).toContain('has not read the Campaign e-mail events journal for 20 min');
    const lagging = assessHealth(
      inputs({ flows: [{ ...events, journal: { ...journal, readAt: t0 - 1000 } }] }),
    );
    const texts = lagging.map((c) => c.detail).join('\n');
    expect(texts).toContain('Dynamics writes are failing or too slow');
    expect(texts).toContain('(Dynamics down or throttling, a rejected value)');
    expect(texts).not.toContain('Campaign');
    // A flow to Campaign keeps its wording.
    const contacts = assessHealth(inputs({ flows: [buildFlow({ lagMs: 40 * minute })] }));
    expect(contacts.map((c) => c.detail).join('\n')).toContain('Campaign writes are failing or too slow');
  });

  it('reads the opt-out export and SFTP storage', () => {
    const conditions = assessHealth(
      inputs({
        optOut: {
          freshness: { lastFileAt: null, stalenessHours: 26, stale: true },
          usage: { usedBytes: 91, quotaBytes: 100 },
        },
      }),
    );
    expect(kinds(conditions)).toEqual([
      'opt-out-file-stale:opt-out-export:critical',
      'sftp-usage:sftp:critical',
    ]);
  });

  it('says when no sync process reports (read from outside one), and since when', () => {
    expect(assessHealth(inputs({ syncProcess: { running: true, lastSeenAt: t0 } }))).toEqual([]);
    const never = assessHealth(inputs({ syncProcess: { running: false, lastSeenAt: null } }));
    expect(kinds(never)).toEqual(['no-sync-process:sync:critical']);
    expect(never[0]!.summary).toBe('no sync process reporting');
    const gone = assessHealth(inputs({ syncProcess: { running: false, lastSeenAt: t0 - 12 * minute } }));
    expect(gone[0]!.summary).toBe('no sync process reporting for 12 min');
    expect(gone[0]!.detail).toContain('last at 2026-06-01T11:48:00.000Z');
    expect(gone[0]!.detail).toContain('dcsync run');
  });
});

describe('HealthTracker', () => {
  const failing: HealthCondition = {
    kind: 'campaign-failing',
    subject: 'campaign',
    severity: 'critical',
    summary: 'Campaign calls failing (HTTP 503)',
    detail: '…',
  };
  const deadLetters: HealthCondition = {
    kind: 'dead-letters',
    subject: 'contacts',
    severity: 'warning',
    summary: 'flow contacts: 3 dead letters',
    detail: '…',
  };

  it('lets a blip pass: a storm must hold a minute before it is a problem', () => {
    const tracker = new HealthTracker();
    expect(tracker.observe(t0, [failing])).toEqual([]);
    expect(tracker.observe(t0 + 30_000, [failing])).toEqual([]);
    expect(tracker.observe(t0 + 40_000, [])).toEqual([]);
    // It comes back: the minute starts again.
    expect(tracker.observe(t0 + 50_000, [failing])).toEqual([]);
    expect(tracker.observe(t0 + 100_000, [failing])).toEqual([]);
    expect(tracker.problems()).toEqual([]);
    const entered = tracker.observe(t0 + 110_000, [failing]);
    expect(entered).toEqual([{ type: 'entered', problem: { ...failing, since: t0 + 50_000 } }]);
    expect(tracker.problems()).toEqual([{ ...failing, since: t0 + 50_000 }]);
  });

  it('ends a storm only after two calm minutes, keeping it meanwhile', () => {
    const tracker = new HealthTracker();
    tracker.observe(t0, [failing]);
    tracker.observe(t0 + 60_000, [failing]);
    expect(tracker.observe(t0 + 90_000, [])).toEqual([]);
    expect(tracker.problems()).toHaveLength(1);
    // One more failure resets the calm.
    tracker.observe(t0 + 100_000, [failing]);
    expect(tracker.observe(t0 + 200_000, [])).toEqual([]);
    expect(tracker.observe(t0 + 220_000, [])).toEqual([
      { type: 'left', problem: { ...failing, since: t0 }, endedAt: t0 + 220_000 },
    ]);
    expect(tracker.problems()).toEqual([]);
  });

  it('starts and ends states an operator sets at once, and reports a problem getting worse', () => {
    const tracker = new HealthTracker();
    expect(tracker.observe(t0, [deadLetters])).toEqual([
      { type: 'entered', problem: { ...deadLetters, since: t0 } },
    ]);
    const worse = { ...deadLetters, severity: 'critical' as const };
    expect(tracker.observe(t0 + 1000, [worse])).toEqual([
      { type: 'escalated', problem: { ...worse, since: t0 } },
    ]);
    expect(tracker.observe(t0 + 2000, [worse])).toEqual([]);
    expect(tracker.observe(t0 + 3000, [])).toEqual([
      { type: 'left', problem: { ...worse, since: t0 }, endedAt: t0 + 3000 },
    ]);
  });

  it('orders problems critical first, then oldest first', () => {
    const tracker = new HealthTracker();
    tracker.observe(t0, [deadLetters]);
    tracker.observe(t0 + 1000, [deadLetters, { ...deadLetters, subject: 'orders', severity: 'critical' }]);
    expect(tracker.problems().map((p) => p.subject)).toEqual(['orders', 'contacts']);
  });
});

describe('HealthMonitor alerts', () => {
  it('says how long a problem lasted, in seconds when it was under a minute', async () => {
    let now = t0;
    let flow = buildFlow({ deadLetters: 2 });
    const raised: Alert[] = [];
    const monitor = new HealthMonitor({
      engine: { flowStatuses: () => Promise.resolve([flow]) },
      alerts: { raise: (alert) => Promise.resolve(void raised.push(alert)) },
      clock: { now: () => now },
      logger: silentLogger,
    });
    await monitor.checkOnce();
    now = t0 + 12_000;
    flow = buildFlow();
    await monitor.checkOnce();
    expect(raised.map((a) => `${a.kind}:${a.state ?? 'firing'}`)).toEqual([
      'dead-letters:firing',
      'dead-letters:resolved',
    ]);
    expect(raised[1]!.message).toBe('Resolved after 12 s: flow contacts: 2 dead letters.');
    // Longer ones in minutes, as before.
    flow = buildFlow({ deadLetters: 1 });
    await monitor.checkOnce();
    now += 5 * minute;
    flow = buildFlow();
    await monitor.checkOnce();
    expect(raised[3]!.message).toBe('Resolved after 5 min: flow contacts: 1 dead letter.');
  });
});
