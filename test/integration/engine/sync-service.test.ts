import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncTestBed, testEnv } from '../../support/sync-test-bed.js';
import { createSyncService, type SyncService } from '../../../src/cli/runtime/start-service.js';

/** The composition `dcsync run` uses: engine, operator server, alerts, metrics, webhook wake-up. */
describe('sync service (dcsync run composition)', () => {
  let bed: SyncTestBed;
  let service: SyncService;
  const token = testEnv.DCSYNC_ADMIN_TOKEN!;

  async function until(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not reached in time');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function get(path: string): Promise<{ status: number; text: string }> {
    const response = await request(`${service.url}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.statusCode, text: await response.body.text() };
  }

  beforeAll(async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 10, seed: 21 },
      config: {
        // Slow polling: only the webhook can make a change show up quickly.
        engine: { pollIntervalMs: 60_000 },
        dynamics: { webhook: { enabled: true, key: 'env:DCSYNC_WEBHOOK_KEY' } },
      },
    });
    const runtime = await bed.openRuntime();
    service = await createSyncService(runtime, { listen: { host: '127.0.0.1', port: 0 } });
    await service.start();
    await until(() => bed.profilesByExternalId().size === 10);
  });
  afterAll(async () => {
    await service?.stop();
    await bed.close();
  });

  it('serves status and counts calls to both remotes on /metrics', async () => {
    const status = await get('/api/status');
    expect(status.status).toBe(200);
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/dcsync_remote_calls_total\{target="dynamics",status="200"\} [1-9]/);
    expect(metrics.text).toMatch(/dcsync_remote_calls_total\{target="campaign",status="201"\} 10/);
    // The worker's slice of the shared call budget (the one process takes the whole rate on SQLite),
    // as its registry row says at its next heartbeat.
    const slice = /dcsync_worker_budget_calls_per_second\{worker="[^"]+"\} 5000/;
    await until(async () => slice.test((await get('/metrics')).text));
  });

  it('applies a change within seconds of a Dataverse webhook, long before the next poll', async () => {
    const id = bed.dynamics.admin.listIds('contact')[0]!;
    bed.dynamics.admin.updateContact(id, { lastname: 'ViaWebhook' });
    const response = await request(`${service.url}/webhooks/dynamics`, {
      method: 'POST',
      headers: {
        'x-dcsync-key': 'webhook-key-for-tests',
        'x-ms-dynamics-entity-name': 'contact',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ MessageName: 'Update', PrimaryEntityName: 'contact', PrimaryEntityId: id }),
    });
    await response.body.dump();
    expect(response.statusCode).toBe(202);
    await until(() => bed.profilesByExternalId().get(id)?.lastName === 'ViaWebhook', 10_000);
  });

  it('refuses a webhook with the wrong key', async () => {
    const response = await request(`${service.url}/webhooks/dynamics`, {
      method: 'POST',
      headers: { 'x-dcsync-key': 'wrong', 'content-type': 'application/json' },
      body: '{}',
    });
    await response.body.dump();
    expect(response.statusCode).toBe(401);
  });
});
