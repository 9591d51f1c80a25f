/**
 * Property test of the opt-out export reader, composed exactly as the ingestor composes it: one
 * scan (is the file whole?), then the line-by-line parse of the scanned bytes. Valid exports (the
 * Campaign emulator's own format) are generated, then damaged at random — lines cut short, stray
 * quotes, NUL bytes, wrong column counts, invalid UTF-8, over-long lines, CRLF, a BOM, a trailer,
 * truncation at any byte, any chunking of the stream. Whatever happens: every intact line comes out
 * exactly once as what it says, every damaged line is quarantined under its own line number, or
 * the file is held or failed as a whole (nothing of it applied) — never a silent loss; and no more
 * than `maxLineBytes` of a line is ever held.
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatExportTimestamp,
  formatOptOutExportHeader,
  formatOptOutExportRow,
} from '../../../emulators/campaign/sftp/opt-out-export-format.js';
import {
  optOutExportAttributes,
  type OptOutExportRow,
} from '../../../emulators/campaign/sftp/opt-out-export-source.js';
import {
  parseOptOutExport,
  type ParsedExportLine,
  type QuarantineReason,
} from '../../../src/engine/opt-out/opt-out-export-parser.js';
import { assessExportScan, scanOptOutExport } from '../../../src/engine/opt-out/opt-out-export-scan.js';
import type { LineReaderStats } from '../../../src/engine/opt-out/opt-out-line-reader.js';

const maxLineBytes = 1024;
const requiredAttributes = ['blackListEmail', 'blackList'];

// ---- generators -----------------------------------------------------------------------------

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
const contactId = fc.tuple(hex(8), hex(4), hex(4), hex(4), hex(12)).map((parts) => parts.join('-'));
/** No, a Dynamics, or a foreign external id (foreign ones may need RFC 4180 quoting). */
const externalId = fc.oneof(
  { weight: 6, arbitrary: contactId },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom('crm-42', 'weird;id', 'say "hi"', 'été') },
);
const attributeState = fc.option(
  fc.record({
    value: fc.boolean(),
    lastModified: fc.oneof(
      fc.constant(0),
      fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }),
    ),
  }),
  { nil: undefined },
);
const exportRow = fc.record({
  PKey: hex(10).map((key) => `@${key}`),
  externalId,
  attributes: fc.tuple(...optOutExportAttributes.map(() => attributeState)).map((states) => {
    const attributes: OptOutExportRow['attributes'] = {};
    optOutExportAttributes.forEach((name, i) => {
      if (states[i]) attributes[name] = states[i];
    });
    return attributes;
  }),
});

const damages = [
  'cut',
  'stray-quote',
  'nul',
  'extra-column',
  'missing-column',
  'too-long',
  'invalid-utf8',
] as const;
type Damage = (typeof damages)[number];
/** The reasons a damage may be quarantined for (a cut line may end inside a date, …). */
const reasonsOf: Record<Damage, readonly QuarantineReason[]> = {
  cut: ['wrong-column-count', 'unclosed-quote', 'empty-line'],
  'stray-quote': ['bad-quoting', 'unclosed-quote'],
  nul: ['control-character'],
  'extra-column': ['wrong-column-count'],
  'missing-column': ['wrong-column-count'],
  'too-long': ['line-too-long'],
  'invalid-utf8': ['invalid-encoding'],
};

const lineSpec = fc.record({
  row: exportRow,
  damage: fc.oneof(
    { weight: 5, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.constantFrom(...damages) },
  ),
  /** Where in the line a damage lands (a fraction of its length). */
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  crlf: fc.boolean(),
});

const exportFile = fc.record({
  lines: fc.array(lineSpec, { maxLength: 25 }),
  bom: fc.boolean(),
  trailer: fc.boolean(),
  /** How far the trailer's count is off (a line lost in the middle, or one too many). */
  trailerOff: fc.constantFrom(0, 0, 0, 1, -1),
  requireTrailer: fc.boolean(),
  /** Cut the file at this fraction of its length (null: whole). */
  truncateAt: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { freq: 3, nil: null }),
  /** Chunk boundaries of the stream, as fractions. */
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
});

// ---- building a file and what it must yield ------------------------------------------------

type Expected = { kind: 'row' | 'skip'; recordKey?: string } | { kind: 'damaged'; damage: Damage };

