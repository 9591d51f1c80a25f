import { REDACTED } from '../logging/redactor.js';
import { isSecret } from './secret.js';

/**
 * A plain copy of a resolved configuration for showing (`config show`, `GET /api/config`): each
 * secret becomes `[redacted] (env:NAME)`, naming only its source (`[inline]` for literals such as an
 * alert webhook URL written in the file).
 */
export function toPrintableConfig(value: unknown): unknown {
  if (isSecret(value)) return `${REDACTED} (${value.source})`;
  if (Array.isArray(value)) return value.map(toPrintableConfig);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, toPrintableConfig(child)]));
  return value;
}
