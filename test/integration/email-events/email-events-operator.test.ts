/**
 * Flow F6's operator surface through both emulators and the production composition: `dcsync plan`
 * counts what the journal would write, the running service shows the journal in `/api/status` and
 * on `/metrics` (counts, event-time lag, position age), and `dcsync replay --flow emailEvents
 * --since DATE` reads the journal again from a date within retention — a run in the run history —
 * without writing any activity twice; a date outside retention is a usage error.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPlan } from '../../../src/cli/commands/plan-command.js';
import { runReplay } from '../../../src/cli/commands/replay-command.js';
import { exitCodes } from '../../../src/cli/exit-codes.js';
import { formatIso } from '../../../src/core/clock.js';
import { createSyncService } from '../../../src/cli/runtime/start-service.js';
import { readCheckpoint } from '../../../src/engine/checkpoints.js';
import type { EmailEventPlan } from '../../../src/engine/email-events/email-event-planner.js';
import { emailJournalCheckpoint } from '../../../src/engine/email-events/email-event-poller.js';
import type { StatusSnapshot } from '../../../src/server/status/status-reader.js';
import { activityCounts, activityTablesSeed } from '../../support/email-event-fixtures.js';
import { SyncTestBed, testEnv } from '../../support/sync-test-bed.js';
import { captureContext } from '../privacy-requests/support/privacy-test-bed.js';

let bed: SyncTestBed;
let synced: string[];
let foreign: string[];
/** Emulator time right before the second delivery: the replay starts there. */
let secondDeliveryAt: number;

beforeAll(async () => {
  bed = await SyncTestBed.start({
    dynamics: { seedData: activityTablesSeed() },
    configFor: ({ campaign }) => ({
      flows: {
        emailEvents: {
          enabled: true,
          journal: { url: campaign.journalUrl, imsOrgId: campaign.imsOrgId, limit: 7 },
          pollIntervalMs: 200,
        },
      },
    }),
  });
  for (let i = 0; i < 4; i++)
    bed.dynamics.admin.createContact({
      firstname: `F${i}`,
      lastname: `L${i}`,
      emailaddress1: `p${i}@example.com`,
    });
  const { engine } = await bed.engine();
  await engine.runUntilIdle({ timeoutMs: 60_000 });
  synced = [...bed.profilesByExternalId().values()].map((p) => String(p.PKey));
  expect(synced).toHaveLength(4);
  foreign = bed.campaign.admin.seedProfiles({ records: [{ email: 'not-ours@example.com' }] });
}, 120_000);

afterAll(async () => {
  await bed?.close();
});

const delivery = { bounceRate: 0, openRate: 1, clickRate: 1 };

