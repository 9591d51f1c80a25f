import { TextDecoder } from 'node:util';
import { campaignOptOutAttributes, isCampaignOptOutAttribute } from '../../core/opt-out-resolver.js';
import { SyncError } from '../../core/errors.js';
import { isDynamicsId } from '../../core/record-key.js';
import { readExportLines, type LineReaderStats } from './opt-out-line-reader.js';
import { parseCampaignTime } from './opt-out-settings.js';

/** Why a line was quarantined (stable codes; the quarantine never holds the line's values). */
export const quarantineReasons = [
  /** Longer than `maxLineBytes`; skipped to its newline without being held. */
  'line-too-long',
  /** Not UTF-8. */
  'invalid-encoding',
  /** A NUL or another control character (tab excepted) inside the line. */
  'control-character',
  /** A cell opens a quote that does not close within the line. */
  'unclosed-quote',
  /** A quote inside an unquoted cell, or text after a closing quote. */
  'bad-quoting',
  'wrong-column-count',
  'invalid-boolean',
  'invalid-date',
  /** The file ends inside this line (only when a caller reads a file that is not whole). */
  'incomplete-line',
  /** Nothing on the line: Campaign writes no empty lines, so its content was lost. */
  'empty-line',
] as const;
export type QuarantineReason = (typeof quarantineReasons)[number];

/** Why a valid line is not applied. */
export const skipReasons = ['no-external-id', 'foreign-external-id'] as const;
export type SkipReason = (typeof skipReasons)[number];

/** One attribute of one row. */
export interface ExportAttributeState {
  value: boolean | null;
  lastModified: number | null;
}

/** What the parser yields per data line, in file order. */
export type ParsedExportLine =
  | {
      kind: 'row';
      line: number;
      /** Dynamics contact id (lower case) from `externalId`. */
      recordKey: string;
      pkey: string;
      attributes: Partial<Record<string, ExportAttributeState>>;
    }
  | { kind: 'quarantine'; line: number; reason: QuarantineReason; column: string | null }
  | { kind: 'skip'; line: number; reason: SkipReason };

export interface ParseOptionsInput {
  /** Attributes that must be present in the header (the mapped ones). */
  requiredAttributes: readonly string[];
  /** Longest line read; a longer one is quarantined (`line-too-long`) without being held. @default 65536 */
  maxLineBytes?: number | undefined;
  /** Line number of the file's trailer (`#EOF;N`), which is not data. */
  trailerLine?: number | null | undefined;
  /** Filled in while reading (memory bound). */
  stats?: LineReaderStats | undefined;
}

/** `flows.optOut.file.maxLineBytes` default: 64 KiB, some 300 times an export line. */
export const defaultMaxLineBytes = 64 * 1024;

const headerProblem = (message: string) => new SyncError('OPTOUT_FILE_HEADER_INVALID', message);
const bom = '\uFEFF';
const delimiter = ';';
// C0 controls and DEL, tab excepted (a CR before the newline is removed first): finding them is
// this pattern's purpose.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlCharacter = /[\u0000-\u0008\u000A-\u001F\u007F]/;

/** A line's cells (RFC 4180 quoting within the line), or why they cannot be read. */
export function splitExportLine(text: string): string[] | 'unclosed-quote' | 'bad-quoting' {
  if (!text.includes('"')) return text.split(delimiter);
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      let from = i + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote === -1) return 'unclosed-quote';
        value += text.slice(from, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          from = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      cells.push(value);
      if (i === text.length) return cells;
      if (text[i] !== delimiter) return 'bad-quoting';
    } else {
      const next = text.indexOf(delimiter, i);
      const cell = text.slice(i, next === -1 ? text.length : next);
      if (cell.includes('"')) return 'bad-quoting';
      cells.push(cell);
      if (next === -1) return cells;
      i = next;
    }
    i += 1; // past the delimiter
    if (i === text.length) {
      cells.push('');
      return cells;
    }
  }
}

/**
 * Read an opt-out export line by line (emulators/campaign/sftp/README.md: `;`, a header, `0`/`1`
 * values, `…LastModified` times, RFC 4180 quoting within a line; Campaign writes one record per
 * line, docs/opt-outs.md). Each line is parsed on its own and validated whole — column count, every
 * opt-out value and time — so a broken line is quarantined alone (its number and a reason code,
 * never its values) and the next line starts afresh: a quote that never closes cannot swallow the
 * rest of the file. No line is held beyond `maxLineBytes`. A header without the mapped attributes
 * fails the file (`OPTOUT_FILE_HEADER_INVALID`), an empty file too (`OPTOUT_FILE_EMPTY`).
 */
