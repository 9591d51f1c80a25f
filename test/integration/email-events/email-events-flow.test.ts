/**
 * Flow F6 end to end through both emulators and the production clients, built by the production
 * composition root: contacts are synced to Campaign by the contact flow, Campaign "sends" deliveries
 * (e-mail events in its I/O Events journal), and the engine writes one completed activity per event
 * of an enabled type on the right contact's timeline. Disabled types, soft bounces, foreign
 * profiles and tombstoned contacts never land; re-reading the whole journal writes nothing twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStatus } from '../../../src/cli/commands/status-command.js';
import { createSyncEngine } from '../../../src/cli/runtime/start-sync.js';
import type { Alert } from '../../../src/core/ports/alert-sink.js';
import { readCheckpoint } from '../../../src/engine/checkpoints.js';
import { activityIdOf } from '../../../src/engine/email-events/email-event-applier.js';
import { emailJournalCheckpoint } from '../../../src/engine/email-events/email-event-poller.js';
import { activityTablesSeed, emailEventTypes } from '../../support/email-event-fixtures.js';
import { captureContext } from '../privacy-requests/support/privacy-test-bed.js';
import { SyncTestBed } from '../../support/sync-test-bed.js';

const types = emailEventTypes;

let bed: SyncTestBed;
/** contactid → Campaign PKey of the synced contacts. */
const synced = new Map<string, string>();
let tombstoned: string;

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
  for (let i = 0; i < 6; i++) {
    bed.dynamics.admin.createContact({
      firstname: `First${i}`,
      lastname: `Last${i}`,
      emailaddress1: `person${i}@example.com`,
    });
  }
  const { engine } = await bed.engine();
  await engine.runUntilIdle({ timeoutMs: 60_000 });
  for (const [contactId, profile] of bed.profilesByExternalId()) synced.set(contactId, String(profile.PKey));
  expect(synced.size).toBe(6);
  tombstoned = [...synced.keys()][5]!;
}, 120_000);

afterAll(async () => {
  await bed?.close();
});

function rowsOf(type: (typeof types)[number]): Record<string, unknown>[] {
  return bed.dynamics.admin.listRows(`adobe_email${type}`);
}

function regardingCounts(type: (typeof types)[number]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of rowsOf(type)) {
    const contact = String(row.regardingobjectid);
    counts.set(contact, (counts.get(contact) ?? 0) + 1);
  }
  return counts;
}