function damageLine(text: string, damage: Damage, at: number): Buffer {
  const pos = (max: number) => Math.min(max, Math.floor(at * (max + 1)));
  const quoted = text.includes('"');
  switch (damage) {
    case 'cut': {
      // Keep a prefix that ends before the last delimiter: at least one cell is gone.
      const last = text.lastIndexOf(';');
      return Buffer.from(text.slice(0, pos(last - 1)));
    }
    case 'stray-quote': {
      if (quoted) return Buffer.from(`"${text.replaceAll('"', '')}`); // a quote that never closes
      const p = pos(text.length);
      return Buffer.from(`${text.slice(0, p)}"${text.slice(p)}`);
    }
    case 'nul': {
      const p = pos(text.length);
      return Buffer.from(`${text.slice(0, p)}\u0000${text.slice(p)}`);
    }
    case 'extra-column':
      return Buffer.from(`${text};extra`);
    case 'missing-column':
      return Buffer.from(text.slice(0, text.lastIndexOf(';')));
    case 'too-long':
      return Buffer.from(`${text};${'x'.repeat(maxLineBytes + Math.floor(at * 3 * maxLineBytes))}`);
    case 'invalid-utf8': {
      const bytes = Buffer.from(text);
      const p = pos(bytes.length);
      return Buffer.concat([bytes.subarray(0, p), Buffer.from([0xff]), bytes.subarray(p)]);
    }
  }
}

type ExportFileSpec = typeof exportFile extends fc.Arbitrary<infer T> ? T : never;

function build(spec: ExportFileSpec): {
  bytes: Buffer;
  expected: Map<number, Expected>;
  /** Byte offset after each line (its newline included), by line number. */
  lineEnds: Map<number, number>;
  trailerLine: number | null;
} {
  const parts: Buffer[] = [];
  const expected = new Map<number, Expected>();
  const lineEnds = new Map<number, number>();
  let size = 0;
  const push = (line: number, body: Buffer, crlf: boolean) => {
    const bytes = Buffer.concat([body, Buffer.from(crlf ? '\r\n' : '\n')]);
    parts.push(bytes);
    size += bytes.length;
    lineEnds.set(line, size);
  };
  push(1, Buffer.from((spec.bom ? '\uFEFF' : '') + formatOptOutExportHeader().trimEnd()), false);
  spec.lines.forEach((l, i) => {
    const number = i + 2;
    const text = formatOptOutExportRow(l.row).trimEnd();
    if (l.damage) {
      expected.set(number, { kind: 'damaged', damage: l.damage });
      push(number, damageLine(text, l.damage, l.at), l.crlf);
    } else {
      const id = l.row.externalId;
      expected.set(
        number,
        id !== null && /^[0-9a-f-]{36}$/.test(id) ? { kind: 'row', recordKey: id } : { kind: 'skip' },
      );
      push(number, Buffer.from(text), l.crlf);
    }
  });
  let trailerLine: number | null = null;
  if (spec.trailer) {
    trailerLine = spec.lines.length + 2;
    push(trailerLine, Buffer.from(`#EOF;${Math.max(0, spec.lines.length + spec.trailerOff)}`), false);
  }
  return { bytes: Buffer.concat(parts), expected, lineEnds, trailerLine };
}

/** The bytes as a stream cut at the given fractions of their length. */
function chunked(bytes: Buffer, cuts: readonly number[]): AsyncIterable<Uint8Array> {
  const offsets = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const offset of [...offsets, bytes.length]) {
    if (offset > from) parts.push(bytes.subarray(from, offset));
    from = Math.max(from, offset);
  }
  return Readable.from(parts) as AsyncIterable<Uint8Array>;
}

async function collect(
  bytes: Buffer,
  cuts: readonly number[],
  trailerLine: number | null,
  stats: LineReaderStats,
): Promise<ParsedExportLine[]> {
  const out: ParsedExportLine[] = [];
  for await (const line of parseOptOutExport(chunked(bytes, cuts), {
    requiredAttributes,
    maxLineBytes,
    trailerLine,
    stats,
  }))
    out.push(line);
  return out;
}

