/**
 * Every error path of the Campaign client against the emulator over real sockets: token refresh
 * and replay on 401013, token expiry, 5xx, 429, dropped connections, hung requests, a wrong
 * organization, a wrong secret, and a CA trusted by the client only.
 */
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CallBudget, type CallBudgetOptions } from '../../../src/connectors/campaign/call-budget.js';
import { CampaignClient } from '../../../src/connectors/campaign/campaign-client.js';
import { ImsTokenProvider } from '../../../src/connectors/adobe/ims-token-provider.js';
import { ManualClock } from '../../../src/core/clock.js';
import { RateLimitedError } from '../../../src/core/errors.js';
import {
  connectorErrorOf,
  startCampaignTestBed,
  type CampaignTestBed,
} from '../../support/campaign-test-bed.js';

let bed: CampaignTestBed;

beforeAll(async () => {
  bed = await startCampaignTestBed({ client: { timeoutMs: 1500 } });
});

afterAll(async () => {
  await bed.close();
});

beforeEach(() => {
  bed.emulator.admin.reset();
});

function otherClient(
  overrides: Partial<ConstructorParameters<typeof CampaignClient>[0]> = {},
  budgetOptions: Partial<CallBudgetOptions> = {},
) {
  const budget = new CallBudget({ callsPerSecond: 1000, ...budgetOptions });
  const client = new CampaignClient({
    url: bed.emulator.url,
    imsUrl: bed.emulator.imsUrl,
    clientId: 'demo-client',
    clientSecret: 'demo-secret',
    caCert: bed.emulator.caCert ?? undefined,
    timeoutMs: 2000,
    budget,
    ...overrides,
  });
  return { client, budget, close: async () => (budget.close(), await client.close()) };
}

describe('tokens', () => {
  it('refreshes once and replays the call when Campaign answers 401013 (revoked token)', async () => {
    const { client, emulator } = bed;
    await client.count('profile');
    const issued = emulator.admin.stats().tokensIssued;
    emulator.admin.revokeTokens();
    await client.createProfile({ externalId: 'after-revoke' });
    expect(emulator.admin.stats().tokensIssued).toBe(issued + 1);
    expect(emulator.admin.countRecords('profile').total).toBe(1);
  });

  it('refreshes after token expiry on the emulated clock', async () => {
    const { client, emulator } = bed;
    await client.count('profile');
    emulator.admin.expireTokens();
    expect(await client.count('profile')).toBe(0);
    expect(emulator.admin.stats().byStatus['401']).toBe(1);
  });

  it('fetches a new token before expiry (no 401 needed), single-flight for concurrent callers', async () => {
    const clock = new ManualClock(Date.now());
    const tokens = new ImsTokenProvider({
      imsUrl: bed.emulator.imsUrl,
      clientId: 'demo-client',
      clientSecret: 'demo-secret',
      caCert: bed.emulator.caCert ?? undefined,
      clock,
    });
    try {
      const first = await Promise.all(Array.from({ length: 10 }, () => tokens.getToken()));
      expect(new Set(first).size).toBe(1);
      expect(tokens.fetchCount).toBe(1);
      clock.advance(86399_000 - 3_600_000 - 1000);
      expect(await tokens.getToken()).toBe(first[0]);
      clock.advance(2000);
      const refreshed = await Promise.all(Array.from({ length: 5 }, () => tokens.getToken()));
      expect(new Set(refreshed).size).toBe(1);
      expect(refreshed[0]).not.toBe(first[0]);
      expect(tokens.fetchCount).toBe(2);
    } finally {
      await tokens.close();
    }
  });

  it('gives up after one replay when the fresh token is refused too', async () => {
    // Tokens that expire the moment they are issued: the first call and its replay both get 401013.
    const instant = await startCampaignTestBed({ emulator: { tokenLifetimeSec: 0 } });
    try {
      const error = await connectorErrorOf(instant.client.count('profile'));
      expect(error).toMatchObject({ code: 'CAMPAIGN_AUTH', status: 401, retryable: false });
      expect(instant.emulator.admin.stats().tokensIssued).toBe(2);
    } finally {
      await instant.close();
    }
  });

  it('reports a wrong client secret as CAMPAIGN_AUTH, not retryable', async () => {
    const other = otherClient({ clientSecret: 'wrong' });
    try {
      expect(await connectorErrorOf(other.client.count('profile'))).toMatchObject({
        code: 'CAMPAIGN_AUTH',
        retryable: false,
      });
    } finally {
      await other.close();
    }
  });
});

