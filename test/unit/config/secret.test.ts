import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../../src/config/secret.js';
import { suggestClosest } from '../../../src/config/did-you-mean.js';

describe('Secret', () => {
  const secret = new Secret('canary-value-123', 'env:CANARY');

  it('reveals its value only on request', () => {
    expect(secret.reveal()).toBe('canary-value-123');
    expect(secret.source).toBe('env:CANARY');
  });

  it('prints as [redacted] in every usual way', () => {
    const printed = [
      String(secret),
      // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- implicit coercion is the point
      `${secret}`,
      // eslint-disable-next-line @typescript-eslint/restrict-plus-operands -- implicit coercion is the point
      secret + '',
      JSON.stringify({ secret }),
      inspect({ nested: { secret } }, { depth: 5 }),
      inspect(secret, { showHidden: true }),
      [secret].join(','),
    ].join('\n');
    expect(printed).not.toContain('canary-value-123');
    expect(printed).toContain('[redacted]');
  });

  it('is frozen', () => {
    expect(Object.isFrozen(secret)).toBe(true);
  });
});

describe('suggestClosest', () => {
  it.each([
    ['prot', ['host', 'port', 'adminToken'], 'port'],
    ['clientSecrt', ['clientId', 'clientSecret'], 'clientSecret'],
    ['MaxConcurrency', ['maxConcurrency', 'pageSize'], 'maxConcurrency'],
    ['somethingElse', ['host', 'port'], undefined],
  ])('%s → %s', (input, candidates, expected) => {
    expect(suggestClosest(input, candidates)).toBe(expected);
  });
});
