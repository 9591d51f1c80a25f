import { AuthError, ConfidentialClientApplication, LogLevel } from '@azure/msal-node';
import type { RemoteErrorCode } from '../../core/error-catalogue.js';
import { systemClock } from '../../core/clock.js';
import { ConnectorError } from '../../core/errors.js';
import type { ResolvedDynamicsClientOptions } from './dynamics-client-options.js';
import { UndiciMsalNetworkClient } from './undici-msal-network-client.js';

/** What the Web API client needs from token acquisition (a seam for other token sources). */
export interface AccessTokenSource {
  /** A token valid for at least the refresh margin; fetched once for concurrent callers. */
  getToken(): Promise<string>;
  /** The Web API rejected `token` (401): forget it so the next call fetches a new one. */
  invalidate(token: string): void;
  close(): Promise<void>;
}

/** Errors from Entra that retrying with the same configuration cannot fix, and their codes. */
const permanentErrorCodes: ReadonlyMap<string, RemoteErrorCode> = new Map([
  ['invalid_client', 'ENTRA_INVALID_CLIENT'],
  ['unauthorized_client', 'ENTRA_UNAUTHORIZED_CLIENT'],
  ['invalid_scope', 'ENTRA_INVALID_SCOPE'],
  ['invalid_resource', 'ENTRA_INVALID_RESOURCE'],
  ['invalid_request', 'ENTRA_INVALID_REQUEST'],
  ['unsupported_grant_type', 'ENTRA_UNSUPPORTED_GRANT_TYPE'],
  ['invalid_grant', 'ENTRA_INVALID_GRANT'],
  // The discovery document's answer for an unknown tenant (AADSTS90002).
  ['invalid_tenant', 'ENTRA_INVALID_REQUEST'],
]);

interface CachedToken {
  token: string;
  /** On the injected clock. */
  expiresAt: number;
  lifetimeMs: number;
}

/**
 * Client-credentials tokens from Entra ID through `@azure/msal-node`: authority
 * `${authorityHost}/${tenantId}` with `knownAuthorities` set to that host (no cloud instance
 * discovery, so a private authority such as the emulator works), scope `${url}/.default`, and a
 * network client that trusts the configured CA for this connection only. The token is cached and
 * refreshed single-flight shortly before it expires (5 minutes, or a quarter of a short lifetime).
 */
export class DynamicsTokenProvider implements AccessTokenSource {
  private readonly msal: ConfidentialClientApplication;
  private readonly networkClient: UndiciMsalNetworkClient;
  private readonly scope: string;
  private cached: CachedToken | undefined;
  private pending: Promise<CachedToken> | undefined;
  private acquisitions = 0;

  constructor(private readonly options: ResolvedDynamicsClientOptions) {
    this.networkClient = new UndiciMsalNetworkClient(options.caCert, options.timeoutMs);
    this.scope = `${options.origin}/.default`;
    this.msal = new ConfidentialClientApplication({
      auth: {
        clientId: options.clientId,
        authority: `${options.authorityHost}/${options.tenantId}`,
        knownAuthorities: [new URL(options.authorityHost).host],
        ...options.credential.toMsalAuth(),
      },
      system: {
        networkClient: this.networkClient,
        loggerOptions: {
          logLevel: LogLevel.Error,
          piiLoggingEnabled: false,
          loggerCallback: () => undefined,
        },
      },
    });
  }

  /** How many tokens were fetched from Entra (for tests and metrics). */
  get tokensAcquired(): number {
    return this.acquisitions;
  }

  async getToken(): Promise<string> {
    const now = this.options.clock.now();
    const cached = this.cached;
    if (cached) {
      const margin = Math.min(300_000, cached.lifetimeMs / 4);
      if (now < cached.expiresAt - margin) return cached.token;
    }
    this.pending ??= this.acquire().finally(() => {
      this.pending = undefined;
    });
    return (await this.pending).token;
  }

  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async acquire(): Promise<CachedToken> {
    let result;
    try {
      // Our cache decides when to refresh; MSAL's own cache would hand back a revoked token.
      result = await this.msal.acquireTokenByClientCredential({ scopes: [this.scope], skipCache: true });
    } catch (error) {
      throw this.translate(error);
    }
    if (!result?.accessToken) {
      throw new ConnectorError(
        'entra',
        'ENTRA_NO_TOKEN',
        `Entra ID returned no access token for client ${this.options.clientId}`,
      );
    }
    // MSAL states the expiry as an instant of the machine's wall clock (its own now + expires_in):
    // that clock turns it back into a lifetime, which then runs on the injected clock.
    const lifetimeMs = result.expiresOn
      ? Math.max(0, result.expiresOn.getTime() - systemClock.now())
      : 3_600_000;
    const now = this.options.clock.now();
    this.acquisitions++;
    this.cached = { token: result.accessToken, expiresAt: now + lifetimeMs, lifetimeMs };
    return this.cached;
  }

  private translate(error: unknown): ConnectorError {
    const refused = this.networkClient.lastDiscoveryError();
    if (error instanceof AuthError && error.errorCode === 'endpoints_resolution_error' && refused) {
      return new ConnectorError(
        'entra',
        permanentErrorCodes.get(refused.error) ?? 'ENTRA_INVALID_REQUEST',
        `Token request for client ${this.options.clientId} at ${this.options.authorityHost}/${this.options.tenantId} failed: the authority refused its discovery document (${refused.error}): ${refused.description.split(/\r?\n/)[0] ?? ''}`,
        { cause: error },
      );
    }
    if (error instanceof AuthError) {
      const code = error.errorCode || 'unknown';
      return new ConnectorError(
        'entra',
        permanentErrorCodes.get(code) ?? 'ENTRA_UNAVAILABLE',
        `Token request for client ${this.options.clientId} at ${this.options.authorityHost}/${this.options.tenantId} failed (${code}): ${error.errorMessage.split('\n')[0] ?? ''}`,
        { cause: error },
      );
    }
    return new ConnectorError(
      'entra',
      'ENTRA_UNAVAILABLE',
      `Token request for client ${this.options.clientId} failed`,
      { cause: error },
    );
  }

  async close(): Promise<void> {
    await this.networkClient.close();
  }
}
