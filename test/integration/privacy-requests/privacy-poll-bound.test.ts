/**
 * A privacy request moves on at the first poll after its Privacy Service job completed, polling at
 * least every `privacy.maxPollIntervalMs` (60 s by default) — the status poll used to double up to
 * an hour, so a job completing after ~10 min was seen minutes late — and it says when it polls
 * next. Driven by one clock: the runtime's ManualClock and the Campaign emulator's frozen clock
 * move together; the emulator's privacy timings are its defaults but a longer Campaign step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatorClock } from '../../../emulators/shared/emulator-clock.js';
import { ManualClock } from '../../../src/core/clock.js';
import { runPrivacyStatus } from '../../../src/cli/commands/privacy-command.js';
import { openPrivacyProvider, openPrivacyRuntime } from '../../../src/cli/runtime/privacy-runtime.js';
import type { SyncRuntime } from '../../../src/cli/runtime/sync-runtime.js';
import { assessHealth } from '../../../src/engine/health/health-assessment.js';
import { storeKinds, type SyncTestBed } from '../../support/sync-test-bed.js';
import { captureContext, createPerson, startPrivacyBed, syncAll } from './support/privacy-test-bed.js';

const second = 1000;
const minute = 60 * second;

describe.each(storeKinds)('privacy request poll bound (%s)', (storeKind) => {
  let bed: SyncTestBed;
  const emulatorClock = new EmulatorClock();

  beforeAll(async () => {
    emulatorClock.freeze();
    bed = await startPrivacyBed(storeKind, {
      campaign: {
        clock: emulatorClock,
        privacyServiceTiming: { toProcessingMs: 30 * second },
        privacyToolTiming: { toProcessingMs: minute, toCompleteMs: 10 * minute },
      },
      // The defaults: the first poll after 60 s, and never more than 60 s apart.
      privacy: { pollIntervalMs: undefined },
    });
  }, 60_000);

  afterAll(async () => {
    await bed?.close();
  });

  it('advances at the first poll after the job completed, with the next poll time shown', async () => {
    const person = createPerson(bed, 1);
    await syncAll(bed);
    const clock = new ManualClock(emulatorClock.now());
    const runtime: SyncRuntime = await bed.openRuntime({ clock });
    const privacy = openPrivacyRuntime(runtime);
    const provider = openPrivacyProvider(runtime)!;
    const tick = (ms: number): void => {
      clock.advance(ms);
      bed.campaign.admin.advanceClock(ms);
    };
    try {
      const request = await privacy.runner.start({
        contactKey: person.contactId,
        regulation: 'gdpr',
        requestedBy: 'test',
      });
      let jobCompletedAt: number | null = null;
      let advancedAt: number | null = null;
      const polls: number[] = [];
      for (let elapsed = 0; elapsed < 40 * minute && advancedAt === null; elapsed += second) {
        tick(second);
        await privacy.runner.runDue();
        const job = bed.campaign.admin.privacyJobs().find((j) => j.userKey.includes(request.id));
        if (job?.status === 'complete' && jobCompletedAt === null) jobCompletedAt = clock.now();
        const view = (await provider.provider.get(request.id))!;
        if (view.step === 'poll') {
          // Always says when it asks next, and never more than a minute ahead.
          expect(view.nextPollAt).not.toBeNull();
          expect(view.nextPollAt! - clock.now()).toBeLessThanOrEqual(minute);
          if (polls.at(-1) !== view.nextPollAt) polls.push(view.nextPollAt!);
        } else if (view.step !== 'hold' && view.step !== 'submit') {
          expect(view.nextPollAt).toBeNull();
          advancedAt = clock.now();
        }
      }
      expect(jobCompletedAt).not.toBeNull();
      expect(advancedAt).not.toBeNull();
      // The job completes about 10.5 min after it was submitted; the request sees it within a minute.
      expect(advancedAt! - jobCompletedAt!).toBeLessThanOrEqual(minute + second);
      expect(polls.length).toBeGreaterThanOrEqual(10);

      // Human times: the submit step's detail and the CLI's times are ISO 8601, never an epoch.
      const steps = await runtime.store.privacy.steps(request.id);
      const submit = steps.find((s) => s.step === 'submit' && s.outcome === 'succeeded');
      expect(submit?.detail).toMatch(/ at \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
      for (const step of steps) expect(step.detail ?? '').not.toMatch(/\bat \d{10,}/);
      const shown = captureContext();
      expect(await runPrivacyStatus({ config: bed.configPath }, request.id, shown)).toBe(0);
      const printed = JSON.parse(shown.stdout()) as Record<string, unknown>;
      expect(printed.nextPollAt).toBeNull();
      expect(printed.nextAttemptAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      // Every time the CLI prints is ISO 8601: no field holds a number of milliseconds.
      expect(shown.stdout()).not.toMatch(/"\w+At": \d/);
      expect(shown.stdout()).not.toMatch(/\bat \d{10,}/);
    } finally {
      await provider.close();
      await privacy.close();
    }
  }, 120_000);

  it('reports a request nobody moves on, or one in progress too long, as stuck', () => {
    const now = Date.UTC(2026, 11, 6, 12);
    const base = { now, flows: [], campaign: null, backlogTrends: [], optOut: null };
    const fresh = { id: '7', step: 'poll', createdAt: now - 10 * minute, nextAttemptAt: now + 30 * second };
    expect(assessHealth({ ...base, privacyRequests: [fresh] })).toEqual([]);
    const overdue = { ...fresh, nextAttemptAt: now - 6 * minute };
    const old = { ...fresh, createdAt: now - 25 * 60 * minute };
    const problems = assessHealth({ ...base, privacyRequests: [overdue, { ...old, id: '8' }] });
    expect(problems.map((p) => [p.kind, p.subject, p.severity])).toEqual([
      ['privacy-request-stuck', '7', 'warning'],
      ['privacy-request-stuck', '8', 'warning'],
    ]);
    expect(problems[0]!.detail).toContain('no process is moving privacy requests on');
    expect(problems[1]!.detail).toContain('in progress for');
  });
});
