/**
 * Honest health under a Campaign 503 storm, through the real engine, emulators and operator app:
 * the status and the alerts say that Campaign fails, that the call rate was cut and that changes
 * keep failing — once the storm has held for a minute (hysteresis) — and say "resolved" once it has
 * been calm for two. The monitor's clock is the runtime's, moved on by the test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/ports/engine-logger.js';
import type { SyncRuntime } from '../../../src/cli/runtime/sync-runtime.js';
import { createSyncEngine } from '../../../src/cli/runtime/start-sync.js';
import type { SyncEngine } from '../../../src/engine/sync-engine.js';
import {
  HealthMonitor,
  healthCheckpoint,
  parseHealthRecord,
} from '../../../src/engine/health/health-monitor.js';
import { buildHttpApp, type OperatorApp } from '../../../src/server/http-server.js';
import { createOperatorAlerts } from '../../../src/cli/runtime/operator-alerts.js';
import { createServerDependencies } from '../../../src/server/operator-server.js';
import { SyncTestBed } from '../../support/sync-test-bed.js';
import { adminToken } from '../../support/server-test-bed.js';
import { WebhookReceiver } from '../../support/server-webhook-receiver.js';

let bed: SyncTestBed;
let receiver: WebhookReceiver;
let runtime: SyncRuntime;
let engine: SyncEngine;
let alerts: ReturnType<typeof createOperatorAlerts>;
let app: OperatorApp;
let offsetMs = 0;
let monitor: HealthMonitor;

beforeAll(async () => {
  receiver = await new WebhookReceiver().start();
  bed = await SyncTestBed.start({
    dynamics: { contacts: 300, seed: 11 },
    config: {
      alerts: { webhooks: [{ url: receiver.url }] },
      campaign: { budget: { callsPerSecond: 800, callsPerDay: 100_000_000 } },
      // Failed writes come back soon and often: the storm keeps them retrying, never dead.
      engine: { retry: { initialDelayMs: 50, maxDelayMs: 500, maxAttempts: 1000, jitter: 'none' } },
    },
  });
  runtime = await bed.openRuntime();
  alerts = createOperatorAlerts(runtime);
  engine = await createSyncEngine(runtime, { alerts: alerts.dispatcher });
  monitor = new HealthMonitor({
    engine,
    alerts: alerts.dispatcher,
    clock: { now: () => runtime.clock.now() + offsetMs },
    logger: silentLogger,
    checkpoints: runtime.store.checkpoints,
    campaign: () => runtime.campaign.budget.usage(),
    settings: { retryingAfterMs: 0 },
  });
  const deps = {
    ...createServerDependencies({
      runtime,
      engine,
      alerts: alerts.dispatcher,
      options: { statusCacheMs: 0 },
    }),
    health: monitor,
  };
  app = await buildHttpApp(deps);
});

afterAll(async () => {
  await engine?.stop();
  await app?.close();
  await alerts?.close();
  await bed?.close();
  await receiver?.stop();
});

interface StatusBody {
  overall: {
    healthy: boolean;
    problems: string[];
    details: { kind: string; severity: string; since: number; detail: string }[];
  };
}

async function status(): Promise<StatusBody> {
  const response = await app.inject({
    method: 'GET',
    url: '/api/status',
    headers: { authorization: `Bearer ${adminToken}` },
  });
  return JSON.parse(response.body) as StatusBody;
}

const sent = (): string[] =>
  alerts.dispatcher
    .recent()
    .filter((a) => a.delivery === 'sent')
    .map((a) => `${a.kind}:${a.state ?? 'firing'}`);

describe('a Campaign 503 storm', () => {
  it('is a problem once it held a minute, with alerts, and is resolved after two calm minutes', async () => {
    bed.campaign.admin.setFaults({ errorRate: 0.3, errorStatus: 503, pathPattern: 'profileAndServices' });
    await engine.start();
    await expect
      .poll(async () => (await runtime.store.queue.retrying()).reduce((n, r) => n + r.count, 0), {
        timeout: 30_000,
        interval: 100,
      })
      .toBeGreaterThan(0);
    await expect.poll(() => runtime.campaign.budget.usage().rateCuts, { timeout: 30_000 }).toBeGreaterThan(1);

    // The first look: the storm has not held a minute yet, changes already fail (retryingAfterMs 0).
    await monitor.checkOnce();
    let body = await status();
    expect(body.overall.details.map((d) => d.kind)).not.toContain('campaign-failing');

    // A minute on, still failing: Campaign failing and the rate cut are problems now.
    offsetMs = 61_000;
    await monitor.checkOnce();
    body = await status();
    expect(body.overall.healthy).toBe(false);
    expect(body.overall.problems).toContain('Campaign calls failing (HTTP 503)');
    expect(body.overall.details.map((d) => d.kind)).toEqual(
      expect.arrayContaining(['campaign-failing', 'campaign-rate-cut']),
    );
    expect(sent()).toEqual(expect.arrayContaining(['campaign-failing:firing', 'campaign-rate-cut:firing']));
    expect(receiver.texts().some((t) => t.includes('*[CRITICAL] campaign-failing* — campaign'))).toBe(true);
    const metrics = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(metrics.body).toContain(
      'dcsync_problems{kind="campaign-failing",subject="campaign",severity="critical"} 1',
    );
    // Other processes (dcsync status) read the same problems from the store.
    const record = parseHealthRecord(await runtime.store.checkpoints.get(healthCheckpoint));
    expect(record?.problems.map((p) => p.kind)).toEqual(expect.arrayContaining(['campaign-failing']));

    // The storm ends; the backlog drains.
    bed.campaign.admin.setFaults({ errorRate: 0 });
    await expect
      .poll(
        async () => {
          const backlog = await runtime.store.queue.backlog();
          return backlog.reduce((n, b) => n + b.queued + b.leased, 0);
        },
        { timeout: 60_000, interval: 200 },
      )
      .toBe(0);
    // Calm for longer than the trouble window, then two calm minutes: resolved, once each.
    offsetMs = 61_000 + 3 * 60_000;
    await monitor.checkOnce();
    offsetMs += 2 * 60_000 + 1000;
    await monitor.checkOnce();
    body = await status();
    expect(body.overall).toMatchObject({ healthy: true, problems: [] });
    expect(
      sent()
        .filter((a) => a.endsWith(':resolved'))
        .sort(),
    ).toEqual(
      ['campaign-failing:resolved', 'campaign-rate-cut:resolved', 'changes-retrying:resolved'].sort(),
    );
    expect(receiver.texts().some((t) => t.includes('*[RESOLVED] campaign-failing* — campaign'))).toBe(true);
  });
});
