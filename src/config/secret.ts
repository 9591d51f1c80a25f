import { ConfigError } from '../core/errors.js';
import { REDACTED } from '../logging/redactor.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * A resolved secret (client secret, token, key, password). The value is reachable only through
 * {@link Secret.reveal}; every way of printing it (string conversion, JSON, `util.inspect`, template
 * literals) yields `[redacted]`, so a config object can be logged or shown without leaking it.
 */
export class Secret {
  readonly #value: string | undefined;
  /** Where the value came from, e.g. `env:CAMPAIGN_CLIENT_SECRET` (never the value itself). */
  readonly source: string;

  /** `value` undefined: the reference was not resolved (config loaded without secrets). */
  constructor(value: string | undefined, source: string) {
    this.#value = value;
    this.source = source;
    Object.freeze(this);
  }

  /** Whether the value was read (false when the config was loaded with `resolveSecrets: false`). */
  get isResolved(): boolean {
    return this.#value !== undefined;
  }

  /**
   * The secret value. Call it only at the point of use (an HTTP header, a TLS/SSH handshake).
   * @throws ConfigError `CONFIG_SECRET_UNRESOLVED` when the value was never read.
   */
  reveal(): string {
    if (this.#value === undefined)
      throw new ConfigError(`secret ${this.source} was not resolved (configuration loaded without secrets)`, {
        code: 'CONFIG_SECRET_UNRESOLVED',
      });
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspectSymbol](): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }
}

/** True when `value` is a {@link Secret}. */
export function isSecret(value: unknown): value is Secret {
  return value instanceof Secret;
}
