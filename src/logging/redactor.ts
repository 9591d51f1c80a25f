/**
 * The one choke point for keeping secrets and personal data out of everything the process writes
 * (invariant I11). The logger passes every serialized line through {@link Redactor.scrub}; error
 * messages shown by the CLI and HTTP API go through it too.
 *
 * Two layers:
 * - known secret values (client secrets, tokens, keys, admin token) are registered when they are
 *   resolved and replaced wherever they appear, even inside other strings;
 * - patterns for personal data and credentials that were never registered: e-mail addresses,
 *   bearer tokens, JWTs, phone-like numbers in well-known fields.
 */
const emailPattern = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const bearerPattern = /(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi;
const jwtPattern = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;

/** Keys whose values are always replaced, whatever they hold. Compared case-insensitively. */
export const sensitiveKeys = [
  'authorization',
  'x-api-key',
  'cookie',
  'set-cookie',
  'password',
  'passphrase',
  'secret',
  'clientsecret',
  'client_secret',
  'privatekey',
  'access_token',
  'accesstoken',
  'refresh_token',
  'token',
  'admintoken',
  'email',
  'emailaddress1',
  'emailaddress2',
  'emailaddress3',
  'firstname',
  'lastname',
  'middlename',
  'fullname',
  'mobilephone',
  'telephone1',
  'telephone2',
  'telephone3',
  'phone',
  'birthdate',
  'payload',
  'body',
] as const;

export const REDACTED = '[redacted]';

export class Redactor {
  private readonly secrets = new Set<string>();

  /** Register a secret value so it never appears in output. Values shorter than 4 characters are ignored. */
  addSecret(value: string | undefined | null): void {
    if (value && value.length >= 4) this.secrets.add(value);
  }

  /** Replace secrets and personal data in a serialized string. */
  scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return out
      .replace(jwtPattern, REDACTED)
      .replace(bearerPattern, `$1${REDACTED}`)
      .replace(emailPattern, '[email]');
  }
}
