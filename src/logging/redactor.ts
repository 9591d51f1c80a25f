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
const basicPattern = /(basic\s+)[A-Za-z0-9+/=]{6,}/gi;
/** `scheme://user:password@host` — the password part. */
const urlCredentialsPattern = /(\/\/[^/\s:@"']+:)[^/\s@"']+@/g;

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

/** Keys whose values are replaced when the key merely contains one of these words. */
const sensitiveKeyFragments = [
  'secret',
  'password',
  'passphrase',
  'token',
  'authorization',
  'cookie',
  'apikey',
  'privatekey',
  'credential',
] as const;

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_\s]/g, '');
}

const sensitiveKeySet: ReadonlySet<string> = new Set(sensitiveKeys.map(normaliseKey));

/**
 * Whether a field name holds a secret or personal data, whatever its case or separators
 * (`emailAddress1`, `X-Api-Key`, `client_secret`, `webhookToken`).
 */
export function isSensitiveKey(key: string): boolean {
  const normalised = normaliseKey(key);
  return sensitiveKeySet.has(normalised) || isCredentialKey(normalised);
}

function isCredentialKey(normalised: string): boolean {
  return sensitiveKeyFragments.some((word) => normalised.includes(word));
}

/**
 * Replace the values of sensitive keys at any depth. In flat header lists (`[name, value, …]`, as
 * undici's raw headers) the value after a credential header name goes too; lists of field names
 * (`['firstname', 'email']`) are left alone.
 */
function redactSensitiveFields(value: unknown): unknown {
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    value.forEach((item, index) => {
      const previous: unknown = value[index - 1];
      out.push(
        typeof previous === 'string' && isCredentialKey(normaliseKey(previous))
          ? REDACTED
          : redactSensitiveFields(item),
      );
    });
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value))
      out[key] = isSensitiveKey(key) && child !== null ? REDACTED : redactSensitiveFields(child);
    return out;
  }
  return value;
}

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
      .replace(basicPattern, `$1${REDACTED}`)
      .replace(urlCredentialsPattern, `$1${REDACTED}@`)
      .replace(emailPattern, '[email]');
  }

  /**
   * Scrub one serialized JSON log line: values of sensitive keys are replaced at any depth and in
   * any spelling (`firstName`, `Authorization`), then {@link Redactor.scrub} runs on the result.
   * A line that is not JSON is scrubbed as text.
   */
  scrubLogLine(line: string): string {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return this.scrub(line);
    }
    const ending = line.endsWith('\n') ? '\n' : '';
    return this.scrub(JSON.stringify(redactSensitiveFields(parsed))) + ending;
  }
}