export async function* parseOptOutExport(
  bytes: AsyncIterable<Uint8Array>,
  options: ParseOptionsInput,
): AsyncGenerator<ParsedExportLine> {
  const maxLineBytes = options.maxLineBytes ?? defaultMaxLineBytes;
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let header: Header | null = null;
  for await (const line of readExportLines(bytes, { maxLineBytes, stats: options.stats })) {
    if (header === null) {
      header = readHeader(line.bytes, line.terminated, decoder, options.requiredAttributes, maxLineBytes);
      continue;
    }
    if (line.number === options.trailerLine) continue;
    yield parseLine(line.number, line.bytes, line.terminated, decoder, header);
  }
  if (header === null) throw new SyncError('OPTOUT_FILE_EMPTY', 'opt-out export file is empty (no header)');
}

interface Header {
  width: number;
  columns: Map<string, number>;
  attributes: string[];
}

function readHeader(
  bytes: Buffer | null,
  terminated: boolean,
  decoder: TextDecoder,
  requiredAttributes: readonly string[],
  maxLineBytes: number,
): Header {
  if (bytes === null) throw headerProblem(`opt-out export header is longer than ${maxLineBytes} bytes`);
  if (!terminated) throw headerProblem('opt-out export header has no newline (the file ends inside it)');
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw headerProblem('opt-out export header is not UTF-8');
  }
  if (text.startsWith(bom)) text = text.slice(1);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  const cells = splitExportLine(text);
  if (typeof cells === 'string') throw headerProblem(`opt-out export header cannot be read (${cells})`);
  const names = cells.map((cell) => cell.trim());
  const columns = new Map(names.map((name, index) => [name, index]));
  for (const required of ['PKey', 'externalId', ...requiredAttributes]) {
    if (!columns.has(required)) throw headerProblem(`opt-out export header has no column ${required}`);
  }
  for (const attribute of requiredAttributes) {
    if (!columns.has(`${attribute}LastModified`))
      throw headerProblem(`opt-out export header has no column ${attribute}LastModified`);
  }
  return {
    width: names.length,
    columns,
    attributes: names.filter((name) => isCampaignOptOutAttribute(name)),
  };
}

function parseLine(
  line: number,
  bytes: Buffer | null,
  terminated: boolean,
  decoder: TextDecoder,
  header: Header,
): ParsedExportLine {
  const quarantine = (reason: QuarantineReason, column: string | null = null): ParsedExportLine => ({
    kind: 'quarantine',
    line,
    reason,
    column,
  });
  if (bytes === null) return quarantine('line-too-long');
  if (!terminated) return quarantine('incomplete-line');
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return quarantine('invalid-encoding');
  }
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (text === '') return quarantine('empty-line');
  if (controlCharacter.test(text)) return quarantine('control-character');
  const cells = splitExportLine(text);
  if (typeof cells === 'string') return quarantine(cells);
  return validateRow(cells, line, header);
}

function validateRow(record: string[], line: number, header: Header): ParsedExportLine {
  const { width, columns, attributes } = header;
  if (record.length !== width)
    return { kind: 'quarantine', line, reason: 'wrong-column-count', column: null };
  const cell = (name: string): string => record[columns.get(name)!] ?? '';
  const states: Partial<Record<string, ExportAttributeState>> = {};
  for (const attribute of attributes) {
    const raw = cell(attribute).trim();
    if (raw !== '' && raw !== '0' && raw !== '1')
      return { kind: 'quarantine', line, reason: 'invalid-boolean', column: attribute };
    const timeColumn = `${attribute}LastModified`;
    const rawTime = columns.has(timeColumn) ? cell(timeColumn).trim() : '';
    const lastModified = rawTime === '' ? null : parseCampaignTime(rawTime);
    if (rawTime !== '' && lastModified === null)
      return { kind: 'quarantine', line, reason: 'invalid-date', column: timeColumn };
    states[attribute] = { value: raw === '' ? null : raw === '1', lastModified };
  }
  const externalId = cell('externalId').trim();
  if (externalId === '') return { kind: 'skip', line, reason: 'no-external-id' };
  if (!isDynamicsId(externalId)) return { kind: 'skip', line, reason: 'foreign-external-id' };
  return { kind: 'row', line, recordKey: externalId.toLowerCase(), pkey: cell('PKey'), attributes: states };
}

/** Every attribute the export format knows (for the header check of a full file). */
export const exportAttributes: readonly string[] = campaignOptOutAttributes;
