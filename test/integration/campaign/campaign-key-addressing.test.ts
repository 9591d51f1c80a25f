/**
 * Addressing records by their identification-key value when the key is not declared in Campaign
 * (issue 18): the emulator answers a by-key URL either 404 (the documented answer to an unknown raw
 * id) or 500 XTK-170036 (assumed). The client reads the 500 as a setup problem naming the key to
 * declare and where — never as a rejected record — and the 404 as before.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectorError, RemoteSetupError } from '../../../src/core/errors.js';
import {
  RawCampaignCaller,
  campaignTestSeed,
  startCampaignTestBed,
  type CampaignTestBed,
} from '../../support/campaign-test-bed.js';

let bed: CampaignTestBed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

async function rejection(promise: Promise<unknown>): Promise<ConnectorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectorError);
  return error as ConnectorError;
}

describe('profile key not declared (seed profile.customKey: null)', () => {
  const seed = { ...campaignTestSeed, profile: { customKey: null } };

  it('500 XTK-170036 on GET profile/<externalId> → CAMPAIGN_KEY_NOT_DECLARED naming the fix', async () => {
    bed = await startCampaignTestBed({
      emulator: { seedFile: seed, behaviour: { undeclaredKeyAnswer: 'xtk-500' } },
    });
    const error = await rejection(bed.client.findProfileByExternalId('9f1c2b3a-0000-4000-8000-000000000001'));
    expect(error).toBeInstanceOf(RemoteSetupError);
    expect(error.code).toBe('CAMPAIGN_KEY_NOT_DECLARED');
    expect(error.status).toBe(500);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("'externalId'");
    expect(error.message).toContain('Profiles & Services Ext');
    expect(error.message).toContain('resume the flow');
  });

  it('404 (the other reading) stays "missing"', async () => {
    bed = await startCampaignTestBed({
      emulator: { seedFile: seed, behaviour: { undeclaredKeyAnswer: 'not-found' } },
    });
    expect(await bed.client.findProfileByExternalId('9f1c2b3a-0000-4000-8000-000000000001')).toBeNull();
  });
});

describe('custom resource key column not declared on the wire', () => {
  it('names the key column and the custom resource', async () => {
    bed = await startCampaignTestBed({
      emulator: { behaviour: { undeclaredKeyAnswer: 'xtk-500', undeclaredKeyResources: ['cusStore'] } },
    });
    const error = await rejection(bed.client.findByKey('cusStore', 'S-001', {}, 'storeCode'));
    expect(error.code).toBe('CAMPAIGN_KEY_NOT_DECLARED');
    expect(error.message).toContain("'storeCode'");
    expect(error.message).toContain("custom resource 'cusStore'");
    // A PKey is still a PKey; another resource's declared key still works.
    bed.emulator.admin.insertRecord('cusNote', { crmId: 'n-1', text: 'x' });
    expect((await bed.client.findByKey('cusNote', 'n-1'))?.crmId).toBe('n-1');
  });

  it('declared: found by key, and a missing key is null', async () => {
    bed = await startCampaignTestBed();
    bed.emulator.admin.insertRecord('cusStore', { storeCode: 'S-001', city: 'Lyon' });
    expect((await bed.client.findByKey('cusStore', 'S-001', {}, 'storeCode'))?.city).toBe('Lyon');
    expect(await bed.client.findByKey('cusStore', 'S-404', {}, 'storeCode')).toBeNull();
  });
});

describe('emulator settings over the admin API', () => {
  it('sets undeclaredKeyAnswer and undeclaredKeyResources; refuses an unknown answer', async () => {
    bed = await startCampaignTestBed();
    const raw = new RawCampaignCaller(bed.emulator);
    const set = await raw.send('PUT', `${bed.emulator.adminUrl}/settings`, {
      body: { undeclaredKeyAnswer: 'xtk-500', undeclaredKeyResources: ['profile'] },
      auth: false,
    });
    expect(set.status).toBe(200);
    expect(bed.emulator.admin.settings()).toMatchObject({
      undeclaredKeyAnswer: 'xtk-500',
      undeclaredKeyResources: ['profile'],
    });
    const wire = await raw.send('GET', '/profileAndServicesExt/profile/9f1c2b3a-0000-4000-8000-000000000001');
    expect(wire.status).toBe(500);
    expect(wire.text).toContain('XTK-170036 Unable to parse expression');
    const bad = await raw.send('PUT', `${bed.emulator.adminUrl}/settings`, {
      body: { undeclaredKeyAnswer: 'teapot' },
      auth: false,
    });
    expect(bad.status).toBe(400);
  });
});
