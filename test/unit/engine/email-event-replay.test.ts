/**
 * Flow F6's journal replay, on a small fake journal (a port of our own) and an in-memory store:
 * the rewind, the `since` filter that holds only until the read passes the position the replay
 * began at, the counts kept apart from the journal's own, the request dropped once done, and a date
 * outside the retention refused.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import type { SyncError } from '../../../src/core/errors.js';
import type {
  EmailEvent,
  EmailEventCursor,
  EmailEventPage,
  EmailEventSource,
} from '../../../src/core/ports/email-event-source.js';
import { silentLogger } from '../../../src/core/ports/engine-logger.js';
import type { StateStore } from '../../../src/core/ports/state-store.js';
import { readCheckpoint } from '../../../src/engine/checkpoints.js';
import { DutyRoster } from '../../../src/engine/duty.js';
import {
  EmailEventPoller,
  emailJournalCheckpoint,
  emailReplayRequestCheckpoint,
  inboxHoldMaxAgeMs,
  type EmailEventPollerOptions,
} from '../../../src/engine/email-events/email-event-poller.js';
import { EngineEvents, type ReadProgress } from '../../../src/engine/engine-events.js';
import { openStateStore } from '../../../src/store/open-state-store.js';

const hour = 3_600_000;
const t0 = Date.UTC(2026, 5, 10, 12);

/** A journal in memory: positions are the entries' indexes, pages of `limit`. */
class FakeJournal implements EmailEventSource {
  readonly name = 'journal fake';
  readonly events: EmailEvent[] = [];

  add(at: number, type: EmailEvent['type'] = 'open'): void {
    const n = this.events.length;
    this.events.push({
      eventId: `ev-${n}`,
      position: String(n),
      type,
      bounceKind: null,
      occurredAt: new Date(at).toISOString(),
      profile: { pkey: `p-${n}`, email: null, externalId: null },
      campaign: { id: 'OP1', label: '' },
      delivery: { id: 'DM1', label: '' },
      trackingUrl: null,
      mirrorPageUrl: null,
    });
  }

  readPage(cursor: EmailEventCursor, options: { limit?: number } = {}): Promise<EmailEventPage> {
    const from =
      'position' in cursor ? Number(cursor.position) + 1 : cursor.start === 'oldest' ? 0 : this.events.length;
    const page = this.events.slice(from, from + (options.limit ?? 3));
    const last = page.at(-1)?.position;
    return Promise.resolve(
      last === undefined
        ? { kind: 'empty', position: from > 0 ? String(from - 1) : null, retryAfterMs: 1000 }
        : { kind: 'events', events: page, unreadable: [], position: last },
    );
  }
}

let store: StateStore;
let clock: ManualClock;
let journal: FakeJournal;
let poller: EmailEventPoller;
let reads: ReadProgress[];
let duty: EmailEventPollerOptions['duty'];

beforeEach(async () => {
  clock = new ManualClock(t0);
  store = await openStateStore('sqlite::memory:', { clock });
  journal = new FakeJournal();
  const events = new EngineEvents();
  reads = [];
  for (const kind of ['read.started', 'read.progressed', 'read.ended'] as const)
    events.on(kind, (p) => reads.push(p));
  const duties = new DutyRoster({ store, clock, logger: silentLogger, owner: 'w1', timing: { ttlMs: 9000 } });
  duty = duties.duty('poller:emailEvents');
  expect(await duty.tryNow()).toBe(true);
  poller = newPoller(events);
});

/** The poller under test over the fake journal (3 events a page), with `more` options. */
function newPoller(events: EngineEvents, more: Partial<EmailEventPollerOptions> = {}): EmailEventPoller {
  return new EmailEventPoller({
    source: journal,
    settings: { types: { send: false, open: true, click: true, bounce: true } },
    store,
    clock,
    logger: silentLogger,
    alerts: { raise: () => Promise.resolve() },
    events,
    duty,
    start: 'oldest',
    pollIntervalMs: 1000,
    limit: 3,
    ...more,
  });
}

afterEach(async () => {
  await store.close();
});

async function readToEnd(): Promise<void> {
  for (let i = 0; i < 50; i++) if (!(await poller.pollOnce()).more) return;
  throw new Error('the journal never caught up');
}

const state = () => readCheckpoint(store.checkpoints, emailJournalCheckpoint, 'emailEvents', clock.now());
const queued = async (): Promise<number> => (await store.queue.backlog()).reduce((n, b) => n + b.queued, 0);

