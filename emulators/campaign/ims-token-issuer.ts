import { randomBytes, timingSafeEqual } from 'node:crypto';

/** What `POST /ims/token/v3` answers. */
export interface TokenResponse {
  status: number;
  body: Record<string, unknown>;
}

interface IssuedToken {
  clientId: string;
  expiresAt: number;
  revoked: boolean;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Adobe IMS OAuth Server-to-Server, client-credentials grant only: issues opaque bearer tokens
 * that live `lifetimeSec` of emulated time and can be expired or revoked from the admin API.
 */
export class ImsTokenIssuer {
  private readonly tokens = new Map<string, IssuedToken>();
  issuedCount = 0;

  constructor(
    private readonly options: { clientId: string; clientSecret: string; lifetimeSec: number },
    private readonly now: () => number,
  ) {}

  /** Handle the form fields of a token request. */
  issue(form: Record<string, unknown>): TokenResponse {
    if (form.grant_type !== 'client_credentials')
      return {
        status: 400,
        body: { error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials' },
      };
    if (typeof form.client_id !== 'string' || form.client_id !== this.options.clientId)
      return {
        status: 400,
        body: { error: 'invalid_client', error_description: 'invalid client_id parameter' },
      };
    if (typeof form.client_secret !== 'string' || !sameSecret(form.client_secret, this.options.clientSecret))
      return {
        status: 401,
        body: { error: 'invalid_client', error_description: 'invalid client_secret parameter' },
      };
    this.prune();
    const token = `eyJ${randomBytes(36).toString('base64url')}`;
    this.tokens.set(token, {
      clientId: form.client_id,
      expiresAt: this.now() + this.options.lifetimeSec * 1000,
      revoked: false,
    });
    this.issuedCount++;
    return {
      status: 200,
      body: { access_token: token, token_type: 'bearer', expires_in: this.options.lifetimeSec },
    };
  }

  /** True when `authorization` carries a live token issued to the client named by `apiKey`. */
  isAuthorized(authorization: string | undefined, apiKey: string | undefined): boolean {
    if (!authorization || !apiKey) return false;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    const issued = match ? this.tokens.get(match[1]!) : undefined;
    return (
      issued !== undefined && !issued.revoked && issued.expiresAt > this.now() && issued.clientId === apiKey
    );
  }

  /** Revoke every token issued so far (the next API call gets 401013). */
  revokeAll(): number {
    for (const token of this.tokens.values()) token.revoked = true;
    return this.tokens.size;
  }

  /** Make every token issued so far expire now. */
  expireAll(): number {
    const now = this.now();
    for (const token of this.tokens.values()) token.expiresAt = Math.min(token.expiresAt, now);
    return this.tokens.size;
  }

  clear(): void {
    this.tokens.clear();
  }

  private prune(): void {
    const now = this.now();
    for (const [token, issued] of this.tokens)
      if (issued.expiresAt <= now || issued.revoked) this.tokens.delete(token);
  }
}
