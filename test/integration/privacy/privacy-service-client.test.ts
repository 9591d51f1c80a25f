/**
 * The Privacy Service client against the emulator over HTTPS: jobs validated as documented,
 * statuses moving over emulated time, and a delete job really removing the Campaign profile, its
 * logs and cascaded records (never unlinked resources).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PrivacyServiceClient } from '../../../src/connectors/privacy/privacy-service-client.js';
import {
  connectorErrorOf,
  startCampaignTestBed,
  RawCampaignCaller,
  type CampaignTestBed,
} from '../../support/campaign-test-bed.js';

let bed: CampaignTestBed;
let privacy: PrivacyServiceClient;

function buildClient(overrides: Partial<ConstructorParameters<typeof PrivacyServiceClient>[0]> = {}) {
  return new PrivacyServiceClient({
    url: bed.emulator.privacyServiceUrl,
    imsUrl: bed.emulator.imsUrl,
    imsOrgId: bed.emulator.imsOrgId,
    clientId: 'demo-client',
    clientSecret: 'demo-secret',
    caCert: bed.emulator.caCert ?? undefined,
    timeoutMs: 5000,
    ...overrides,
  });
}

beforeAll(async () => {
  bed = await startCampaignTestBed();
  privacy = buildClient();
});

afterAll(async () => {
  await privacy.close();
  await bed.close();
});

beforeEach(() => {
  bed.emulator.admin.reset();
});

describe('delete jobs drive Campaign', () => {
  it('submitted → processing → complete, removing the profile, its logs and cascaded records only', async () => {
    const { emulator } = bed;
    const [pkey] = emulator.admin.seedProfiles({
      records: [{ externalId: 'contact-7', email: 'Erase.Me@example.com' }],
    });
    emulator.admin.insertRecord('cusOrder', { crmId: 'o-7', profile: { externalId: 'contact-7' } });
    emulator.admin.insertRecord('cusOrderLine', { crmId: 'l-7', order: { crmId: 'o-7' } });
    emulator.admin.insertRecord('cusNote', { crmId: 'n-7', profile: { externalId: 'contact-7' } });
    emulator.admin.insertRecord('cusStore', { storeCode: 'S7' });

    const [job] = await privacy.submitDelete([
      { userKey: 'request-42', identities: { email: 'erase.me@example.com' }, regulation: 'gdpr' },
    ]);
    expect(job).toMatchObject({ userKey: 'request-42', action: 'delete' });
    expect((await privacy.getJob(job!.jobId))?.status).toBe('submitted');

    emulator.admin.advanceClock(30_000);
    expect((await privacy.getJob(job!.jobId))?.status).toBe('processing');
    const [campaignRequest] = emulator.admin.privacyRequests();
    expect(campaignRequest).toMatchObject({ type: 'delete', status: 'new', regulation: 'gdpr' });
    expect(emulator.admin.getRecord('profile', pkey!)).toBeDefined();

    emulator.admin.advanceClock(300_000);
    const done = await privacy.getJob(job!.jobId);
    expect(done?.status).toBe('complete');
    expect(done?.productResponses).toEqual([
      {
        product: 'campaign',
        status: 'complete',
        responseMsgCode: 'PRVCY-6000-200',
        responseMsgDetail: 'Finished successfully.',
      },
    ]);
    expect(emulator.admin.getRecord('profile', pkey!)).toBeUndefined();
    expect(emulator.admin.logEntriesOf(pkey!)).toBe(0);
    expect(emulator.admin.countRecords('cusOrder').total).toBe(0);
    expect(emulator.admin.countRecords('cusOrderLine').total).toBe(0);
    expect(emulator.admin.countRecords('cusNote').total).toBe(1);
    expect(emulator.admin.countRecords('cusStore').total).toBe(1);
  });

  it('reports user IDs not found when Campaign has nothing, and uses configured namespaces', async () => {
    const { emulator } = bed;
    emulator.admin.seedProfiles({ records: [{ externalId: 'by-crm-id' }] });
    const jobs = await privacy.submitDelete([
      { userKey: 'nobody', identities: { email: 'nobody@example.com' }, regulation: 'gdpr' },
      { userKey: 'crm', identities: { externalId: 'by-crm-id' }, regulation: 'gdpr' },
    ]);
    emulator.admin.advanceClock(330_000);
    const [nobody, crm] = await Promise.all(jobs.map((j) => privacy.getJob(j.jobId)));
    expect(nobody?.productResponses[0]?.responseMsgCode).toBe('PRVCY-6052-200');
    expect(crm?.productResponses[0]?.responseMsgCode).toBe('PRVCY-6000-200');
    expect(emulator.admin.countRecords('profile').total).toBe(0);
  });

  it('ends a job in error when the service fails it', async () => {
    bed.emulator.admin.failNextPrivacyJobs(1);
    const [job] = await privacy.submitDelete([
      { userKey: 'k', identities: [{ namespace: 'email', value: 'x@example.com' }], regulation: 'ccpa' },
    ]);
    bed.emulator.admin.advanceClock(30_000);
    const state = await privacy.getJob(job!.jobId);
    expect(state?.status).toBe('error');
    expect(state?.productResponses[0]).toMatchObject({ status: 'error' });
  });

  it('creates one job per user per action and lists them', async () => {
    const jobs = await privacy.submit(
      ['access', 'delete'],
      [{ userKey: 'both', identities: { email: 'b@example.com' }, regulation: 'gdpr' }],
    );
    expect(jobs.map((j) => j.action).sort()).toEqual(['access', 'delete']);
    const listed = await privacy.listJobs({ regulation: 'gdpr' });
    expect(listed.totalRecords).toBe(2);
    expect(await privacy.getJob('00000000-0000-4000-8000-000000000000')).toBeNull();
  });
});

describe('validation and errors', () => {
  it('checks limits before sending', async () => {
    await expect(privacy.submitDelete([])).rejects.toThrow(RangeError);
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({
      userKey: `u${i}`,
      identities: { email: `${i}@example.com` },
      regulation: 'gdpr',
    }));
    await expect(privacy.submitDelete(tooMany)).rejects.toThrow(RangeError);
    const tenIds = Array.from({ length: 10 }, (_, i) => ({ namespace: 'email', value: `${i}@example.com` }));
    await expect(
      privacy.submitDelete([{ userKey: 'x', identities: tenIds, regulation: 'gdpr' }]),
    ).rejects.toThrow(RangeError);
  });

  it('maps documented 400s to PRIVACY_INVALID_REQUEST and a foreign org to PRIVACY_AUTH', async () => {
    const invalid = await connectorErrorOf(
      privacy.submitDelete([
        { userKey: 'x', identities: { email: 'x@example.com' }, regulation: 'not-a-law' },
      ]),
    );
    expect(invalid).toMatchObject({ code: 'PRIVACY_INVALID_REQUEST', status: 400, retryable: false });
    expect(invalid.message).toContain('Formatting error');
    expect(await connectorErrorOf(privacy.listJobs({ regulation: 'gdpr', size: 1001 }))).toMatchObject({
      code: 'PRIVACY_INVALID_REQUEST',
    });
    const foreign = buildClient({ imsOrgId: 'OTHER@AdobeOrg' });
    try {
      expect(await connectorErrorOf(foreign.getJob('x'))).toMatchObject({
        code: 'PRIVACY_AUTH',
        status: 403,
      });
    } finally {
      await foreign.close();
    }
  });

  it('the emulator validates raw requests as documented (include, users, identity types)', async () => {
    const raw = new RawCampaignCaller(bed.emulator);
    try {
      const post = (body: unknown) =>
        raw.send('POST', `${bed.emulator.privacyServiceUrl}/jobs`, {
          body,
          headers: { 'x-gw-ims-org-id': bed.emulator.imsOrgId },
        });
      const valid = {
        companyContexts: [{ namespace: 'imsOrgID', value: bed.emulator.imsOrgId }],
        users: [
          {
            key: 'k',
            action: ['delete'],
            userIDs: [{ namespace: 'email', value: 'a@example.com', type: 'standard' }],
          },
        ],
        include: ['campaign'],
        regulation: 'gdpr',
      };
      expect((await post(valid)).json).toMatchObject({ requestStatus: 1, totalRecords: 1 });
      expect((await post({ ...valid, include: [] })).status).toBe(400);
      expect((await post({ ...valid, companyContexts: [] })).status).toBe(400);
      expect(
        (
          await post({
            ...valid,
            users: [{ ...valid.users[0], userIDs: [{ namespace: 'email', value: 'a', type: 'weird' }] }],
          })
        ).status,
      ).toBe(400);
      expect((await post({ ...valid, users: [{ ...valid.users[0], action: ['sell'] }] })).status).toBe(400);
      const noOrgHeader = await raw.send('POST', `${bed.emulator.privacyServiceUrl}/jobs`, { body: valid });
      expect(noOrgHeader.status).toBe(403);
    } finally {
      await raw.close();
    }
  });
});
