import { Readable } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import { campaignOptOutAttributes, isCampaignOptOutAttribute } from '../../core/opt-out-resolver.js';
import { SyncError } from '../../core/errors.js';
import { isDynamicsId } from '../../connectors/dynamics/dynamics-opt-out-writer.js';
import { parseCampaignTime } from './opt-out-settings.js';

/** Why a row was quarantined (stable codes; the audit never holds the row's values). */
export const quarantineReasons = [
  'bad-quoting',
  'unparsable',
  'wrong-column-count',
  'invalid-boolean',
  'invalid-date',
] as const;
export type QuarantineReason = (typeof quarantineReasons)[number];

/** Why a valid row is not applied. */
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
}

const headerProblem = (message: string) => new SyncError('OPTOUT_FILE_HEADER_INVALID', message);

/**
 * Stream-parse an opt-out export (emulators/campaign/sftp/README.md: `;`, a header, `0`/`1`
 * values, `…LastModified` times, RFC 4180 quoting). Rows are validated whole — column count,
 * every opt-out value and time — so one broken cell quarantines its row and never half-applies it;
 * a broken row never stops the file. A header without the mapped attributes fails the file.
 */
export async function* parseOptOutExport(
  bytes: AsyncIterable<Uint8Array>,
  options: ParseOptionsInput,
): AsyncGenerator<ParsedExportLine> {
  const skipped: ParsedExportLine[] = [];
  const parser = Readable.from(bytes).pipe(
    parse({
      delimiter: ';',
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (error: CsvError | undefined) => {
        if (!error) return;
        // The parser's message quotes the cell: keep only the code and the line.
        const quoting = /QUOTE/.test(error.code);
        skipped.push({
          kind: 'quarantine',
          line: Number((error as unknown as { lines?: unknown }).lines ?? 0),
          reason: quoting ? 'bad-quoting' : 'unparsable',
          column: null,
        });
      },
    }),
  );
  let header: string[] | null = null;
  let columns: Map<string, number> = new Map();
  let attributes: string[] = [];
  for await (const entry of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    while (skipped.length > 0) yield skipped.shift()!;
    const { record, info } = entry;
    if (header === null) {
      header = record.map((cell) => cell.trim());
      columns = new Map(header.map((name, index) => [name, index]));
      for (const required of ['PKey', 'externalId', ...options.requiredAttributes]) {
        if (!columns.has(required)) throw headerProblem(`opt-out export header has no column ${required}`);
      }
      for (const attribute of options.requiredAttributes) {
        if (!columns.has(`${attribute}LastModified`))
          throw headerProblem(`opt-out export header has no column ${attribute}LastModified`);
      }
      attributes = header.filter((name) => isCampaignOptOutAttribute(name));
      continue;
    }
    yield validateRow(record, info.lines, header.length, columns, attributes);
  }
  while (skipped.length > 0) yield skipped.shift()!;
  if (header === null) throw headerProblem('opt-out export file is empty (no header)');
}

function validateRow(
  record: string[],
  line: number,
  width: number,
  columns: Map<string, number>,
  attributes: readonly string[],
): ParsedExportLine {
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
