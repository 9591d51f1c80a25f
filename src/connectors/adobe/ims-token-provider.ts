import { systemClock, type Clock } from '../../core/clock.js';
import { isRecord } from '../../core/json.js';
import { ConnectorError } from '../../core/errors.js';
import { AdobeHttpTransport, TransportFailure } from './adobe-http-transport.js';

export interface ImsTokenProviderOptions {
  /** IMS base, e.g. `https://ims-na1.adobelogin.com`; the token endpoint is `/ims/token/v3`. */
  imsUrl: string;
  clientId: string;
  clientSecret: string;
  /** Comma-separated scopes of the Developer Console credential. @default none sent */
  scope?: string | undefined;
  /** PEM of a CA trusted for the IMS connection only (ignored when `transport` is given). */
  caCert?: string | undefined;
  /** Share a transport (and its connections) with an API client; closed by its owner. */
  transport?: AdobeHttpTransport;
  /** @default 30_000 */
  timeoutMs?: number;
  /**
   * Fetch a new token this long before the current one expires (Adobe: regenerate every 23 h of
   * 24), capped at half the token's lifetime. @default 3_600_000
   */
  refreshBeforeExpiryMs?: number;
  /** @default systemClock */
  clock?: Clock;
}

interface CachedToken {
  value: string;
  refreshAt: number;
  expiresAt: number;
}

/**
 * Adobe IMS OAuth Server-to-Server tokens (client credentials), cached and refreshed before they
 * expire. Concurrent callers share one in-flight request (single flight); {@link invalidate} drops
 * a token the API called invalid (401013) so the next caller fetches a fresh one.
 */
export class ImsTokenProvider {
  private readonly transport: AdobeHttpTransport;
  private readonly ownsTransport: boolean;
  private readonly clock: Clock;
  private cached: CachedToken | null = null;
  private inFlight: Promise<CachedToken> | null = null;
  /** Tokens fetched so far (for metrics and tests). */
  fetchCount = 0;

  constructor(private readonly options: ImsTokenProviderOptions) {
    this.ownsTransport = options.transport === undefined;
    this.transport =
      options.transport ??
      new AdobeHttpTransport({ caCert: options.caCert, timeoutMs: options.timeoutMs ?? 30_000 });
    this.clock = options.clock ?? systemClock;
  }

  /** A valid access token, from cache when fresh. */
  async getToken(): Promise<string> {
    const cached = this.cached;
    if (cached && this.clock.now() < cached.refreshAt) return cached.value;
    this.inFlight ??= this.fetchToken().finally(() => {
      this.inFlight = null;
    });
    return (await this.inFlight).value;
  }

  /** Forget `token` if it is the cached one (the API answered 401013 with it). */
  invalidate(token: string): void {
    if (this.cached?.value === token) this.cached = null;
  }

  /** When the cached token expires (ms since epoch), or null. */
  expiresAt(): number | null {
    return this.cached?.expiresAt ?? null;
  }

  async close(): Promise<void> {
    if (this.ownsTransport) await this.transport.close();
  }

  private async fetchToken(): Promise<CachedToken> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.options.clientId,
      client_secret: this.options.clientSecret,
    });
    if (this.options.scope) form.set('scope', this.options.scope);
    const url = `${this.options.imsUrl.replace(/\/+$/, '')}/ims/token/v3`;
    let answer;
    try {
      answer = await this.transport.send({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }),
      });
    } catch (error) {
      const kind = error instanceof TransportFailure ? error.kind : 'network';
      throw new ConnectorError(
        'ims',
        kind === 'timeout' ? 'IMS_TIMEOUT' : 'IMS_NETWORK',
        `IMS token request to ${url} failed: ${kind}`,
        { cause: error },
      );
    }
    if (answer.status !== 200) {
      const reason = readImsError(answer.text);
      const retryable = answer.status >= 500 || answer.status === 429;
      throw new ConnectorError(
        'ims',
        retryable ? `IMS_HTTP_${answer.status}` : 'IMS_AUTH',
        `IMS refused the client-credentials token request (HTTP ${answer.status}${reason ? `, ${reason}` : ''}); check the client id and secret`,
        { status: answer.status },
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch (error) {
      throw new ConnectorError('ims', 'IMS_BAD_RESPONSE', 'IMS answered 200 without a JSON body', {
        cause: error,
      });
    }
    if (!isRecord(body) || typeof body.access_token !== 'string' || typeof body.expires_in !== 'number')
      throw new ConnectorError('ims', 'IMS_BAD_RESPONSE', 'IMS answer lacks access_token or expires_in');
    const now = this.clock.now();
    const lifetimeMs = body.expires_in * 1000;
    const margin = Math.min(this.options.refreshBeforeExpiryMs ?? 3_600_000, lifetimeMs / 2);
    this.fetchCount++;
    this.cached = {
      value: body.access_token,
      expiresAt: now + lifetimeMs,
      refreshAt: now + lifetimeMs - margin,
    };
    return this.cached;
  }
}

/** `error` code of an IMS error body (never its description, which may echo input). */
function readImsError(text: string): string | null {
  try {
    const body: unknown = JSON.parse(text);
    return isRecord(body) && typeof body.error === 'string' ? body.error : null;
  } catch {
    return null;
  }
}
