/**
 * Adobe's own Campaign Standard SDK (`@adobe/aio-lib-campaign-standard`, pinned) against the
 * Campaign emulator, used as a user of that SDK would: so a change to the emulator that breaks
 * the real client fails here. The SDK's spec hard-codes `https://mc.adobe.io`; the one-line
 * redirect (`sdk.spec.servers`) is the one `docs/emulators.md` documents. The SDK uses node-fetch
 * over Node's `https.globalAgent`, which is told to trust the emulator's CA for this file only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCampaignEmulator, type CampaignEmulator } from '../../emulators/campaign/campaign-emulator.js';
import { optOutExportWorkflowId } from '../../emulators/campaign/campaign-workflow-execution.js';
import { campaignTestSeed, RawCampaignCaller } from '../support/campaign-test-bed.js';

interface SdkResponse {
  status: number;
  body: Record<string, unknown> & { content?: Record<string, unknown>[] };
}
type Call = (...args: unknown[]) => Promise<SdkResponse>;
/** The SDK instance: its operations, and the swagger-client it wraps (`sdk.spec` is read per call). */
type CampaignSdk = Record<string, Call> & {
  sdk: { spec: { servers: { url: string }[] } };
};

const require = createRequire(import.meta.url);
const campaignSdk = require('@adobe/aio-lib-campaign-standard') as {
  init(tenantId: string, apiKey: string, accessToken: string): Promise<CampaignSdk>;
};

let emulator: CampaignEmulator;
let raw: RawCampaignCaller;
let sdk: CampaignSdk;
let previousCa: unknown;
let keyDir: string;

beforeAll(async () => {
  keyDir = mkdtempSync(join(tmpdir(), 'dcsync-compat-sftp-'));
  emulator = await startCampaignEmulator({
    seedFile: campaignTestSeed,
    profiles: 30,
    // The SFTP account brings the one workflow the emulator models, the opt-out export.
    sftpPort: 0,
    sftp: { hostKeyPath: join(keyDir, 'host-key'), workflow: { pollIntervalMs: 0 } },
  });
  previousCa = https.globalAgent.options.ca;
  https.globalAgent.options.ca = [...rootCertificates, emulator.caCert!];
  raw = new RawCampaignCaller(emulator);
  const token = await raw.fetchToken();
  sdk = await campaignSdk.init(emulator.org, emulator.clientId, token);
  // Point the SDK at the emulator: `{ORGANIZATION}` stays a server variable the SDK fills in.
  sdk.sdk.spec.servers = [{ url: `${emulator.imsUrl}/{ORGANIZATION}/campaign` }];
});

afterAll(async () => {
  https.globalAgent.options.ca = previousCa as typeof https.globalAgent.options.ca;
  await raw.close();
  await emulator.close();
  rmSync(keyDir, { recursive: true, force: true });
});

beforeEach(() => {
  emulator.admin.reset();
});

