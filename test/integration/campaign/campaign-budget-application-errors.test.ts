import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCampaignTestBed,
  connectorErrorOf,
  type CampaignTestBed,
} from '../../support/campaign-test-bed.js';

describe('call budget and Campaign application errors', () => {
  let bed: CampaignTestBed;
  beforeAll(async () => {
    bed = await startCampaignTestBed({ budget: { callsPerSecond: 200, burst: 200 } });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('does not slow down on a duplicate-key 500 (an application error, not overload)', async () => {
    await bed.client.createProfile({ externalId: 'dup-1' });
    for (let i = 0; i < 5; i++) {
      expect(await connectorErrorOf(bed.client.createProfile({ externalId: 'dup-1' }))).toMatchObject({
        code: 'CAMPAIGN_DUPLICATE_KEY',
      });
    }
    const usage = bed.budget.usage();
    expect(usage.rateCuts).toBe(0);
    expect(usage.currentCallsPerSecond).toBe(200);
  });

  it('still slows down on a real server fault', async () => {
    bed.emulator.admin.setFaults({ errorNext: 1, errorStatus: 503 });
    await connectorErrorOf(bed.client.createProfile({ externalId: 'fault-1' }));
    expect(bed.budget.usage().rateCuts).toBe(1);
  });
});
