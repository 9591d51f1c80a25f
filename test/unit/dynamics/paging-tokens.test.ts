import { describe, expect, it } from 'vitest';
import {
  encodeQueryValue,
  formatDeltaToken,
  formatSkipToken,
  parseDeltaToken,
  parseSkipToken,
  type PagingCookie,
} from '../../../emulators/dynamics/odata/paging-tokens.js';

describe('delta tokens', () => {
  it('use the documented version!timestamp shape and URL encoding', () => {
    const token = formatDeltaToken({ version: 919042, issuedAt: Date.UTC(2017, 7, 22, 8, 10, 44) });
    expect(token).toBe('919042!08/22/2017 08:10:44');
    expect(encodeQueryValue(token)).toBe('919042%2108%2f22%2f2017%2008%3a10%3a44');
    expect(parseDeltaToken(token)).toEqual({ version: 919042, issuedAt: Date.UTC(2017, 7, 22, 8, 10, 44) });
  });

  it('rejects tokens that are not in that shape', () => {
    expect(() => parseDeltaToken('abc')).toThrow('The delta token is not valid.');
  });
});

describe('skip tokens', () => {
  it('round-trip a paging cookie and reject tampered ones', () => {
    const cookie: PagingCookie = {
      page: 3,
      after: 1234,
      offset: 0,
      snapshot: 2000,
      since: 900,
      phase: 'd',
      issuedAt: 1_700_000_000_000,
      tracking: true,
    };
    const text = formatSkipToken(cookie);
    expect(text).toMatch(/^<cookie pagenumber="3" pagingcookie="[^"]+" istracking="True" \/>$/);
    expect(parseSkipToken(text)).toEqual(cookie);
    expect(() => parseSkipToken('<cookie pagenumber="2" />')).toThrow('paging cookie is not valid');
  });
});