describe("Adobe's Campaign Standard SDK", () => {
  it('lists profiles with order, line count and filters, and pages through next.href', async () => {
    const first = await sdk.getAllProfiles!({ lineCount: 10, order: 'email', descendingSort: true });
    expect(first.status).toBe(200);
    const emails = first.body.content!.map((p) => String(p.email));
    expect(emails).toHaveLength(10);
    expect(emails).toEqual([...emails].sort().reverse());

    const seen = new Set(emails);
    let next = (first.body.next as { href: string } | undefined)?.href;
    while (next) {
      const page = await sdk.getDataFromRelativeUrl!(next);
      for (const p of page.body.content!) seen.add(String(p.email));
      next = (page.body.next as { href: string } | undefined)?.href;
    }
    expect(seen.size).toBe(30);

    // A cursor forwarded as a free-form parameter, as a user of getAllProfiles would page.
    const cursor = new URL((first.body.next as { href: string }).href).searchParams.get('_lineStart');
    const second = await sdk.getAllProfiles!({
      lineCount: 10,
      order: 'email',
      descendingSort: true,
      _lineStart: cursor,
    });
    const secondEmails = second.body.content!.map((p) => String(p.email));
    expect(secondEmails).toHaveLength(10);
    expect(secondEmails[0]! < emails[9]!).toBe(true);

    const byEmail = await sdk.getAllProfiles!({ filters: ['byEmail'], email: emails[0] });
    expect(byEmail.body.content!.map((p) => p.email)).toEqual([emails[0]]);
  });

  it('follows a relative data URL from the metadata', async () => {
    const resources = await sdk.getCustomResources!();
    const data = (resources.body.cusOrder as { data: string }).data;
    expect(data).toBe('/profileAndServicesExt/cusOrder/');
    const list = await sdk.getDataFromRelativeUrl!(data);
    expect(list.body.content).toEqual([]);
  });

  it('creates, reads, updates and deletes a profile', async () => {
    const created = await sdk.createProfile!({
      email: 'ann@example.com',
      firstName: 'Ann',
      externalId: 'x-1',
    });
    expect(created.status).toBe(201);
    const pkey = String(created.body.PKey);
    expect(created.body).toMatchObject({ email: 'ann@example.com', gender: 'unknown' });

    const updated = await sdk.updateProfile!(pkey, { lastName: 'Lee', blackListEmail: true });
    expect(updated.status).toBe(200);
    expect(updated.body.PKey).toBe(pkey);
    const read = await sdk.getProfile!(pkey);
    expect(read.body).toMatchObject({ firstName: 'Ann', lastName: 'Lee', blackListEmail: true });
    expect((await sdk.getProfileWithOrgUnit!(pkey)).body.externalId).toBe('x-1');
    const custom = await sdk.getAllProfiles!({
      filters: ['byExternalId'],
      hasCustomFilter: true,
      externalId_parameter: 'x-1',
    });
    expect(custom.body.content!.map((p) => p.PKey)).toEqual([pkey]);

    // The SDK has no deleteProfile; its deleteCustomResource on `profile` is the way.
    expect((await sdk.deleteCustomResource!('profile', pkey)).status).toBe(200);
    await expect(sdk.getProfile!(pkey)).rejects.toThrow(/404/);
  });

  it('reads metadata of the profile and of an extended resource', async () => {
    const profile = await sdk.getMetadataForResource!('profile');
    expect(profile.body).toMatchObject({ name: 'profile', schema: 'nms:recipient', type: 'item' });
    expect((profile.body.content as unknown as Record<string, unknown>).email).toMatchObject({
      type: 'string',
    });
    const service = await sdk.getMetadataForResource!('service');
    expect(service.body).toMatchObject({ name: 'service', schema: 'nms:service' });
    const resources = await sdk.getCustomResources!();
    expect(Object.keys(resources.body)).toEqual(expect.arrayContaining(['profile', 'cusOrder']));
  });

  it('creates, filters, updates and deletes custom resources', async () => {
    const profile = await sdk.createProfile!({ email: 'bo@example.com', externalId: 'x-2' });
    const order = await sdk.createCustomResource!('cusOrder', {
      crmId: 'o-1',
      amount: 3,
      profile: { PKey: profile.body.PKey },
    });
    expect(order.status).toBe(201);
    const found = await sdk.getAllProfileAndServicesExt!('cusOrder', {
      filters: ['byCrmId'],
      crmId_parameter: 'o-1',
    });
    expect(found.body.content!.map((o) => o.crmId)).toEqual(['o-1']);
    await sdk.updateCustomResource!('cusOrder', String(order.body.PKey), { amount: 4 });
    expect(emulator.admin.getRecord('cusOrder', 'o-1')?.values).toMatchObject({ amount: 4 });
    expect((await sdk.deleteCustomResource!('cusOrder', 'o-1')).status).toBe(200);
    expect(emulator.admin.getRecord('cusOrder', 'o-1')).toBeUndefined();

    emulator.admin.insertRecord('cusStore', { storeCode: 's-1', city: 'Basel' });
    const stores = await sdk.getAllBasicCustomResources!('cusStore');
    expect(stores.body.content!.map((s) => s.city)).toEqual(['Basel']);
  });

  it('creates, lists and reads services', async () => {
    const created = await sdk.createService!({ name: 'news', label: 'Newsletter', messageType: 'email' });
    expect(created.status).toBe(201);
    const all = await sdk.getAllServices!();
    expect(all.body.content!.map((s) => s.name)).toEqual(['news']);
    const one = await sdk.getService!(String(created.body.PKey));
    expect(one.body).toMatchObject({ label: 'Newsletter', messageType: 'email' });
  });

  it('creates and lists privacy-tool requests', async () => {
    const created = await sdk.createGDPRRequest!({
      name: 'req-1',
      namespaceName: 'defaultNamespace1',
      reconciliationValue: 'nobody@example.com',
      label: 'Access',
      type: 'access',
      regulation: 'gdpr',
    });
    expect(created.body).toMatchObject({ name: 'req-1', status: 'new' });
    const list = await sdk.getGDPRRequest!();
    expect(list.body.content!.map((r) => r.name)).toEqual(['req-1']);
  });
});

