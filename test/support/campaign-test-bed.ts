import { Agent, request } from 'undici';
import { expect } from 'vitest';
import { ConnectorError } from '../../src/core/errors.js';
import { CallBudget, type CallBudgetOptions } from '../../src/connectors/campaign/call-budget.js';
import { CampaignClient, type CampaignClientOptions } from '../../src/connectors/campaign/campaign-client.js';
import {
  startCampaignEmulator,
  type CampaignEmulator,
  type CampaignEmulatorOptions,
} from '../../emulators/campaign/campaign-emulator.js';
import type { CampaignSeedInput } from '../../emulators/campaign/campaign-seed-file.js';

/**
 * A resource model with every link shape the tests need:
 * - cusOrder → profile, cardinality 1, cascade (hidden until its profile exists);
 * - cusOrderLine → cusOrder, cardinality 1, cascade (third level);
 * - cusNote → profile, cardinality 0..1, no cascade (visible without a parent);
 * - cusStore: linked to nothing (served under customResources, never privacy-deleted).
 */
export const campaignTestSeed: CampaignSeedInput = {
  resources: [
    {
      name: 'cusOrder',
      label: 'Orders',
      keyField: 'crmId',
      fields: [
        { name: 'crmId', type: 'string', length: 36 },
        { name: 'amount', type: 'double' },
        { name: 'status', type: 'enumeration', values: ['open', 'paid'] },
      ],
      links: [{ name: 'profile', target: 'profile', cardinality: '1', onDelete: 'cascade' }],
    },
    {
      name: 'cusOrderLine',
      keyField: 'crmId',
      fields: [
        { name: 'crmId', type: 'string', length: 36 },
        { name: 'sku', type: 'string', length: 20 },
      ],
      links: [{ name: 'order', target: 'cusOrder', cardinality: '1', onDelete: 'cascade' }],
    },
    {
      name: 'cusNote',
      keyField: 'crmId',
      fields: [
        { name: 'crmId', type: 'string', length: 36 },
        { name: 'text', type: 'memo' },
      ],
      links: [{ name: 'profile', target: 'profile', cardinality: '0..1', onDelete: 'none' }],
    },
    {
      name: 'cusStore',
      keyField: 'storeCode',
      fields: [
        { name: 'storeCode', type: 'string', length: 10 },
        { name: 'city', type: 'string', length: 50 },
      ],
    },
  ],
};

export interface CampaignTestBed {
  emulator: CampaignEmulator;
  client: CampaignClient;
  budget: CallBudget;
  close(): Promise<void>;
}

/** Start the emulator (HTTPS, its own CA) and a production client trusting that CA only. */
export async function startCampaignTestBed(
  options: {
    emulator?: CampaignEmulatorOptions;
    budget?: Partial<CallBudgetOptions>;
    client?: Partial<CampaignClientOptions>;
  } = {},
): Promise<CampaignTestBed> {
  const emulator = await startCampaignEmulator({ seedFile: campaignTestSeed, ...options.emulator });
  const budget = new CallBudget({ callsPerSecond: 10_000, burst: 10_000, ...options.budget });
  const client = new CampaignClient({
    url: emulator.url,
    imsUrl: emulator.imsUrl,
    clientId: emulator.clientId,
    clientSecret: 'demo-secret',
    caCert: emulator.caCert ?? undefined,
    timeoutMs: 10_000,
    budget,
    ...options.client,
  });
  return {
    emulator,
    client,
    budget,
    close: async () => {
      budget.close();
      await client.close();
      await emulator.close();
    },
  };
}

/** Plain HTTPS requests against the emulator (no production client), for fidelity tests. */
export class RawCampaignCaller {
  private readonly agent: Agent;
  private token: string | null = null;

  constructor(private readonly emulator: CampaignEmulator) {
    this.agent = new Agent({ connect: { ca: emulator.caCert ?? undefined } });
  }

  async fetchToken(): Promise<string> {
    const answer = await this.send('POST', `${this.emulator.imsUrl}/ims/token/v3`, {
      body: `grant_type=client_credentials&client_id=${this.emulator.clientId}&client_secret=demo-secret`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      auth: false,
    });
    this.token = (answer.json as { access_token: string }).access_token;
    return this.token;
  }

  /** Call a path under `${emulator.url}/campaign` (or an absolute URL) with a token and API key. */
  async send(
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    pathOrUrl: string,
    options: { body?: unknown; headers?: Record<string, string>; auth?: boolean } = {},
  ): Promise<{ status: number; json: unknown; text: string; headers: Record<string, unknown> }> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.emulator.url}/campaign${pathOrUrl}`;
    const headers: Record<string, string> = { ...options.headers };
    if (options.auth !== false) {
      this.token ??= await this.fetchToken();
      headers.authorization ??= `Bearer ${this.token}`;
      headers['x-api-key'] ??= this.emulator.clientId;
    }
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await request(url, {
      method,
      headers,
      dispatcher: this.agent,
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.body.text();
    let json: unknown = null;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: response.statusCode, json, text, headers: response.headers };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** The ConnectorError a promise rejects with (fails the test when it resolves or throws anything else). */
export async function connectorErrorOf(promise: Promise<unknown>): Promise<ConnectorError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectorError);
  return error as ConnectorError;
}
