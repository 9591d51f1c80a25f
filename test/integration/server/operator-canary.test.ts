/**
 * Invariant I11 at the operator surface (issue 9, "must show"): canary secrets (client secrets,
 * admin token, Dataverse webhook key, alert webhook URL) and canary personal data (names and
 * e-mails of Dynamics contacts that get synced, dead-lettered and parked) appear in no API
 * response, page, asset, error or /metrics output. Each canary is shown to be present where a leak
 * could come from, and the search is shown to find a canary when one is there.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContact } from '../../support/dynamics-builders.js';
import { InMemoryOptOutProvider, InMemoryPrivacyProvider } from '../../support/server-providers.js';
import { ServerTestBed } from '../../support/server-test-bed.js';

const canarySecrets = {
  dynamicsSecret: 'cnry-dyn-secret-8d2f61aa',
  campaignSecret: 'cnry-acs-secret-0b7e93c4',
  adminToken: 'cnry-admin-token-5a1c0e9d77',
  webhookKey: 'cnry-webhook-key-c3f0a2b1',
  alertUrlToken: 'cnry-alert-url-token-9e4d',
};
const canaryPeople = {
  firstName: 'Zebulon',
  lastName: 'Quixotefield',
  email: 'zebulon.quixotefield@canary-mail.test',
  longFirstName: 'Zebulonius-Maximilian-Quixotefield-Extraordinaire',
  parkedName: 'Philomena-Canarywood',
};
const allCanaries = [...Object.values(canarySecrets), ...Object.values(canaryPeople)];

function findCanaries(text: string): string[] {
  const lowered = text.toLowerCase();
  return allCanaries.filter((canary) => lowered.includes(canary.toLowerCase()));
}

let dir: string;
let t: ServerTestBed;
const outputs: { what: string; text: string }[] = [];

function secretFile(name: string, value: string): string {
  const path = join(dir, name);
  writeFileSync(path, value);
  chmodSync(path, 0o600);
  return `file:${path}`;
}

async function capture(what: string, request: InjectOptions): Promise<number> {
  const response = await t.app.inject(request);
  outputs.push({ what, text: `${JSON.stringify(response.headers)}\n${response.body}` });
  return response.statusCode;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dcsync-canary-'));
  const privacy = new InMemoryPrivacyProvider();
  const optOut = new InMemoryOptOutProvider();
  t = await ServerTestBed.start({
    dynamics: { contacts: 5, seed: 21, clientSecret: canarySecrets.dynamicsSecret },
    campaign: { clientSecret: canarySecrets.campaignSecret },
    syncFirst: false,
    inputs: { privacy, optOut },
    config: {
      dynamics: {
        clientSecret: secretFile('dynamics-secret', canarySecrets.dynamicsSecret),
        webhook: { key: secretFile('webhook-key', canarySecrets.webhookKey) },
      },
      campaign: { clientSecret: secretFile('campaign-secret', canarySecrets.campaignSecret) },
      server: { adminToken: secretFile('admin-token', canarySecrets.adminToken) },
      alerts: { webhooks: [{ url: `https://hooks.example.test/services/${canarySecrets.alertUrlToken}` }] },
    },
  });
  const synced = t.bed.dynamics.admin.createContact(
    buildContact({
      firstname: canaryPeople.firstName,
      lastname: canaryPeople.lastName,
      emailaddress1: canaryPeople.email,
    }),
  );
  t.bed.dynamics.admin.createContact(
    buildContact({ firstname: canaryPeople.longFirstName, emailaddress1: canaryPeople.email }),
  );
  await t.engine.runUntilIdle({ timeoutMs: 60_000 });
  // A parked child carrying personal data in its payload.
  const store = t.runtime.store;
  await store.queue.enqueue([
    {
      flow: 'contacts',
      recordKey: 'canary-child',
      payload: {
        op: 'upsert',
        origin: 'delta',
        values: { firstname: canaryPeople.parkedName, emailaddress1: canaryPeople.email },
      },
    },
  ]);
  const [item] = await store.queue.lease({ owner: 'test', limit: 1, leaseMs: 60_000 });
  await store.queue.park(
    item!.id,
    'test',
    { flow: 'contacts', recordKey: String(synced.contactid) },
    'parent not in Campaign yet',
  );
  await privacy.create({ contactId: String(synced.contactid), requestedBy: 'api' });
  await t.app.sampleHistory();
});

afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('canaries at the operator surface', () => {
  it('the canaries are where a leak could come from', async () => {
    expect(t.deps.adminToken).toBe(canarySecrets.adminToken);
    const profiles = [...t.bed.profilesByExternalId().values()];
    expect(profiles.some((p) => p.email === canaryPeople.email && p.lastName === canaryPeople.lastName)).toBe(
      true,
    );
    const letters = await t.runtime.store.deadLetters.list({}, {});
    expect(letters.items).toHaveLength(1);
    expect(JSON.stringify(letters.items[0]!.payload)).toContain(canaryPeople.longFirstName);
    expect(JSON.stringify((await t.runtime.store.parked.get('contacts', 'canary-child'))!.payload)).toContain(
      canaryPeople.parkedName,
    );
    expect(findCanaries(`x ${canaryPeople.lastName.toUpperCase()} y`)).toEqual([canaryPeople.lastName]);
  });

  it('no route, page, asset, error or metric shows a canary', async () => {
    const bearer = { authorization: `Bearer ${canarySecrets.adminToken}` };
    const requests = await t.api<{ items: { id: string }[] }>('GET', '/api/privacy/requests');
    const requestId = requests.json.items[0]!.id;
    for (const route of t.app.routeInventory.filter((r) => r.method === 'GET')) {
      const url = route.url.replace(':flow', 'contacts').replace(':id', requestId);
      expect(await capture(`GET ${url}`, { method: 'GET', url, headers: bearer })).toBeLessThan(500);
    }
    const signIn = await t.app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/json' },
      payload: { token: canarySecrets.adminToken },
    });
    outputs.push({ what: 'POST /login', text: `${JSON.stringify(signIn.headers)}\n${signIn.body}` });
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    for (const url of [
      '/',
      '/assets/dashboard.js',
      '/assets/dashboard.css',
      '/api/status',
      '/api/dead-letters',
      '/api/parked',
    ])
      await capture(`cookie GET ${url}`, { method: 'GET', url, headers: { cookie } });

    const json = { ...bearer, 'content-type': 'application/json' };
    // Errors that a naive implementation would answer with the offending input or a secret.
    await capture('bad privacy request', {
      method: 'POST',
      url: '/api/privacy/requests',
      headers: json,
      payload: { contactId: canaryPeople.email, regulation: canaryPeople.lastName },
    });
    await capture('unknown privacy request', {
      method: 'GET',
      url: `/api/privacy/requests/${canaryPeople.lastName}`,
      headers: bearer,
    });
    await capture('unknown flow', {
      method: 'POST',
      url: `/api/flows/${canaryPeople.firstName}/pause`,
      headers: json,
      payload: {},
    });
    await capture('search by e-mail', {
      method: 'GET',
      url: `/api/dead-letters?recordKey=${encodeURIComponent(canaryPeople.email)}`,
      headers: bearer,
    });
    await capture('malformed JSON', {
      method: 'POST',
      url: '/api/dead-letters/retry',
      headers: json,
      payload: `{"ids":["${canaryPeople.lastName}"`,
    });
    await capture('bad id list', {
      method: 'POST',
      url: '/api/dead-letters/retry',
      headers: json,
      payload: { ids: [canaryPeople.email] },
    });
    await capture('pause with a reason', {
      method: 'POST',
      url: '/api/flows/contacts/pause',
      headers: json,
      payload: { reason: `asked by ${canaryPeople.email}` },
    });
    await capture('status after pause', { method: 'GET', url: '/api/status', headers: bearer });
    await capture('wrong sign-in', {
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${canaryPeople.lastName}`,
    });
    await capture('wrong bearer', {
      method: 'GET',
      url: '/api/status',
      headers: { authorization: `Bearer ${canarySecrets.webhookKey}` },
    });
    await capture('webhook, admin token', {
      method: 'POST',
      url: '/webhooks/dynamics',
      headers: { ...json, 'x-dcsync-key': canarySecrets.adminToken },
      payload: { PrimaryEntityName: 'contact' },
    });
    await capture('webhook, bad entity', {
      method: 'POST',
      url: '/webhooks/dynamics',
      headers: { ...json, 'x-dcsync-key': canarySecrets.webhookKey },
      payload: { PrimaryEntityName: canaryPeople.email },
    });
    await capture('metrics', { method: 'GET', url: '/metrics', headers: bearer });

    expect(outputs.length).toBeGreaterThan(45);
    const leaks = outputs.flatMap((o) => findCanaries(o.text).map((canary) => `${o.what}: ${canary}`));
    expect(leaks).toEqual([]);
    // The pages were real answers, not error pages.
    const dashboard = outputs.find((o) => o.what === 'cookie GET /')!;
    expect(dashboard.text).toContain('<h2 id="dl-h">Dead letters</h2>');
    const metrics = outputs.find((o) => o.what === 'metrics')!;
    expect(metrics.text).toContain('dcsync_dead_letters{flow="contacts",code="MAPPING_INVALID"} 1');
  });
});