describe("Adobe's SDK and the opt-out export workflow", () => {
  it('reads the workflow and stops, starts, pauses and resumes it', async () => {
    const read = async () => String((await sdk.getWorkflow!(optOutExportWorkflowId)).body.state);
    expect(await read()).toBe('started');
    expect((await sdk.controlWorkflow!(optOutExportWorkflowId, 'stop')).status).toBe(200);
    expect(await read()).toBe('stopped');
    expect(emulator.admin.sftp!.status().status).toBe('stopped');
    await sdk.controlWorkflow!(optOutExportWorkflowId, 'resume');
    expect(await read()).toBe('started');
    await sdk.controlWorkflow!(optOutExportWorkflowId, 'pause');
    expect(await read()).toBe('stopped');
    await sdk.controlWorkflow!(optOutExportWorkflowId, 'start');
    expect(emulator.admin.sftp!.status().status).toBe('running');
    await expect(sdk.getWorkflow!('WKF999')).rejects.toThrow(/404/);
  });
});

describe('request shapes the SDK sends, with plain requests', () => {
  it('reads a JSON body under any content type, and refuses a body that is not a JSON object', async () => {
    const asText = await raw.send('POST', '/profileAndServices/profile/', {
      body: JSON.stringify({ email: 'cy@example.com' }),
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
    });
    expect(asText.status).toBe(201);
    const asOctets = await raw.send('POST', '/profileAndServices/profile.json', {
      body: JSON.stringify({ email: 'di@example.com' }),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(asOctets.status).toBe(201);
    const asForm = await raw.send('POST', '/profileAndServices/profile', {
      body: JSON.stringify({ email: 'fay@example.com' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(asForm.status).toBe(201);
    // No content type at all (undici sends none unless told).
    const token = await raw.fetchToken();
    const agent = new Agent({ connect: { ca: emulator.caCert! } });
    const noType = await request(`${emulator.url}/campaign/profileAndServices/profile`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'x-api-key': emulator.clientId },
      body: JSON.stringify({ email: 'gus@example.com' }),
      dispatcher: agent,
    });
    expect(noType.statusCode).toBe(201);
    await noType.body.dump();
    await agent.close();

    const notJson = await raw.send('POST', '/profileAndServices/profile', {
      body: 'email=eve@example.com',
      headers: { 'content-type': 'text/plain' },
    });
    expect(notJson.status).toBe(400);
    expect(JSON.stringify(notJson.json)).toContain("the body sent as 'text/plain' is not JSON");
    const array = await raw.send('POST', '/profileAndServices/profile', {
      body: '[1]',
      headers: { 'content-type': 'text/plain' },
    });
    expect(array.status).toBe(400);
    expect(JSON.stringify(array.json)).toContain('must be a JSON object, not an array');
  });

  it('accepts a doubly encoded descending order and a trailing slash', async () => {
    const answer = await raw.send('GET', '/profileAndServices/profile/?_lineCount=3&_order=email%2520desc');
    expect(answer.status).toBe(200);
    const emails = (answer.json as { content: { email: string }[] }).content.map((p) => p.email);
    expect(emails).toEqual([...emails].sort().reverse());
  });
});
