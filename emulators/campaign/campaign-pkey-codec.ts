import { createCipheriv, createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Opaque keys as Campaign hands them out: PKeys (`@…`) and the `_lineStart` cursors inside
 * `next.href`. They are encrypted (AES-256-CBC with a synthetic IV derived from the plain text),
 * so they are stable for a record, not guessable, and a malformed one is told apart from one that
 * decodes but points at nothing — the real service answers those differently (500 XTK-170036
 * versus 404 RST-360011).
 */
export class CampaignPKeyCodec {
  private readonly key: Buffer;
  private readonly macKey: Buffer;

  constructor(secret: string) {
    this.key = createHash('sha256').update(`pkey:${secret}`).digest();
    this.macKey = createHash('sha256').update(`mac:${secret}`).digest();
  }

  /** The PKey of record `id` of `resource`. */
  encodeRecord(resource: string, id: number): string {
    return this.seal(`R:${resource}:${id}`);
  }

  /** The record a PKey names, or null when the string is not a PKey this service issued. */
  decodeRecord(pkey: string): { resource: string; id: number } | null {
    const plain = this.open(pkey);
    const match = plain === null ? null : /^R:([A-Za-z0-9]+):(\d+)$/.exec(plain);
    if (!match) return null;
    return { resource: match[1]!, id: Number(match[2]) };
  }

  /** An opaque `_lineStart` cursor for a collection offset. */
  encodeCursor(offset: number): string {
    return this.seal(`L:${offset}`);
  }

  decodeCursor(cursor: string): number | null {
    const plain = this.open(cursor);
    const match = plain === null ? null : /^L:(\d+)$/.exec(plain);
    return match ? Number(match[1]) : null;
  }

  private seal(plain: string): string {
    const iv = createHmac('sha256', this.macKey).update(plain).digest().subarray(0, 16);
    const cipher = createCipheriv('aes-256-cbc', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `@${Buffer.concat([iv, body]).toString('base64url')}`;
  }

  private open(token: string): string | null {
    if (!token.startsWith('@')) return null;
    const raw = Buffer.from(token.slice(1), 'base64url');
    if (raw.length < 32 || raw.length % 16 !== 0) return null;
    const iv = raw.subarray(0, 16);
    try {
      const decipher = createDecipheriv('aes-256-cbc', this.key, iv);
      const plain = Buffer.concat([decipher.update(raw.subarray(16)), decipher.final()]).toString('utf8');
      const expected = createHmac('sha256', this.macKey).update(plain).digest().subarray(0, 16);
      return timingSafeEqual(expected, iv) ? plain : null;
    } catch {
      return null;
    }
  }
}
