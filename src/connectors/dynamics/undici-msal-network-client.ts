import { tlsTrust } from '../tls-trust.js';
import { Agent, request } from 'undici';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';

/**
 * MSAL's `system.networkClient` on undici, with its own connection pool that trusts the system CAs
 * plus an optional extra CA — for this client only, never process-wide (no
 * NODE_EXTRA_CA_CERTS, no rejectUnauthorized=false).
 */
export class UndiciMsalNetworkClient implements INetworkModule {
  private readonly agent: Agent;
  private discoveryError: { error: string; description: string } | undefined;

  constructor(
    caCert: string | undefined,
    private readonly timeoutMs: number,
  ) {
    this.agent = new Agent({
      connect: tlsTrust(caCert || undefined),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  }

  sendGetRequestAsync<T>(
    url: string,
    options?: NetworkRequestOptions,
    timeout?: number,
  ): Promise<NetworkResponse<T>> {
    return this.send<T>('GET', url, options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('POST', url, options);
  }

  private async send<T>(
    method: 'GET' | 'POST',
    url: string,
    options: NetworkRequestOptions | undefined,
    timeout?: number,
  ): Promise<NetworkResponse<T>> {
    const response = await request(url, {
      method,
      headers: options?.headers ?? {},
      ...(method === 'POST' ? { body: options?.body ?? '' } : {}),
      dispatcher: this.agent,
      signal: AbortSignal.timeout(timeout ?? this.timeoutMs),
    });
    const text = await response.body.text();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    let body: unknown = {};
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        // MSAL inspects the status; a non-JSON body (proxy error page) becomes an empty object.
        body = {};
      }
    }
    if (method === 'GET') this.discoveryError = refusalOf(response.statusCode, body);
    return { headers, body: body as T, status: response.statusCode };
  }

  /**
   * The OAuth error of the last discovery (GET) answer, if it was one. MSAL reports a refused
   * discovery document only as `endpoints_resolution_error`, which hides e.g. AADSTS90002 (unknown
   * tenant) behind what reads like an outage.
   */
  lastDiscoveryError(): { error: string; description: string } | undefined {
    return this.discoveryError;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function refusalOf(status: number, body: unknown): { error: string; description: string } | undefined {
  if (status < 400 || status >= 500 || typeof body !== 'object' || body === null) return undefined;
  const { error, error_description: description } = body as Record<string, unknown>;
  if (typeof error !== 'string') return undefined;
  return { error, description: typeof description === 'string' ? description : '' };
}
