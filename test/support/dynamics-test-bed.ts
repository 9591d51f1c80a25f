import { Agent, request } from 'undici';
import { expect } from 'vitest';
import {
  startDynamicsEmulator,
  type DynamicsEmulator,
  type DynamicsEmulatorOptions,
} from '../../emulators/dynamics/dynamics-emulator.js';
import type { DynamicsClientOptions } from '../../src/connectors/dynamics/dynamics-client-options.js';
import { DynamicsWebApiClient } from '../../src/connectors/dynamics/dynamics-web-api-client.js';
import type { DynamicsChangePage } from '../../src/connectors/dynamics/dynamics-change-reader.js';
import { ConnectorError } from '../../src/core/errors.js';

/** A running emulator plus production clients pointed at it over HTTPS with its CA. */
export interface DynamicsTestBed {
  emulator: DynamicsEmulator;
  /** Client options for this emulator (tenant, client id/secret, CA). */
  clientOptions(overrides?: Partial<DynamicsClientOptions>): DynamicsClientOptions;
  /** A production client; closed with the test bed. */
  createClient(overrides?: Partial<DynamicsClientOptions>): DynamicsWebApiClient;
  close(): Promise<void>;
}

export async function startDynamicsTestBed(options: DynamicsEmulatorOptions = {}): Promise<DynamicsTestBed> {
  const emulator = await startDynamicsEmulator(options);
  const clients: DynamicsWebApiClient[] = [];
  const clientOptions = (overrides: Partial<DynamicsClientOptions> = {}): DynamicsClientOptions => ({
    url: emulator.url,
    authorityHost: emulator.authorityHost,
    tenantId: 'contoso.onmicrosoft.com',
    clientId: emulator.clientId,
    clientSecret: options.clientSecret ?? 'demo-secret',
    ...(emulator.caCert ? { caCert: emulator.caCert } : {}),
    timeoutMs: 5000,
    ...overrides,
  });
  return {
    emulator,
    clientOptions,
    createClient: (overrides) => {
      const client = new DynamicsWebApiClient(clientOptions(overrides));
      clients.push(client);
      return client;
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
      await emulator.close();
    },
  };
}

/** A raw HTTP answer, for fidelity tests that look at the wire. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

/**
 * Plain undici requests against the emulator (no production client in between), with the OData
 * headers of the documentation examples and a bearer token from the token endpoint.
 */
export class RawDataverseApi {
  private readonly agent: Agent;
  private token: string | undefined;

  constructor(private readonly emulator: DynamicsEmulator) {
    this.agent = new Agent({ connect: emulator.caCert ? { ca: emulator.caCert } : {} });
  }

  get base(): string {
    return `${this.emulator.url}/api/data/v9.2/`;
  }

  async send(
    method: string,
    url: string,
    options: { headers?: Record<string, string>; body?: string; form?: Record<string, string> } = {},
  ): Promise<RawResponse> {
    const target = /^https?:/.test(url)
      ? url
      : url.startsWith('/')
        ? `${this.emulator.url}${url}`
        : `${this.base}${url}`;
    const headers = { ...options.headers };
    let body = options.body;
    if (options.form) {
      body = new URLSearchParams(options.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const response = await request(target, {
      method: method as 'GET',
      headers,
      ...(body !== undefined ? { body } : {}),
      dispatcher: this.agent,
    });
    const text = await response.body.text();
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(response.headers))
      if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
    return { status: response.statusCode, headers: flat, text, json: <T>() => JSON.parse(text) as T };
  }

  async accessToken(): Promise<string> {
    if (this.token) return this.token;
    const response = await this.send('POST', this.emulator.tokenUrl, {
      form: {
        grant_type: 'client_credentials',
        client_id: this.emulator.clientId,
        client_secret: 'demo-secret',
        scope: `${this.emulator.url}/.default`,
      },
    });
    this.token = response.json<{ access_token: string }>().access_token;
    return this.token;
  }

  /**
   * A Web API call with `Authorization`, `Accept`, `OData-MaxVersion` and `OData-Version`. A 401
   * (a test revoked tokens or moved the clock past their lifetime) fetches a new token once.
   */
  async api(
    method: string,
    url: string,
    options: { headers?: Record<string, string>; json?: unknown; body?: string } = {},
  ): Promise<RawResponse> {
    const response = await this.apiOnce(method, url, options);
    if (response.status !== 401) return response;
    this.token = undefined;
    return this.apiOnce(method, url, options);
  }

  private async apiOnce(
    method: string,
    url: string,
    options: { headers?: Record<string, string>; json?: unknown; body?: string } = {},
  ): Promise<RawResponse> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${await this.accessToken()}`,
      accept: 'application/json',
      'odata-maxversion': '4.0',
      'odata-version': '4.0',
      ...options.headers,
    };
    let body = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    }
    return this.send(method, url, { headers, ...(body !== undefined ? { body } : {}) });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** The contact read the client tests follow (id and two columns). */
export const contactRead = {
  entitySetName: 'contacts',
  primaryIdAttribute: 'contactid',
  select: ['firstname', 'donotemail'],
};

/** Every page of a change read. */
export async function collectPages(pages: AsyncIterable<DynamicsChangePage>): Promise<DynamicsChangePage[]> {
  const out: DynamicsChangePage[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

/** The ConnectorError `promise` rejects with (fails the test when it resolves or rejects otherwise). */
export async function expectConnectorRejection(promise: Promise<unknown>): Promise<ConnectorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectorError);
  return error as ConnectorError;
}