describe('e-mail event journal replay', () => {
  it('reads again from the oldest event, stages only events from --since until it passes where it began, then reads on as usual', async () => {
    // Four events two hours ago, four one hour ago (one of them a send: not staged).
    for (let i = 0; i < 4; i++) journal.add(t0 - 2 * hour);
    for (let i = 0; i < 3; i++) journal.add(t0 - hour);
    journal.add(t0 - hour, 'send');
    await readToEnd();
    expect((await state()).counts).toMatchObject({ read: 8, staged: 7 });
    expect(await queued()).toBe(7);

    // The inbox drained (the activities were written); then a replay from 90 minutes ago.
    for (const item of await store.queue.lease({ owner: 'w1', limit: 100, leaseMs: 60_000 }))
      await store.queue.complete(item.id, 'w1');
    clock.advance(1000);
    expect(await poller.requestReplay(t0 - 1.5 * hour)).toEqual({ since: t0 - 1.5 * hour, resumed: false });
    // Asking again continues the same replay.
    expect(await poller.requestReplay(null)).toEqual({ since: t0 - 1.5 * hour, resumed: true });
    // An event arrives meanwhile, also older than --since (late delivery): after the replay's end
    // position, so it is staged like any new event.
    journal.add(t0 - 3 * hour);
    await readToEnd();

    // Re-staged: the three opens of the last hour; not the older four, not the send; plus the new one.
    expect(await queued()).toBe(4);
    const after = await state();
    expect(after.replay).toBeNull();
    expect(after.counts).toMatchObject({ read: 9, staged: 8 });
    expect(after.lastReplayStartedAt).toBe(t0 + 1000);
    expect(await store.checkpoints.get(emailReplayRequestCheckpoint.name('emailEvents'))).toBeNull();
    const ended = reads.filter((r) => r.done);
    expect(ended).toEqual([
      { flow: 'emailEvents', kind: 'replay', rows: 8, total: 8, startedAt: t0 + 1000, done: true },
    ]);
    expect(reads[0]).toMatchObject({ kind: 'replay', done: false });
  });

  it('a request left behind by a crash after the replay ended is dropped, not begun again', async () => {
    journal.add(t0 - hour);
    await readToEnd();
    await poller.requestReplay(null);
    const request = await store.checkpoints.get(emailReplayRequestCheckpoint.name('emailEvents'));
    await readToEnd();
    // The crash: the request was not deleted after the commit that ended the replay.
    await store.checkpoints.set(emailReplayRequestCheckpoint.name('emailEvents'), request!);
    const before = await state();
    await readToEnd();
    expect(await store.checkpoints.get(emailReplayRequestCheckpoint.name('emailEvents'))).toBeNull();
    expect((await state()).position).toBe(before.position);
    expect((await state()).replay).toBeNull();
  });

  it('refuses a date older than the 7-day retention, or in the future, naming the earliest', async () => {
    const refused = async (since: number): Promise<SyncError> => {
      try {
        await poller.requestReplay(since);
      } catch (error) {
        return error as SyncError;
      }
      throw new Error('accepted');
    };
    const old = await refused(t0 - 7 * 24 * hour - 1);
    expect(old.code).toBe('REPLAY_SINCE_INVALID');
    expect(old.message).toContain(
      `outside the journal's retention: journal fake keeps events 7 days, so a replay can start from ${new Date(t0 - 7 * 24 * hour).toISOString()} at the earliest`,
    );
    expect((await refused(t0 + 1)).message).toContain('is in the future');
    expect(await store.checkpoints.get(emailReplayRequestCheckpoint.name('emailEvents'))).toBeNull();
  });
});

describe('e-mail event journal reading with a full inbox', () => {
  function pollerWithInbox(inboxLimit: number): EmailEventPoller {
    return newPoller(new EngineEvents(), { inboxLimit });
  }

  it('leaves events in the journal while the inbox holds the limit, and reads on once the workers took some', async () => {
    for (let i = 0; i < 10; i++) journal.add(t0 - hour);
    const reader = pollerWithInbox(5);
    expect(await reader.pollOnce()).toEqual({ more: true, waitMs: 0 });
    expect(await reader.pollOnce()).toEqual({ more: true, waitMs: 0 });
    // 6 queued ≥ 5: the journal keeps the rest, and the reader is not caught up.
    const held = await reader.pollOnce();
    expect(held.more).toBe(false);
    expect(await queued()).toBe(6);
    expect((await state()).counts.read).toBe(6);
    expect(await reader.isIdle()).toBe(false);
    // Leased items are being written: they no longer count.
    await store.queue.lease({ owner: 'w1', limit: 2, leaseMs: 60_000 });
    expect((await reader.pollOnce()).more).toBe(true);
    expect((await state()).counts.read).toBe(9);
  });

  it('stages regardless once the events read are more than a day old (they near the 7-day retention)', async () => {
    for (let i = 0; i < 10; i++) journal.add(t0 - inboxHoldMaxAgeMs - hour);
    const reader = pollerWithInbox(2);
    for (let i = 0; i < 20; i++) if (!(await reader.pollOnce()).more) break;
    expect(await queued()).toBe(10);
    expect((await state()).counts.read).toBe(10);
  });
});
