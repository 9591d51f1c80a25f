/** One physical line of an export file. */
export interface ExportLine {
  /** 1-based line number (the header is line 1). */
  number: number;
  /**
   * The line's bytes without its newline; null when the line is longer than `maxLineBytes` (its
   * bytes were skipped, never held).
   */
  bytes: Buffer | null;
  /** Length in bytes without the newline, also when too long. */
  length: number;
  /** False for a last line that has no newline: the file ends inside it. */
  terminated: boolean;
}

/** What reading cost, for tests and benchmarks. */
export interface LineReaderStats {
  /** Most bytes of one unfinished line held at a time (never above `maxLineBytes`). */
  peakBufferedBytes: number;
}

export interface ReadExportLinesOptions {
  /** Longest line kept; a longer one is skipped to its newline and reported with `bytes: null`. */
  maxLineBytes: number;
  /** Filled in while reading. */
  stats?: LineReaderStats | undefined;
}

const newline = 0x0a;

/**
 * Split a byte stream into lines at `\n`, holding at most `maxLineBytes` of any line: memory is
 * bounded whatever the stream holds (a 600 MB "line" costs no more than a short one). Lines are
 * yielded as they complete; a line within one chunk is a view of that chunk (no copy), a line
 * across chunks is copied out. The consumer must use a line's bytes before asking for the next.
 */
export async function* readExportLines(
  bytes: AsyncIterable<Uint8Array>,
  options: ReadExportLinesOptions,
): AsyncGenerator<ExportLine> {
  const { maxLineBytes, stats } = options;
  let pieces: Buffer[] = [];
  let held = 0;
  let length = 0;
  let number = 1;
  /** Keep `buffer[start, stop)` as part of the current line, unless the line is already too long. */
  const take = (buffer: Buffer, start: number, stop: number, copy: boolean): void => {
    length += stop - start;
    if (length > maxLineBytes) {
      pieces = [];
      held = 0;
      return;
    }
    if (stop === start) return;
    // A part the next chunk continues is copied, so it does not pin the whole chunk.
    const piece = copy ? Buffer.from(buffer.subarray(start, stop)) : buffer.subarray(start, stop);
    pieces.push(piece);
    held += piece.length;
    if (stats && held > stats.peakBufferedBytes) stats.peakBufferedBytes = held;
  };
  const finish = (terminated: boolean): ExportLine => {
    const bytes =
      length > maxLineBytes
        ? null
        : pieces.length === 0
          ? Buffer.alloc(0)
          : pieces.length === 1
            ? pieces[0]!
            : Buffer.concat(pieces, held);
    const line: ExportLine = { number, bytes, length, terminated };
    pieces = [];
    held = 0;
    length = 0;
    number += 1;
    return line;
  };
  for await (const chunk of bytes) {
    const buffer = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    while (start < buffer.length) {
      const end = buffer.indexOf(newline, start);
      if (end === -1) {
        take(buffer, start, buffer.length, true);
        break;
      }
      take(buffer, start, end, false);
      yield finish(true);
      start = end + 1;
    }
  }
  if (length > 0) yield finish(false);
}

/** The first `maxBytes` bytes of a stream (the rest is not read). */
export async function* limitBytes(
  bytes: AsyncIterable<Uint8Array>,
  maxBytes: number,
): AsyncGenerator<Uint8Array> {
  let left = maxBytes;
  if (left <= 0) return;
  for await (const chunk of bytes) {
    if (chunk.byteLength <= left) {
      left -= chunk.byteLength;
      yield chunk;
    } else {
      yield chunk.subarray(0, left);
      left = 0;
    }
    if (left === 0) return;
  }
}
