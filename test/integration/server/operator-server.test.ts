/**
 * The wiring the CLI uses: `createOperatorAlerts` before the engine, `startOperatorServer` with the
 * dispatcher — a listening server whose readiness follows the engine, and whose alert monitor
 * raises to the configured webhook until the server closes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createSyncEngine } from '../../../src/cli/runtime/start-sync.js';
import type { RunningHttpServer } from '../../../src/server/http-server.js';
import { createOperatorAlerts } from '../../../src/cli/runtime/operator-alerts.js';
import { startOperatorServer } from '../../../src/server/operator-server.js';
import type { SyncEngine } from '../../../src/engine/sync-engine.js';
import { SyncTestBed } from '../../support/sync-test-bed.js';
import { WebhookReceiver } from '../../support/server-webhook-receiver.js';

let receiver: WebhookReceiver;
let bed: SyncTestBed;
let engine: SyncEngine;
let server: RunningHttpServer;
let alerts: ReturnType<typeof createOperatorAlerts>;
let started = false;

async function call(
  method: 'GET' | 'POST',
  path: string,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await request(`${server.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  return { status: response.statusCode, json: (await response.body.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  receiver = await new WebhookReceiver().start();
  bed = await SyncTestBed.start({
    dynamics: { contacts: 3 },
    config: { alerts: { webhooks: [{ url: receiver.url }] } },
  });
  const runtime = await bed.openRuntime();
  alerts = createOperatorAlerts(runtime);
  engine = await createSyncEngine(runtime, { alerts: alerts.dispatcher });
  server = await startOperatorServer(
    {
      runtime,
      engine,
      alerts: alerts.dispatcher,
      engineStarted: () => started,
      monitor: { intervalMs: 100 },
    },
    { host: '127.0.0.1', port: 0 },
  );
});

afterAll(async () => {
  await server?.close();
  await engine?.stop();
  await alerts?.close();
  await bed?.close();
  await receiver?.stop();
});

describe('operator server as the CLI starts it', () => {
  it('listens on the given address and is ready once the engine runs', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await call('GET', '/readyz')).toEqual({
      status: 503,
      json: { status: 'not-ready', checks: { store: 'ok', engine: 'not-started' } },
    });
    await engine.start();
    started = true;
    expect((await call('GET', '/readyz')).status).toBe(200);
  });

  it('the alert monitor reports a paused flow to the webhook, and the dashboard lists it', async () => {
    const token = bed.loadConfig().server.adminToken.reveal();
    expect((await call('POST', '/api/flows/contacts/pause', token)).status).toBe(200);
    await expect
      .poll(() => receiver.texts().join('\n'), { timeout: 10_000 })
      .toContain('*[WARNING] flow-paused* — contacts');
    const listed = await call('GET', '/api/alerts', token);
    expect(listed.json.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'flow-paused', subject: 'contacts', delivery: 'sent' }),
      ]),
    );
    // De-duplicated: the monitor keeps finding the flow paused, the webhook hears it once.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(receiver.texts().filter((text) => text.includes('flow-paused'))).toHaveLength(1);
  });
});