describe('flow F6: e-mail events on the contact timeline', () => {
  it('writes each enabled event once on its contact; send off, soft bounces, foreign profiles and tombstoned contacts never land', async () => {
    const live = [...synced.keys()].filter((id) => id !== tombstoned);
    const foreign = bed.campaign.admin.seedProfiles({
      records: [{ email: 'foreign-1@example.com' }, { email: 'foreign-2@example.com' }],
    });
    const all = [...synced.values(), ...foreign];
    const news = bed.campaign.admin.sendDelivery({
      profiles: all,
      bounceRate: 0,
      openRate: 1,
      clickRate: 1,
      campaign: { id: 'OP42', label: 'Spring sale' },
      delivery: { id: 'DM7', label: 'Newsletter March' },
    });
    expect(news.counts).toEqual({ send: 8, open: 8, click: 8, bounce: 0 });
    const hard = bed.campaign.admin.sendDelivery({
      profiles: all,
      bounceRate: 1,
      hardBounceShare: 1,
      campaign: { id: 'OP43', label: 'Reminder' },
      delivery: { id: 'DM8', label: '' },
    });
    expect(hard.counts.bounce).toBe(8);
    const soft = bed.campaign.admin.sendDelivery({ profiles: all, bounceRate: 1, hardBounceShare: 0 });
    expect(soft.counts.bounce).toBe(8);

    const { runtime, engine } = await bed.engine();
    await runtime.store.privacy.tombstone([tombstoned]);
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });

    expect(rowsOf('send')).toHaveLength(0);
    for (const type of ['open', 'click', 'bounce'] as const) {
      const counts = regardingCounts(type);
      expect([...counts.keys()].sort(), type).toEqual([...live].sort());
      expect(
        [...counts.values()].every((n) => n === 1),
        type,
      ).toBe(true);
    }
    const processed = engine.stats.byFlow().emailEvents!;
    // 5 live contacts × (open, click, hard bounce); foreign: 2 × 3; tombstoned: 1 × 3.
    expect(processed.created).toBe(15);
    expect(processed['skipped-foreign']).toBe(6);
    expect(processed.tombstoned).toBe(3);
    expect(summary['dead-lettered']).toBe(0);

    const state = await readCheckpoint(runtime.store.checkpoints, emailJournalCheckpoint, 'emailEvents', 0);
    // First delivery: send, open, click per profile; then a hard and a soft bounce each (no send).
    expect(state.counts.read).toBe(8 * 3 + 8 + 8);
    expect(state.counts.staged).toBe(24);
    expect(state.counts.skipped).toEqual({ 'type-send-disabled': 8, 'soft-bounce': 8 });
    expect(state.caughtUpAt).not.toBeNull();

    // The flow in status (`/api/status` reads engine.flowStatuses(); `dcsync status` the store).
    const before = runtime.clock.now();
    const status = (await engine.flowStatuses()).find((f) => f.flow === 'emailEvents')!;
    const after = runtime.clock.now();
    expect(status.table).toBe('Campaign e-mail events journal');
    expect(status.journal).toMatchObject({
      read: 40,
      staged: 24,
      skipped: { 'type-send-disabled': 8, 'soft-bounce': 8 },
      caughtUpAt: state.caughtUpAt,
      expiries: 0,
    });
    // The age of the newest staged event's time, as of the read.
    expect(status.journal!.positionAgeMs).toBeGreaterThanOrEqual(before - state.newestEventAt!);
    expect(status.journal!.positionAgeMs).toBeLessThanOrEqual(after - state.newestEventAt!);
    expect((await engine.flowStatuses()).find((f) => f.flow === 'contacts')!.journal).toBeUndefined();
    const out = captureContext();
    expect(await runStatus({ config: bed.configPath }, out)).toBe(0);
    expect(out.stdout()).toContain('flow emailEvents (table Campaign e-mail events journal)');
    expect(out.stdout()).toMatch(
      /\n {2}journal: 40 events read, 24 staged, skipped type-send-disabled 8, soft-bounce 8; position age [\d.]+[sm]; last read \d+[smh] ago, last caught up \d+[smh] ago\n/,
    );

    // The fields of one click: subject from campaign and delivery, party, time, URLs, completed.
    const click = rowsOf('click').find((r) => r.regardingobjectid === live[0])!;
    expect(click).toMatchObject({
      subject: 'E-mail link clicked: Spring sale (OP42) / Newsletter March (DM7)',
      adobe_campaignname: 'Spring sale',
      adobe_deliveryname: 'Newsletter March',
      statecode: 1,
      statuscode: 2,
      activitytypecode: 'adobe_emailclick',
    });
    expect(click.activityid).toBe(activityIdOf(String(click.adobe_eventid)));
    expect(String(click.adobe_trackingurl)).toMatch(/^https?:\/\//);
    expect(String(click.adobe_mirrorpageurl)).toMatch(/^https?:\/\//);
    expect(Number.isNaN(Date.parse(String(click.actualend)))).toBe(false);
    const parties = bed.dynamics.admin
      .listRows('activityparty')
      .filter((p) => p.activityid === click.activityid);
    expect(parties).toEqual([expect.objectContaining({ partyid: live[0], participationtypemask: 11 })]);
    const open = rowsOf('open').find((r) => r.regardingobjectid === live[0])!;
    expect(open.adobe_trackingurl ?? null).toBeNull();
    const bounce = rowsOf('bounce').find((r) => r.regardingobjectid === live[0])!;
    expect(bounce.subject).toBe('E-mail bounced: Reminder (OP43) / DM8');
    expect(bounce.adobe_deliveryname).toBe('DM8');
  }, 120_000);

  it('re-reading the whole journal (lost position, new process) writes nothing twice', async () => {
    const before = Object.fromEntries(types.map((t) => [t, rowsOf(t).length]));
    const { runtime, engine } = await bed.engine();
    await runtime.store.checkpoints.delete(emailJournalCheckpoint.name('emailEvents'));
    await engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(Object.fromEntries(types.map((t) => [t, rowsOf(t).length]))).toEqual(before);
    const processed = engine.stats.byFlow().emailEvents!;
    expect(processed.created).toBe(0);
    expect(processed.unchanged).toBe(15);
    expect(processed['dead-lettered']).toBe(0);
  }, 120_000);

  it('a contact deleted in Dynamics is skipped as absent, not dead-lettered', async () => {
    const gone = [...synced.keys()][4]!;
    bed.dynamics.admin.deleteContact(gone);
    bed.campaign.admin.sendDelivery({
      profiles: [synced.get(gone)!],
      bounceRate: 0,
      openRate: 1,
      clickRate: 0,
    });
    const { engine } = await bed.engine();
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });
    const processed = engine.stats.byFlow().emailEvents!;
    expect(processed.absent).toBe(1);
    expect(summary['dead-lettered']).toBe(0);
    expect(rowsOf('open').filter((r) => r.regardingobjectid === gone)).toHaveLength(0);
  }, 120_000);

  it('an expired journal position raises a critical alert saying events were lost, then reading goes on from the oldest retained event', async () => {
    bed.campaign.admin.clearJournal();
    const live = [...synced.keys()][0]!;
    bed.campaign.admin.sendDelivery({
      profiles: [synced.get(live)!],
      bounceRate: 0,
      openRate: 1,
      clickRate: 0,
    });
    const opensBefore = regardingCounts('open').get(live) ?? 0;
    const alerts: Alert[] = [];
    const runtime = await bed.openRuntime();
    const engine = await createSyncEngine(runtime, {
      alerts: { raise: (alert) => Promise.resolve(void alerts.push(alert)) },
    });
    const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });
    const lost = alerts.filter((a) => a.subject === 'emailEvents');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ kind: 'flow-failed', severity: 'critical' });
    expect(lost[0]!.message).toMatch(/expired.*never read and will not reach Dynamics/s);
    const state = await readCheckpoint(runtime.store.checkpoints, emailJournalCheckpoint, 'emailEvents', 0);
    expect(state.counts.expiries).toBe(1);
    expect(state.lastExpiry).toMatchObject({ lostEvents: null });
    // The event appended after the clearing is read from the oldest retained one and lands.
    expect(regardingCounts('open').get(live)).toBe(opensBefore + 1);
    expect(summary['dead-lettered']).toBe(0);
  }, 120_000);
});
