import { describe, expect, it } from 'vitest';
import { isSensitiveKey, Redactor } from '../../../src/logging/redactor.js';

describe('isSensitiveKey', () => {
  it.each([
    'firstName',
    'emailAddress1',
    'X-Api-Key',
    'Authorization',
    'client_secret',
    'webhookToken',
    'DB_PASSWORD',
  ])('%s is sensitive', (key) => {
    expect(isSensitiveKey(key)).toBe(true);
  });

  it.each(['contactid', 'table', 'code', 'status', 'blackListEmail'])('%s is not', (key) => {
    expect(isSensitiveKey(key)).toBe(false);
  });
});

describe('Redactor.scrubLogLine', () => {
  const redactor = new Redactor();
  redactor.addSecret('registered-secret-value');

  it('replaces sensitive fields at any depth and in any spelling', () => {
    const line = `${JSON.stringify({
      a: { b: { c: { d: { lastName: 'Quixotefield', keep: 'visible' } } } },
      headers: { 'Proxy-Authorization': 'Digest abc' },
    })}\n`;
    const out = redactor.scrubLogLine(line);
    expect(out.endsWith('\n')).toBe(true);
    expect(JSON.parse(out)).toEqual({
      a: { b: { c: { d: { lastName: '[redacted]', keep: 'visible' } } } },
      headers: { 'Proxy-Authorization': '[redacted]' },
    });
  });

  it('redacts the value after a credential name in flat header lists, not lists of field names', () => {
    const out = JSON.parse(
      redactor.scrubLogLine(
        JSON.stringify({
          rawHeaders: ['authorization', 'Basic dXNlcjpwYXNz'],
          fields: ['firstname', 'lastname'],
        }),
      ),
    ) as unknown;
    expect(out).toEqual({ rawHeaders: ['authorization', '[redacted]'], fields: ['firstname', 'lastname'] });
  });

  it('scrubs registered secrets, e-mail addresses, basic and URL credentials inside free text', () => {
    const text =
      'registered-secret-value for ann@example.org via Basic dXNlcjpwYXNz and postgres://u:pw@db/x';
    expect(redactor.scrub(text)).toBe(
      '[redacted] for [email] via Basic [redacted] and postgres://u:[redacted]@db/x',
    );
  });

  it('scrubs a line that is not JSON as text', () => {
    expect(redactor.scrubLogLine('plain registered-secret-value\n')).toBe('plain [redacted]\n');
  });
});
