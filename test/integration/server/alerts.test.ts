/**
 * Alerts: the Slack-compatible webhook sink (timeout, bounded retry, nothing secret in errors), the
 * dispatcher's de-duplication that survives restarts (store checkpoints), the periodic monitor over
 * the real engine, and the engine's own alerts (breaker, re-baseline) reaching a webhook through the
 * wiring the CLI uses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { silentLogger } from '../../../src/core/ports/engine-logger.js';
import type { Alert } from '../../../src/core/ports/alert-sink.js';
import type { StateStore } from '../../../src/core/ports/state-store.js';
import { Secret } from '../../../src/config/secret.js';
import { buildWebhookAlertRoutes } from '../../../src/cli/runtime/alert-routes.js';
import { WebhookAlertSink } from '../../../src/connectors/alerts/webhook-alert-sink.js';
import { AlertDispatcher } from '../../../src/engine/alert-dispatcher.js';
import { HealthMonitor } from '../../../src/engine/health/health-monitor.js';
import { Redactor } from '../../../src/logging/redactor.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { createSyncEngine } from '../../../src/cli/runtime/start-sync.js';
import { createOperatorAlerts } from '../../../src/cli/runtime/operator-alerts.js';
import { SyncTestBed } from '../../support/sync-test-bed.js';
import { failIntoDeadLetters } from '../../support/server-dead-letters.js';
import { InMemoryOptOutProvider, InMemoryPrivacyProvider } from '../../support/server-providers.js';
import { WebhookReceiver } from '../../support/server-webhook-receiver.js';
import { SkippingClock } from '../../support/skipping-clock.js';

function buildAlert(overrides: Partial<Alert> = {}): Alert {
  return {
    kind: 'flow-paused',
    severity: 'warning',
    subject: 'contacts',
    message: 'Flow contacts is paused.',
    at: Date.UTC(2026, 0, 1),
    ...overrides,
  };
}

let receiver: WebhookReceiver;
beforeEach(async () => {
  receiver = await new WebhookReceiver().start();
});
afterEach(async () => {
  await receiver.stop();
});

describe('webhook alert sink', () => {
  const sinks: WebhookAlertSink[] = [];
  const sink = (
    options: Partial<ConstructorParameters<typeof WebhookAlertSink>[0]> = {},
  ): WebhookAlertSink => {
    const created = new WebhookAlertSink({
      url: receiver.url,
      name: 'webhook #1',
      redactor: new Redactor(),
      retryDelayMs: 5,
      ...options,
    });
    sinks.push(created);
    return created;
  };
  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close()));
  });

  it('posts Slack-compatible JSON with text and blocks', async () => {
    await sink().raise(
      buildAlert({
        kind: 'breaker-tripped',
        severity: 'critical',
        message: 'Flow contacts paused: 40 % deletes > 20 %.',
      }),
    );
    expect(receiver.received).toHaveLength(1);
    const [hook] = receiver.received;
    expect(hook!.headers['content-type']).toBe('application/json');
    expect(hook!.body.text).toBe(
      ':rotating_light: *[CRITICAL] breaker-tripped* — contacts\nFlow contacts paused: 40 % deletes &gt; 20 %.',
    );
    expect(hook!.body.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: hook!.body.text } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: 'dcsync · kind `breaker-tripped` · firing · subject `contacts` · 2026-01-01T00:00:00.000Z',
          },
        ],
      },
    ]);
    // The same facts for machines, plain text (no Slack escaping).
    expect(hook!.body.alert).toEqual({
      version: 1,
      kind: 'breaker-tripped',
      state: 'firing',
      severity: 'critical',
      subject: 'contacts',
      message: 'Flow contacts paused: 40 % deletes > 20 %.',
      at: '2026-01-01T00:00:00.000Z',
      key: 'breaker-tripped:contacts',
    });
  });

  it('retries 5xx and 429 a bounded number of times, backing off on its clock', async () => {
    const clock = new SkippingClock(0);
    receiver.answers = [503, 429];
    receiver.retryAfterSeconds = 0;
    await sink({ clock }).raise(buildAlert());
    expect(receiver.received).toHaveLength(3);
    // 5 ms after the 503; the 429's Retry-After (0) wins over the doubled 10 ms.
    expect(clock.now()).toBe(5);
    receiver.answers = [500, 500, 500, 500];
    const error = await sink({ clock })
      .raise(buildAlert())
      .catch((e: unknown) => e as Error & { code: string });
    expect(receiver.received).toHaveLength(6);
    expect(error).toMatchObject({ code: 'ALERT_WEBHOOK_HTTP_500' });
    // Three attempts, two waits: 5 ms, then 10 ms; none after the last.
    expect(clock.now()).toBe(5 + 5 + 10);
  });

  it('does not retry other 4xx, and never names the URL (it is a secret)', async () => {
    receiver.answers = [404];
    const error = (await sink()
      .raise(buildAlert())
      .catch((e: unknown) => e)) as Error & { code: string };
    expect(receiver.received).toHaveLength(1);
    expect(error.code).toBe('ALERT_WEBHOOK_HTTP_404');
    expect(error.message).toBe('alert flow-paused for contacts not delivered to webhook #1 (HTTP_404)');
    expect(JSON.stringify(error)).not.toContain('cnry-hook-token');
  });

  it('gives up on a receiver that does not answer within the timeout', async () => {
    receiver.answers = ['hang', 'hang'];
    const error = (await sink({ timeoutMs: 150, attempts: 2 })
      .raise(buildAlert())
      .catch((e: unknown) => e)) as Error & { code: string };
    expect(receiver.received).toHaveLength(2);
    expect(error.code).toMatch(/^ALERT_WEBHOOK_(TIMEOUT|UND_ERR_HEADERS_TIMEOUT|ABORT_ERR|NETWORK)$/);
    expect(error.message).not.toContain('127.0.0.1');
  });

  it('scrubs personal data that slipped into an alert text', async () => {
    await sink().raise(buildAlert({ message: 'contact jane.doe@example.org failed' }));
    expect(receiver.texts()[0]).toContain('contact [email] failed');
  });
});

describe('alert dispatcher', () => {
  let dir: string;
  let store: StateStore;
  const clock = new ManualClock(Date.UTC(2026, 0, 1));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dcsync-alerts-'));
    store = await openStateStore(`sqlite:${join(dir, 'state.db')}`, { clock });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function dispatcherFor(
    events?: ('flow-paused' | 'optout-file-stale' | 'sftp-usage-high' | 'rebaseline')[],
  ) {
    const webhooks = buildWebhookAlertRoutes(
      {
        webhooks: [{ url: new Secret(receiver.url, 'env:ALERT_WEBHOOK_URL'), ...(events ? { events } : {}) }],
        dedupeMinutes: 60,
      },
      new Redactor(),
      { retryDelayMs: 5, attempts: 2 },
    );
    return {
      dispatcher: new AlertDispatcher({
        checkpoints: store.checkpoints,
        clock,
        logger: silentLogger,
        routes: webhooks.routes,
        dedupeMinutes: 60,
      }),
      close: webhooks.close,
    };
  }

  it('sends one kind + subject once per window, also after a restart, and again after the window', async () => {
    const first = dispatcherFor();
    await first.dispatcher.raise(buildAlert({ subject: 'dedupe-a' }));
    await first.dispatcher.raise(buildAlert({ subject: 'dedupe-a' }));
    await first.dispatcher.raise(buildAlert({ subject: 'dedupe-b' }));
    await first.dispatcher.raise(buildAlert({ subject: 'dedupe-a', kind: 'flow-failed' }));
    expect(receiver.received).toHaveLength(3);
    expect(first.dispatcher.recent().map((a) => a.delivery)).toEqual(['sent', 'suppressed', 'sent', 'sent']);
    await first.close();

    const restarted = dispatcherFor();
    clock.advance(59 * 60_000);
    await restarted.dispatcher.raise(buildAlert({ subject: 'dedupe-a' }));
    expect(receiver.received).toHaveLength(3);
    clock.advance(2 * 60_000);
    await restarted.dispatcher.raise(buildAlert({ subject: 'dedupe-a' }));
    expect(receiver.received).toHaveLength(4);
    await restarted.close();
  });

  it('sends each webhook only the events it subscribed to (config names mapped to alert kinds)', async () => {
    const { dispatcher, close } = dispatcherFor(['optout-file-stale', 'sftp-usage-high', 'rebaseline']);
    await dispatcher.raise(buildAlert({ subject: 'routing', kind: 'flow-paused' }));
    await dispatcher.raise(buildAlert({ subject: 'routing', kind: 'opt-out-file-stale' }));
    await dispatcher.raise(buildAlert({ subject: 'routing', kind: 'sftp-usage' }));
    await dispatcher.raise(buildAlert({ subject: 'routing', kind: 'delta-rebaseline' }));
    expect(receiver.texts().map((text) => text.split('*')[1])).toEqual([
      '[WARNING] opt-out-file-stale',
      '[WARNING] sftp-usage',
      '[WARNING] delta-rebaseline',
    ]);
    expect(dispatcher.recent()[0]!.delivery).toBe('logged');
    await close();
  });

  it('does not mark an alert no webhook took, so the next raise tries again; never throws', async () => {
    const { dispatcher, close } = dispatcherFor();
    receiver.answers = [500, 500];
    await expect(dispatcher.raise(buildAlert({ subject: 'failing' }))).resolves.toBeUndefined();
    await dispatcher.raise(buildAlert({ subject: 'failing' }));
    expect(receiver.received).toHaveLength(3);
    expect(dispatcher.recent().map((a) => a.delivery)).toEqual(['failed', 'sent']);
    await close();
  });
});

describe('alert monitor and engine alerts through the CLI wiring', () => {
  let bed: SyncTestBed;

  afterEach(async () => {
    await bed?.close();
  });

  it('raises flow paused, dead letters, stale opt-out file, SFTP usage and failed privacy requests once each, worse and resolved', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 3 },
      config: { alerts: { webhooks: [{ url: receiver.url }] } },
    });
    const runtime = await bed.openRuntime();
    const alerts = createOperatorAlerts(runtime);
    const engine = await createSyncEngine(runtime, { alerts: alerts.dispatcher });
    await engine.runUntilIdle({ timeoutMs: 60_000 });
    const optOut = new InMemoryOptOutProvider();
    const privacy = new InMemoryPrivacyProvider();
    const monitor = new HealthMonitor({
      engine,
      alerts: alerts.dispatcher,
      clock: runtime.clock,
      logger: silentLogger,
      optOut,
      privacy,
      settings: { staleReadMs: 60_000 },
      deadLetterGrowth: { threshold: 3, windowMs: 60_000 },
    });
    const sent = (): string[] =>
      alerts.dispatcher
        .recent()
        .filter((a) => a.delivery === 'sent')
        .map((a) => `${a.kind}:${a.subject}:${a.state ?? 'firing'}:${a.severity}`);

    await monitor.checkOnce();
    expect(sent()).toEqual([]);

    await engine.control.pause('contacts', 'paused by operator');
    await failIntoDeadLetters(runtime.store, 'contacts', ['k1', 'k2', 'k3'], {
      code: 'CAMPAIGN_REJECTED',
      message: 'refused',
    });
    optOut.freshnessView = { lastFileAt: null, stalenessHours: 26, stale: true };
    optOut.usage = { usedBytes: 81, quotaBytes: 100, files: 2, measuredAt: 0 };
    await privacy.create({ contactId: '6f1c7d1e-0000-4000-8000-000000000001', requestedBy: 'api' });
    Object.assign(privacy.requests[0]!, {
      state: 'failed',
      error: { code: 'PRIVACY_JOB_ERROR', message: 'job failed' },
    });
    await monitor.checkOnce();
    expect(sent().sort()).toEqual(
      [
        'dead-letters:contacts:firing:warning',
        'dead-letters-growing:contacts:firing:warning',
        'flow-paused:contacts:firing:warning',
        'opt-out-file-stale:opt-out-export:firing:critical',
        'sftp-usage:sftp:firing:warning',
        `privacy-request-failed:${privacy.requests[0]!.id}:firing:critical`,
      ].sort(),
    );
    expect(monitor.problems().map((p) => p.kind)).toEqual([
      'opt-out-file-stale',
      'flow-paused',
      'dead-letters',
      'sftp-usage',
    ]);

    // Unchanged conditions raise nothing more; SFTP at 95 % is worse, and is news.
    optOut.usage = { usedBytes: 95, quotaBytes: 100, files: 2, measuredAt: 0 };
    const before = sent().length;
    await monitor.checkOnce();
    expect(sent().slice(before)).toEqual(['sftp-usage:sftp:firing:critical']);

    // Resumed, dead letters discarded, a file arrived, space freed: each problem is resolved once.
    await engine.control.resume('contacts');
    const letters = await runtime.store.deadLetters.list({ flow: 'contacts' }, {});
    await runtime.store.deadLetters.discard(letters.items.map((l) => l.id));
    optOut.freshnessView = { lastFileAt: runtime.clock.now(), stalenessHours: 26, stale: false };
    optOut.usage = { usedBytes: 10, quotaBytes: 100, files: 2, measuredAt: 0 };
    const beforeResolve = sent().length;
    await monitor.checkOnce();
    await monitor.checkOnce();
    expect(sent().slice(beforeResolve).sort()).toEqual(
      [
        'dead-letters:contacts:resolved:info',
        'flow-paused:contacts:resolved:info',
        'opt-out-file-stale:opt-out-export:resolved:info',
        'sftp-usage:sftp:resolved:info',
      ].sort(),
    );
    expect(monitor.problems()).toEqual([]);
    expect(receiver.texts().some((t) => t.includes('*[RESOLVED] flow-paused* — contacts'))).toBe(true);

    // Nothing reads: the engine is stopped, so its last completed read ages.
    const failing = new HealthMonitor({
      engine,
      alerts: alerts.dispatcher,
      clock: { now: () => runtime.clock.now() + 3_600_000 },
      logger: silentLogger,
      settings: { staleReadMs: 60_000 },
    });
    await failing.checkOnce();
    expect(sent()).toContain('flow-failed:contacts:firing:critical');
    const texts = receiver.texts().join('\n');
    expect(texts).toContain('has not completed a read of table contact');
    await alerts.close();
  });

  it('delivers the engine’s breaker and re-baseline alerts to the configured webhook', async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 10, seed: 4 },
      config: {
        alerts: { webhooks: [{ url: receiver.url }] },
        engine: { breaker: { maxShare: 0.2, minRecords: 0 } },
      },
    });
    const runtime = await bed.openRuntime();
    const alerts = createOperatorAlerts(runtime);
    const run = async (): Promise<void> => {
      const engine = await createSyncEngine(runtime, { alerts: alerts.dispatcher });
      await engine.runUntilIdle({ timeoutMs: 60_000 });
    };
    await run();
    bed.dynamics.admin.expireDeltaTokens();
    bed.dynamics.admin.updateContact(bed.dynamics.admin.listIds('contact')[0]!, { lastname: 'After' });
    await run();
    for (const id of bed.dynamics.admin.listIds('contact').slice(0, 5)) bed.dynamics.admin.deleteContact(id);
    await run();
    const kinds = alerts.dispatcher.recent().map((a) => `${a.kind}:${a.delivery}`);
    expect(kinds).toContain('delta-rebaseline:sent');
    expect(kinds).toContain('breaker-tripped:sent');
    expect(receiver.texts().some((text) => text.includes('*[CRITICAL] breaker-tripped* — contacts'))).toBe(
      true,
    );
    await alerts.close();
  });
});