describe('flow F6: plan, status, metrics and replay', () => {
  it('dcsync plan counts the events past the journal position: would write per type, skipped by reason; it stores nothing', async () => {
    bed.campaign.admin.sendDelivery({ profiles: [...synced, ...foreign], ...delivery });
    const runtime = await bed.openRuntime();
    const before = await readCheckpoint(runtime.store.checkpoints, emailJournalCheckpoint, 'emailEvents', 0);
    await runtime.close();
    const out = captureContext();
    expect(await runPlan({ config: bed.configPath, samples: 5, json: true }, out)).toBe(exitCodes.ok);
    const plans = JSON.parse(out.stdout()) as ({ flow: string } & Partial<EmailEventPlan>)[];
    const plan = plans.find((p) => p.flow === 'emailEvents')!;
    // 5 profiles × (send, open, click); send is off; the foreign profile's open and click are skipped.
    expect(plan).toMatchObject({
      events: 15,
      wouldWrite: { send: 0, open: 4, click: 4, bounce: 0 },
      skipped: { 'type-send-disabled': 5, foreign: 2 },
      held: 0,
      expired: false,
      truncated: false,
    });
    const text = captureContext();
    expect(await runPlan({ config: bed.configPath, samples: 5 }, text)).toBe(exitCodes.ok);
    expect(text.stdout()).toContain('flow emailEvents: 15 events in journal ');
    expect(text.stdout()).toContain(
      '  would write 8 activities (send 0, open 4, click 4, bounce 0)\n  would skip type-send-disabled 5, foreign 2\n',
    );
    // Nothing was stored: the position is where it was, nothing landed.
    const after = await bed.openRuntime();
    expect(await readCheckpoint(after.store.checkpoints, emailJournalCheckpoint, 'emailEvents', 0)).toEqual(
      before,
    );
    await after.close();
    expect(activityCounts(bed.dynamics.admin).total).toBe(0);
  }, 120_000);

  it('the running service shows the journal in /api/status and on /metrics: counts, event-time lag, position age', async () => {
    const runtime = await bed.openRuntime();
    const service = await createSyncService(runtime, { listen: { host: '127.0.0.1', port: 0 } });
    const get = async (path: string): Promise<string> => {
      const response = await request(`${service.url}${path}`, {
        headers: { authorization: `Bearer ${testEnv.DCSYNC_ADMIN_TOKEN!}` },
      });
      return response.body.text();
    };
    try {
      await service.start();
      await expect
        .poll(() => activityCounts(bed.dynamics.admin).total, { timeout: 30_000, interval: 100 })
        .toBe(8);
      let flow: StatusSnapshot['flows'][number] | undefined;
      await expect
        .poll(
          async () => {
            const status = JSON.parse(await get('/api/status')) as StatusSnapshot;
            flow = status.flows.find((f) => f.id === 'emailEvents');
            return flow?.processed?.created ?? 0;
          },
          { timeout: 30_000, interval: 200 },
        )
        .toBe(8);
      expect(flow!.journal).toMatchObject({
        read: 15,
        staged: 10,
        skipped: { 'type-send-disabled': 5 },
        expiries: 0,
        replay: null,
      });
      expect(flow!.journal!.eventLag).toMatchObject({ windowMs: 60_000 });
      expect(flow!.journal!.eventLag!.p99Ms).toBeGreaterThanOrEqual(flow!.journal!.eventLag!.p50Ms);
      expect(flow!.processed!['skipped-foreign']).toBe(2);
      const metrics = await get('/metrics');
      expect(metrics).toMatch(/^dcsync_journal_events_read_total\{flow="emailEvents"\} 15$/m);
      expect(metrics).toMatch(/^dcsync_journal_events_staged_total\{flow="emailEvents"\} 10$/m);
      expect(metrics).toMatch(/^dcsync_journal_events_written_total\{flow="emailEvents"\} 8$/m);
      expect(metrics).toMatch(
        /^dcsync_journal_events_skipped_total\{flow="emailEvents",reason="type-send-disabled"\} 5$/m,
      );
      expect(metrics).toMatch(
        /^dcsync_journal_events_skipped_total\{flow="emailEvents",reason="foreign"\} 2$/m,
      );
      expect(metrics).toMatch(/^dcsync_journal_expiries_total\{flow="emailEvents"\} 0$/m);
      expect(metrics).toMatch(/^dcsync_journal_position_age_seconds\{flow="emailEvents"\} [\d.e-]+$/m);
      expect(metrics).toMatch(/^dcsync_journal_event_lag_seconds_count\{flow="emailEvents"\} 8$/m);
      // A scrape again adds nothing: the durable counts are mirrored, not added twice.
      expect(await get('/metrics')).toMatch(/^dcsync_journal_events_read_total\{flow="emailEvents"\} 15$/m);
    } finally {
      await service.stop();
      await runtime.close();
    }
  }, 120_000);

  it('dcsync replay --flow emailEvents --since outside the 7-day retention is a usage error naming the earliest date', async () => {
    const out = captureContext();
    const eightDaysAgo = bed.campaign.admin.clock.now() - 8 * 86_400_000;
    const code = await runReplay({ config: bed.configPath, flow: 'emailEvents', since: eightDaysAgo }, out);
    expect(code).toBe(exitCodes.usage);
    expect(out.stderr()).toMatch(
      /--since: \S+ is outside the journal's retention: journal \S+ keeps events 7 days, so a replay can start from \S+ at the earliest/,
    );
    const runtime = await bed.openRuntime();
    expect((await runtime.store.runs.list({ flow: 'emailEvents' }, {})).items).toEqual([]);
    await runtime.close();
  }, 120_000);

  it('dcsync replay --flow emailEvents --since DATE reads again from that date, writes no activity twice, and is a run', async () => {
    secondDeliveryAt = bed.campaign.admin.clock.now();
    bed.campaign.admin.sendDelivery({ profiles: [...synced, ...foreign], ...delivery });
    const { engine } = await bed.engine();
    await engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(activityCounts(bed.dynamics.admin)).toMatchObject({ total: 16, distinctEventIds: 16 });

    const out = captureContext();
    const code = await runReplay(
      { config: bed.configPath, flow: 'emailEvents', since: secondDeliveryAt },
      out,
    );
    expect(code).toBe(exitCodes.ok);
    expect(out.stderr()).toContain(`replay of emailEvents from ${formatIso(secondDeliveryAt)} requested`);
    // Every activity once: the replayed events were refused as duplicates.
    expect(activityCounts(bed.dynamics.admin)).toMatchObject({ total: 16, distinctEventIds: 16 });
    const summary = JSON.parse(out.stdout()) as {
      created: number;
      unchanged: number;
      'dead-lettered': number;
    };
    expect(summary).toMatchObject({ created: 0, unchanged: 8, 'dead-lettered': 0 });

    const runtime = await bed.openRuntime();
    const runs = (await runtime.store.runs.list({ flow: 'emailEvents' }, {})).items;
    expect(runs).toEqual([
      expect.objectContaining({ kind: 'replay', trigger: 'operator', outcome: 'succeeded', phase: 'ended' }),
    ]);
    expect(runs[0]!.counts).toMatchObject({
      read: 30,
      created: 0,
      unchanged: 8,
      skipped: { 'skipped-foreign': 2 },
      deadLettered: 0,
    });
    const state = await readCheckpoint(runtime.store.checkpoints, emailJournalCheckpoint, 'emailEvents', 0);
    // Both deliveries were read again; the first is older than --since and was not staged.
    expect(state.replay).toBeNull();
    expect(state.lastReplayStartedAt).not.toBeNull();
    expect(state.counts).toMatchObject({ read: 30, staged: 20 });
    expect(await runtime.store.checkpoints.get('flow:emailEvents:replay')).toBeNull();
    await runtime.close();
  }, 120_000);
});
