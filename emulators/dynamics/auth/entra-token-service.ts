import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { SignJWT, compactVerify, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import type { EmulatorClock } from '../../shared/emulator-clock.js';

/** Options of the emulated Entra ID tenant. */
export interface EntraTokenServiceOptions {
  clientId: string;
  clientSecret: string;
  /** Access-token lifetime (`expires_in`). */
  tokenLifetimeSec: number;
  /** Origin of the emulator (authority host and Dataverse org URL are the same server). */
  origin: string;
  /** HTTP status for a refused client credential (`invalid_client`; Entra documents 401). */
  invalidClientStatus: number;
  /**
   * Tenants that exist (ids or domain names, compared case-insensitively); any other tenant is
   * answered with AADSTS90002. Undefined: every tenant exists.
   */
  tenants?: readonly string[] | undefined;
  clock: EmulatorClock;
}

/** The identity behind a valid bearer token. */
export interface AuthenticatedUser {
  /** Object id of the application user: the key for service-protection limits. */
  userId: string;
  clientId: string;
  tenantId: string;
  tokenId: string;
}

export type TokenCheck =
  | { ok: true; user: AuthenticatedUser }
  | { ok: false; reason: 'missing' | 'invalid' | 'expired' | 'revoked'; message: string };

interface IssuedToken {
  issuedAtMs: number;
  expiresAtMs: number;
  user: AuthenticatedUser;
}

/** Deterministic GUID-shaped id from any text (tenant names, client ids). */
export function guidFrom(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function aadError(
  status: number,
  error: string,
  code: number,
  description: string,
  now: number,
): { status: number; body: Record<string, unknown> } {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date(now)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

/**
 * Entra ID client-credentials token endpoint and the checks the Web API makes on bearer tokens.
 * Tokens are RS256 JWTs; the service remembers every token it issued so that revocation and
 * forced expiry take effect immediately (with millisecond precision, unlike `iat`).
 */
export class EntraTokenService {
  private readonly issued = new Map<string, IssuedToken>();
  private readonly verified = new Map<string, string>();
  private revokedBefore = 0;
  private expiredBefore = 0;
  private readonly revokedIds = new Set<string>();
  private issuedCount = 0;

  private constructor(
    private readonly options: EntraTokenServiceOptions,
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    private readonly publicJwk: JWK,
  ) {}

  static async create(options: EntraTokenServiceOptions): Promise<EntraTokenService> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    return new EntraTokenService(options, privateKey, publicKey, {
      ...jwk,
      kid: 'emulator-key-1',
      use: 'sig',
      alg: 'RS256',
    });
  }

  get tokensIssued(): number {
    return this.issuedCount;
  }

  setLifetime(seconds: number): void {
    this.options.tokenLifetimeSec = seconds;
  }

  /** The tenant's OpenID configuration, as `@azure/msal-node` reads it for endpoint discovery. */
  openIdConfiguration(tenant: string): Record<string, unknown> {
    const base = `${this.options.origin}/${tenant}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${this.options.origin}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid', 'appid'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'emulator.local',
      cloud_graph_host_name: 'graph.emulator.local',
      msgraph_host: 'graph.emulator.local',
    };
  }

  /** Whether `tenant` exists in this emulated cloud. */
  knowsTenant(tenant: string): boolean {
    const known = this.options.tenants;
    return known === undefined || known.some((t) => t.toLowerCase() === tenant.toLowerCase());
  }

  /**
   * The answer to any endpoint of an unknown tenant: `400` AADSTS90002. The token endpoint says
   * `invalid_request`; the discovery document says `invalid_tenant` (as recorded from Entra).
   */
  tenantNotFound(
    tenant: string,
    error: 'invalid_request' | 'invalid_tenant',
  ): {
    status: number;
    body: Record<string, unknown>;
  } {
    return aadError(
      400,
      error,
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
      this.options.clock.now(),
    );
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  /** Handle `POST /{tenant}/oauth2/v2.0/token` with a form body. */
  async issueToken(
    tenant: string,
    form: URLSearchParams,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const now = this.options.clock.now();
    if (!this.knowsTenant(tenant)) return this.tenantNotFound(tenant, 'invalid_request');
    const grantType = form.get('grant_type');
    if (!grantType) {
      return aadError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'grant_type'.",
        now,
      );
    }
    if (grantType !== 'client_credentials') {
      return aadError(
        400,
        'unsupported_grant_type',
        70003,
        `The app requested an unsupported grant type '${grantType}'.`,
        now,
      );
    }
    const clientId = form.get('client_id');
    if (!clientId) {
      return aadError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'client_id'.",
        now,
      );
    }
    if (clientId !== this.options.clientId) {
      return aadError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
        now,
      );
    }
    const secret = form.get('client_secret');
    if (form.get('client_assertion')) {
      return aadError(
        this.options.invalidClientStatus,
        'invalid_client',
        700027,
        'Client assertion failed signature validation. The emulator accepts client secrets only.',
        now,
      );
    }
    if (!secret) {
      return aadError(
        this.options.invalidClientStatus,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        now,
      );
    }
    if (!sameSecret(secret, this.options.clientSecret)) {
      return aadError(
        this.options.invalidClientStatus,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
        now,
      );
    }
    const scope = form.get('scope');
    if (!scope) {
      return aadError(
        400,
        'invalid_request',
        90014,
        "The required field 'scope' is missing from the credential. Ensure that you have all the necessary parameters for the login request.",
        now,
      );
    }
    const scopes = scope.split(' ').filter((s) => s !== '');
    const resourceScope = scopes.find((s) => s.endsWith('/.default'));
    if (!resourceScope) {
      return aadError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
        now,
      );
    }
    const resource = resourceScope.slice(0, -'/.default'.length).replace(/\/+$/, '');
    if (resource.toLowerCase() !== this.options.origin.toLowerCase()) {
      return aadError(
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
        now,
      );
    }
    const lifetime = this.options.tokenLifetimeSec;
    const tenantId = /^[0-9a-f-]{36}$/i.test(tenant) ? tenant.toLowerCase() : guidFrom(`tenant:${tenant}`);
    const user: AuthenticatedUser = {
      userId: guidFrom(`app:${clientId}`),
      clientId,
      tenantId,
      tokenId: randomUUID(),
    };
    const nowSec = Math.floor(now / 1000);
    const token = await new SignJWT({
      appid: clientId,
      azp: clientId,
      oid: user.userId,
      tid: tenantId,
      idtyp: 'app',
      ver: '1.0',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'emulator-key-1' })
      .setIssuer(`${this.options.origin}/${tenant}/v2.0`)
      .setAudience(this.options.origin)
      .setSubject(user.userId)
      .setJti(user.tokenId)
      .setIssuedAt(nowSec)
      .setNotBefore(nowSec - 300)
      .setExpirationTime(nowSec + lifetime)
      .sign(this.privateKey);
    this.issued.set(user.tokenId, { issuedAtMs: now, expiresAtMs: now + lifetime * 1000, user });
    this.issuedCount++;
    return {
      status: 200,
      body: { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token },
    };
  }

  /** Check an `Authorization` header value. */
  async checkAuthorization(header: string | undefined): Promise<TokenCheck> {
    if (!header || !/^Bearer\s+/i.test(header)) {
      return { ok: false, reason: 'missing', message: 'The request does not carry a bearer token.' };
    }
    const token = header.replace(/^Bearer\s+/i, '').trim();
    let tokenId = this.verified.get(token);
    if (tokenId === undefined) {
      try {
        // Signature and audience only: lifetime, revocation and forced expiry are judged below
        // against the emulator clock with millisecond precision.
        const { payload } = await compactVerify(token, this.publicKey);
        const claims = JSON.parse(new TextDecoder().decode(payload)) as { aud?: unknown; jti?: unknown };
        if (claims.aud !== this.options.origin || typeof claims.jti !== 'string') throw new Error('claims');
        tokenId = claims.jti;
      } catch {
        return {
          ok: false,
          reason: 'invalid',
          message: 'The ticket specified for authentication is invalid',
        };
      }
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.set(token, tokenId);
    }
    const issued = this.issued.get(tokenId);
    if (!issued)
      return { ok: false, reason: 'invalid', message: 'The ticket specified for authentication is invalid' };
    const now = this.options.clock.now();
    if (this.revokedIds.has(tokenId) || issued.issuedAtMs <= this.revokedBefore) {
      return { ok: false, reason: 'revoked', message: 'The ticket specified for authentication is invalid' };
    }
    if (issued.expiresAtMs <= now || issued.issuedAtMs <= this.expiredBefore) {
      return { ok: false, reason: 'expired', message: 'The ticket specified for authentication has expired' };
    }
    return { ok: true, user: issued.user };
  }

  /** Revoke every token issued so far (or one token by id). */
  revoke(tokenId?: string): void {
    if (tokenId) this.revokedIds.add(tokenId);
    else this.revokedBefore = this.options.clock.now();
  }

  /** Make every token issued so far expired, as if their lifetime had passed. */
  expireAll(): void {
    this.expiredBefore = this.options.clock.now();
  }
}
