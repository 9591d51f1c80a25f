import { createHash, type Hash } from 'node:crypto';
import type { OptOutErrorCode } from '../../core/error-catalogue.js';

/** What one pass over an export file found before any line of it is applied. */
export interface ExportScan {
  sizeBytes: number;
  /** SHA-256 of the content, lower-case hex. */
  checksum: string;
  /** SHA-256 of the first N bytes for each N asked for (earlier, shorter versions of the file). */
  prefixChecksums: ReadonlyMap<number, string>;
  /** Lines ended by a newline. */
  lines: number;
  /** False when the last line has no newline: the file ends inside a line. */
  endsWithNewline: boolean;
  /** The last line when it is a trailer `#EOF;N` (N data lines between header and trailer). */
  trailer: { line: number; declared: number } | null;
}

/** Longest line looked at as a possible trailer. */
const maxTrailerBytes = 64;
const trailerPattern = /^#EOF;(\d{1,15})\r?$/;
const newline = 0x0a;

/**
 * One streaming pass over an export file: size, checksum (and checksums of the prefixes asked for),
 * how many lines end with a newline, whether the last one does, and the trailer if the last line is
 * one. Holds no line: memory is bounded whatever the file holds.
 */
export async function scanOptOutExport(
  bytes: AsyncIterable<Uint8Array>,
  options: { prefixSizes?: readonly number[] } = {},
): Promise<ExportScan> {
  const hash = createHash('sha256');
  const pending = [...new Set(options.prefixSizes ?? [])].filter((n) => n >= 0).sort((a, b) => a - b);
  const prefixChecksums = new Map<number, string>();
  const digestPrefix = (h: Hash): string => h.copy().digest('hex');
  let size = 0;
  let lines = 0;
  let lastByte = -1;
  // The current line's first bytes (up to maxTrailerBytes + 1) and those of the last finished one.
  let head: number[] = [];
  let lastHead: number[] | null = null;
  for await (const chunk of bytes) {
    let offset = 0;
    // Hash up to each prefix boundary that falls in this chunk, then the rest.
    while (pending.length > 0 && pending[0]! <= size + chunk.byteLength) {
      const boundary = pending.shift()!;
      const upTo = boundary - size;
      if (upTo > offset) hash.update(chunk.subarray(offset, upTo));
      offset = Math.max(offset, upTo);
      prefixChecksums.set(boundary, digestPrefix(hash));
    }
    if (offset < chunk.byteLength) hash.update(chunk.subarray(offset));
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(newline, start);
      const stop = end === -1 ? chunk.byteLength : end;
      for (let i = start; i < stop && head.length <= maxTrailerBytes; i++) head.push(chunk[i]!);
      if (end === -1) break;
      lines += 1;
      lastHead = head.length <= maxTrailerBytes ? head : null;
      head = [];
      start = end + 1;
    }
    size += chunk.byteLength;
    if (chunk.byteLength > 0) lastByte = chunk[chunk.byteLength - 1]!;
  }
  for (const boundary of pending) if (boundary === size) prefixChecksums.set(boundary, digestPrefix(hash));
  const endsWithNewline = size === 0 || lastByte === newline;
  const match =
    endsWithNewline && lastHead ? trailerPattern.exec(Buffer.from(lastHead).toString('latin1')) : null;
  return {
    sizeBytes: size,
    checksum: hash.digest('hex'),
    prefixChecksums,
    lines,
    endsWithNewline,
    trailer: match ? { line: lines, declared: Number(match[1]) } : null,
  };
}

/** Why a file is not read (yet): `OPTOUT_FILE_…` codes, also the file ledger's `errorCode`. */
export type OptOutFileCode = Extract<OptOutErrorCode, `OPTOUT_FILE_${string}`>;

/** What to do with a scanned file. */
export type ExportVerdict =
  | { kind: 'read'; trailerLine: number | null }
  | { kind: 'held'; code: Extract<OptOutFileCode, 'OPTOUT_FILE_INCOMPLETE' | 'OPTOUT_FILE_NO_TRAILER'> }
  | {
      kind: 'failed';
      code: Extract<OptOutFileCode, 'OPTOUT_FILE_EMPTY' | 'OPTOUT_FILE_LINE_COUNT_MISMATCH'>;
    };

/**
 * Decide from a scan whether a file is whole enough to read: an empty file fails; a file whose last
 * line has no newline is held (incomplete); a trailer must count exactly the data lines between the
 * header and itself; without a trailer the file is held when `requireTrailer`, else read.
 */
export function assessExportScan(scan: ExportScan, options: { requireTrailer: boolean }): ExportVerdict {
  if (scan.sizeBytes === 0) return { kind: 'failed', code: 'OPTOUT_FILE_EMPTY' };
  if (!scan.endsWithNewline) return { kind: 'held', code: 'OPTOUT_FILE_INCOMPLETE' };
  if (scan.trailer) {
    const dataLines = scan.trailer.line - 2;
    return scan.trailer.declared === dataLines
      ? { kind: 'read', trailerLine: scan.trailer.line }
      : { kind: 'failed', code: 'OPTOUT_FILE_LINE_COUNT_MISMATCH' };
  }
  if (options.requireTrailer) return { kind: 'held', code: 'OPTOUT_FILE_NO_TRAILER' };
  return { kind: 'read', trailerLine: null };
}
