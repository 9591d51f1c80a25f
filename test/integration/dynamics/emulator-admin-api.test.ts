/** The emulator's admin API over HTTP (`/_emulator/`), as the CLI-run emulator is driven. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startDynamicsEmulator,
  type DynamicsEmulator,
} from '../../../emulators/dynamics/dynamics-emulator.js';
import { RawDataverseApi } from '../../support/dynamics-test-bed.js';

let emulator: DynamicsEmulator;
let api: RawDataverseApi;
const key = { 'x-emulator-admin-key': 'admin-key-for-tests' };

beforeAll(async () => {
  emulator = await startDynamicsEmulator({ contacts: 5, adminKey: key['x-emulator-admin-key'] });
  api = new RawDataverseApi(emulator);
});

afterAll(async () => {
  await api.close();
  await emulator.close();
});

const admin = (method: string, path: string, body?: unknown) =>
  api.send(method, `/_emulator${path}`, {
    headers: { ...key, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

describe('admin API', () => {
  it('needs the admin key when one is configured', async () => {
    expect((await api.send('GET', '/_emulator/stats')).status).toBe(401);
    expect((await admin('GET', '/health')).status).toBe(200);
  });

  it('resets, generates and mutates data through the write path', async () => {
    expect((await admin('POST', '/reset', { contacts: 20, seed: 5 })).json()).toEqual({ contacts: 20 });
    const generated = await admin('POST', '/generate', { count: 10 });
    expect(generated.json<{ generated: number; ids: string[] }>().ids).toHaveLength(10);
    const mutated = await admin('POST', '/mutate', { creates: 2, updates: 3, deletes: 1, seed: 9 });
    expect(mutated.json<{ created: string[]; updated: string[]; deleted: string[] }>()).toMatchObject({
      created: expect.any(Array) as unknown,
      updated: expect.any(Array) as unknown,
      deleted: expect.any(Array) as unknown,
    });
    expect((await admin('GET', '/tables/contact/count')).json()).toEqual({ count: 31 });
    const created = await admin('POST', '/tables/contact/rows', { values: { lastname: 'ViaAdmin' } });
    const id = created.json<{ contactid: string }>().contactid;
    expect(
      (await admin('PATCH', `/tables/contact/rows/${id}`, { values: { donotemail: true } })).json(),
    ).toMatchObject({ donotemail: true });
    expect((await admin('DELETE', `/tables/contact/rows/${id}`)).status).toBe(204);
    expect((await admin('GET', `/tables/contact/rows/${id}`)).status).toBe(404);
    expect((await admin('POST', '/tables/contact/rows', { values: { nosuch: 1 } })).status).toBe(400);
  });

  it('configures faults, limits, the clock and settings, and reports statistics', async () => {
    expect(
      (await admin('PUT', '/faults', { errorNext: 1, errorStatus: 502, pathPattern: '^/api/' })).json(),
    ).toMatchObject({ errorNext: 1 });
    expect((await api.api('GET', 'WhoAmI')).status).toBe(502);
    expect((await admin('PUT', '/faults', { bogus: 1 })).status).toBe(400);
    await admin('DELETE', '/faults');
    await admin('POST', '/faults/throttle', { count: 1, retryAfterSec: 3 });
    const throttled = await api.api('GET', 'WhoAmI');
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('3');
    expect((await admin('PUT', '/limits', { requests: 100 })).json()).toMatchObject({
      requests: 100,
      windowMs: 300_000,
    });
    const before = emulator.admin.clock.now();
    const clock = await admin('POST', '/clock', { freeze: true, advanceMs: 60_000 });
    expect(clock.json<{ frozen: boolean }>().frozen).toBe(true);
    expect(emulator.admin.clock.now() - before).toBeGreaterThanOrEqual(60_000);
    await admin('POST', '/clock', { unfreeze: true });
    expect((await admin('PUT', '/settings', { retentionDays: 30 })).json()).toMatchObject({
      retentionDays: 30,
    });
    const stats = (await admin('GET', '/stats')).json<{
      byRouteAndStatus: Record<string, number>;
      throttled: number;
    }>();
    expect(stats.byRouteAndStatus['GET fault 502']).toBe(1);
    expect(stats.throttled).toBeGreaterThanOrEqual(1);
  });

  it('registers webhooks and revokes tokens', async () => {
    const registered = await admin('POST', '/webhooks', {
      url: 'http://127.0.0.1:9/hook',
      table: 'contact',
      messages: ['Update'],
      auth: { type: 'WebhookKey', key: 'k' },
    });
    const { id } = registered.json<{ id: string }>();
    expect((await admin('GET', '/webhooks')).json()).toEqual([
      expect.objectContaining({ id, auth: { type: 'WebhookKey' } }),
    ]);
    expect((await admin('DELETE', `/webhooks/${id}`)).status).toBe(204);
    expect((await api.api('GET', 'WhoAmI')).status).toBe(200);
    await admin('POST', '/tokens/revoke', {});
    const token = await api.accessToken();
    expect((await api.send('GET', 'WhoAmI', { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      401,
    );
  });
});