describe('opt-out export reader (property)', () => {
  it('applies every intact line exactly once, quarantines every damaged one by its number, or holds the file', async () => {
    await fc.assert(
      fc.asyncProperty(exportFile, async (spec) => {
        const whole = build(spec);
        const bytes =
          spec.truncateAt === null
            ? whole.bytes
            : whole.bytes.subarray(0, Math.floor(spec.truncateAt * whole.bytes.length));
        const scan = await scanOptOutExport(chunked(bytes, spec.cuts));
        expect(scan.sizeBytes).toBe(bytes.length);
        const verdict = assessExportScan(scan, { requireTrailer: spec.requireTrailer });

        // Which lines the (maybe truncated) file holds whole, and whether it is whole.
        const complete = [...whole.lineEnds].filter(([, end]) => end <= bytes.length).map(([line]) => line);
        const endsInsideLine = bytes.length > 0 && ![...whole.lineEnds.values()].includes(bytes.length);
        const hasTrailer = whole.trailerLine !== null && complete.includes(whole.trailerLine);
        if (bytes.length === 0)
          return void expect(verdict).toEqual({ kind: 'failed', code: 'OPTOUT_FILE_EMPTY' });
        if (endsInsideLine)
          return void expect(verdict).toEqual({ kind: 'held', code: 'OPTOUT_FILE_INCOMPLETE' });
        if (!hasTrailer && spec.requireTrailer)
          return void expect(verdict).toEqual({ kind: 'held', code: 'OPTOUT_FILE_NO_TRAILER' });
        if (hasTrailer && Math.max(0, spec.lines.length + spec.trailerOff) !== spec.lines.length)
          return void expect(verdict).toEqual({ kind: 'failed', code: 'OPTOUT_FILE_LINE_COUNT_MISMATCH' });
        expect(verdict).toEqual({ kind: 'read', trailerLine: hasTrailer ? whole.trailerLine : null });
        if (verdict.kind !== 'read') return;

        // The ingestor reads exactly the scanned bytes, in other chunks.
        const stats: LineReaderStats = { peakBufferedBytes: 0 };
        const parsed = await collect(
          bytes,
          [...spec.cuts].reverse().map((c) => 1 - c),
          verdict.trailerLine,
          stats,
        );
        expect(stats.peakBufferedBytes).toBeLessThanOrEqual(maxLineBytes);
        const dataLines = complete.filter((line) => line !== 1 && line !== verdict.trailerLine);
        // Each data line once, in order: nothing lost, nothing twice.
        expect(parsed.map((p) => p.line)).toEqual(dataLines);
        for (const p of parsed) {
          const want = whole.expected.get(p.line)!;
          if (want.kind === 'damaged') {
            expect(p.kind, `line ${p.line} (${want.damage})`).toBe('quarantine');
            if (p.kind === 'quarantine') expect(reasonsOf[want.damage]).toContain(p.reason);
          } else if (want.kind === 'row') {
            expect(p).toMatchObject({ kind: 'row', recordKey: want.recordKey });
          } else expect(p.kind).toBe('skip');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reads an intact row to the same values the emulator wrote', async () => {
    await fc.assert(
      fc.asyncProperty(exportRow, fc.boolean(), async (row, crlf) => {
        const id = '0f2c4d6e-8a1b-4c3d-9e5f-0123456789ab';
        const text = formatOptOutExportHeader() + formatOptOutExportRow({ ...row, externalId: id });
        const bytes = Buffer.from(crlf ? text.replaceAll('\n', '\r\n') : text);
        const [line] = await collect(bytes, [], null, { peakBufferedBytes: 0 });
        expect(line).toMatchObject({ kind: 'row', line: 2, recordKey: id, pkey: row.PKey });
        if (line?.kind !== 'row') return;
        for (const name of optOutExportAttributes) {
          const state = row.attributes[name];
          expect(line.attributes[name], name).toEqual(
            state === undefined
              ? { value: null, lastModified: null }
              : {
                  value: state.value,
                  lastModified:
                    state.lastModified === 0
                      ? null
                      : Date.parse(formatExportTimestamp(state.lastModified).replace(' ', 'T')),
                },
          );
        }
      }),
      { numRuns: 200 },
    );
  });

  it('skips a 64 MiB line without holding it, and reads the line after it', async () => {
    const header = Buffer.from(formatOptOutExportHeader());
    const good = Buffer.from(
      formatOptOutExportRow({
        PKey: '@after',
        externalId: '0f2c4d6e-8a1b-4c3d-9e5f-0123456789ab',
        attributes: { blackListEmail: { value: true, lastModified: Date.UTC(2026, 0, 1) } },
      }),
    );
    const chunk = Buffer.alloc(64 * 1024, 'x');
    // 64 MiB in one line, made as it is read: the test holds one chunk of it.
    function* parts(): Generator<Buffer> {
      yield header;
      for (let i = 0; i < 1024; i++) yield chunk;
      yield Buffer.from('\n');
      yield good;
    }
    const stream = (): AsyncIterable<Uint8Array> => Readable.from(parts()) as AsyncIterable<Uint8Array>;
    const stats: LineReaderStats = { peakBufferedBytes: 0 };
    const out: ParsedExportLine[] = [];
    for await (const line of parseOptOutExport(stream(), { requiredAttributes, maxLineBytes: 65_536, stats }))
      out.push(line);
    expect(out).toEqual([
      { kind: 'quarantine', line: 2, reason: 'line-too-long', column: null },
      expect.objectContaining({ kind: 'row', line: 3, pkey: '@after' }),
    ]);
    expect(stats.peakBufferedBytes).toBeLessThanOrEqual(65_536);
  });
});
