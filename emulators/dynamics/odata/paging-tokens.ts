import { badRequest, dataverseErrorCodes } from '../dataverse-error.js';

/**
 * The opaque tokens the emulator hands out: `$deltatoken` in the documented `version!timestamp`
 * shape (`919042!08/22/2017 08:10:44`) and `$skiptoken` paging cookies in an XML-ish shape like the
 * real service's. Clients must not interpret either.
 */

/** URL-encode as .NET's `HttpUtility.UrlEncode` does in the documented links: lower-case hex, `!` encoded. */
export function encodeQueryValue(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)
    .replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

export interface DeltaToken {
  version: number;
  /** When the token was minted (ms since epoch). */
  issuedAt: number;
}

export function formatDeltaToken(token: DeltaToken): string {
  const d = new Date(token.issuedAt);
  const stamp = `${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${token.version}!${stamp}`;
}

export function parseDeltaToken(text: string): DeltaToken {
  const match = /^(\d+)!(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!match) throw badRequest('The delta token is not valid.', dataverseErrorCodes.invalidArgument);
  const [version = 0, month = 1, day = 1, year = 1970, hh = 0, mm = 0, ss = 0] = match.slice(1).map(Number);
  return { version, issuedAt: Date.UTC(year, month - 1, day, hh, mm, ss) };
}

/** Where a paged read stopped, and what it was reading. */
export interface PagingCookie {
  /** Page number of the next page (1-based, cosmetic like the real cookie). */
  page: number;
  /** Last version returned (version-ordered scans). */
  after: number;
  /** Offset into a sorted result ($orderby queries). */
  offset: number;
  /** Upper version bound of a change-tracking snapshot, or 0 for plain reads. */
  snapshot: number;
  /** Delta token version the read started from (-1 = initial sync, no token). */
  since: number;
  /** Phase of a delta read: upserts first, then deletes. */
  phase: 'u' | 'd';
  /** When the snapshot was taken (for expiry of tracking reads). */
  issuedAt: number;
  /** Whether the read is a change-tracking read. */
  tracking: boolean;
}

export function formatSkipToken(cookie: PagingCookie): string {
  const inner = `<cookie page="${cookie.page}"><v last="${cookie.after}" offset="${cookie.offset}" snapshot="${cookie.snapshot}" since="${cookie.since}" phase="${cookie.phase}" at="${cookie.issuedAt}" tracking="${cookie.tracking ? 1 : 0}" /></cookie>`;
  return `<cookie pagenumber="${cookie.page}" pagingcookie="${encodeQueryValue(encodeQueryValue(inner))}" istracking="${cookie.tracking ? 'True' : 'False'}" />`;
}

export function parseSkipToken(text: string): PagingCookie {
  const outer = /pagingcookie="([^"]*)"/.exec(text);
  const inner = outer ? safeDecode(safeDecode(outer[1] ?? '')) : '';
  const attr = (name: string): string | undefined => new RegExp(`${name}="([^"]*)"`).exec(inner)?.[1];
  const page = Number(/<cookie page="(\d+)"/.exec(inner)?.[1]);
  const cookie: PagingCookie = {
    page,
    after: Number(attr('last')),
    offset: Number(attr('offset')),
    snapshot: Number(attr('snapshot')),
    since: Number(attr('since')),
    phase: attr('phase') === 'd' ? 'd' : 'u',
    issuedAt: Number(attr('at')),
    tracking: attr('tracking') === '1',
  };
  const numbers = [cookie.page, cookie.after, cookie.offset, cookie.snapshot, cookie.since, cookie.issuedAt];
  if (numbers.some((n) => !Number.isFinite(n))) {
    throw badRequest('The $skiptoken paging cookie is not valid.', dataverseErrorCodes.invalidArgument);
  }
  return cookie;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return '';
  }
}