describe('server and transport failures', () => {
  it('maps an injected 503 to CAMPAIGN_HTTP_503 (retryable) and cuts the adaptive rate', async () => {
    const { client, emulator, budget } = bed;
    emulator.admin.setFaults({ errorNext: 1, errorStatus: 503, pathPattern: '/campaign/' });
    const before = budget.usage().rateCuts;
    expect(await connectorErrorOf(client.count('profile'))).toMatchObject({
      code: 'CAMPAIGN_HTTP_503',
      status: 503,
      retryable: true,
    });
    expect(budget.usage().rateCuts).toBe(before + 1);
    expect(budget.usage().lastTrouble?.reason).toBe('HTTP 503');
    expect(await client.count('profile')).toBe(0);
  });

  it('maps 429 to RateLimitedError, with retryAfterMs only when the emulator sends Retry-After', async () => {
    // A client and budget of its own, on a manual clock: the Retry-After pauses that budget only.
    const clock = new ManualClock(Date.now());
    const other = otherClient({ clock }, { clock });
    try {
      const { client, budget } = other;
      bed.emulator.admin.setLimits({ callsPerSecond: 1 });
      await client.count('profile');
      const plain = await connectorErrorOf(client.count('profile'));
      expect(plain).toBeInstanceOf(RateLimitedError);
      expect(plain).toMatchObject({
        code: 'CAMPAIGN_RATE_LIMITED',
        retryable: true,
        retryAfterMs: undefined,
      });
      expect(budget.usage().pausedUntil).toBeNull();
      bed.emulator.admin.setLimits({ retryAfterSec: 1 });
      const withHeader = await connectorErrorOf(client.count('profile'));
      expect((withHeader as RateLimitedError).retryAfterMs).toBe(1000);
      expect(budget.usage().pausedUntil).toBe(clock.now() + 1000);
    } finally {
      await other.close();
    }
  });

  it('maps a dropped connection to CAMPAIGN_NETWORK (retryable)', async () => {
    bed.emulator.admin.setFaults({ dropNext: 1, pathPattern: '/campaign/' });
    expect(await connectorErrorOf(bed.client.createProfile({ externalId: 'drop-1' }))).toMatchObject({
      code: 'CAMPAIGN_NETWORK',
      retryable: true,
    });
  });

  it('aborts a hung request after timeoutMs with CAMPAIGN_TIMEOUT (retryable)', async () => {
    bed.emulator.admin.setFaults({ hangNext: 1, pathPattern: '/campaign/' });
    const started = Date.now();
    expect(await connectorErrorOf(bed.client.count('profile'))).toMatchObject({
      code: 'CAMPAIGN_TIMEOUT',
      retryable: true,
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await bed.client.count('profile')).toBe(0);
  });

  it('reports a wrong organization as CAMPAIGN_BAD_URI', async () => {
    const other = otherClient({ url: bed.emulator.url.replace(/demo-org$/, 'no-such-org') });
    try {
      expect(await connectorErrorOf(other.client.createProfile({}))).toMatchObject({
        code: 'CAMPAIGN_BAD_URI',
        retryable: false,
      });
    } finally {
      await other.close();
    }
  });

  it('trusts the emulator CA for its own connections only', async () => {
    const other = otherClient({ caCert: undefined });
    try {
      // Without the CA, IMS cannot be reached: a connection failure, not a refused credential.
      expect(await connectorErrorOf(other.client.count('profile'))).toMatchObject({
        code: 'IMS_NETWORK',
        target: 'ims',
      });
      await expect(request(`${bed.emulator.imsUrl}/ims/token/v3`, { method: 'POST' })).rejects.toThrow();
    } finally {
      await other.close();
    }
  });
});
