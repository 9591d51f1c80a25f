import { optOutExportAttributes, type OptOutExportRow } from './opt-out-export-source.js';

/**
 * The emulated daily opt-out export file. Adobe does not publish the real layout
 * (campaign-api.md §4, open question 4); this one follows the ACS Extract-file conventions and is
 * documented in README.md ("Opt-out export file format"). Change both together.
 */

/** Field separator, as recommended for ACS flat files. */
export const optOutExportDelimiter = ';';
/** Line terminator. Readers should also accept CRLF. */
export const optOutExportLineEnd = '\n';

/** Header names in file order: keys, then each attribute followed by its LastModified. */
export const optOutExportColumns = [
  'PKey',
  'externalId',
  ...optOutExportAttributes.flatMap((attribute) => [attribute, `${attribute}LastModified`]),
] as const;

/** Kinds of broken rows the workflow can inject for quarantine tests. */
export const malformedRowKinds = [
  'bad-quoting',
  'unclosed-quote',
  'wrong-column-count',
  'invalid-boolean',
  'invalid-date',
] as const;
export type MalformedRowKind = (typeof malformedRowKinds)[number];

/** `YYYY-MM-DD HH:MM:SS.mmmZ` in UTC, the Campaign REST API's date-time format. */
export function formatExportTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ');
}

/** `optout_YYYYMMDD_HHmmss.csv` (UTC) plus `_N` when that name is already taken. */
export function formatExportFileName(ms: number, collision = 0): string {
  const iso = new Date(ms).toISOString();
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
  return `optout_${stamp}${collision > 0 ? `_${collision}` : ''}.csv`;
}

/** The header line. */
export function formatOptOutExportHeader(): string {
  return optOutExportColumns.join(optOutExportDelimiter) + optOutExportLineEnd;
}

/** One data line: `0`/`1` values, timestamps as above, empty cells for unknown values. */
export function formatOptOutExportRow(row: OptOutExportRow): string {
  const cells: string[] = [row.PKey, row.externalId ?? ''];
  for (const attribute of optOutExportAttributes) {
    const state = row.attributes[attribute];
    cells.push(state === undefined ? '' : state.value ? '1' : '0');
    cells.push(
      state === undefined || state.lastModified === 0 ? '' : formatExportTimestamp(state.lastModified),
    );
  }
  return cells.map(quoteCell).join(optOutExportDelimiter) + optOutExportLineEnd;
}

/**
 * The optional trailer line (emulator assumption, README.md "Completeness"): `#EOF;N`, N the number
 * of data lines between the header and the trailer, malformed ones included.
 */
export function formatOptOutExportTrailer(dataLines: number): string {
  return `#EOF${optOutExportDelimiter}${dataLines}${optOutExportLineEnd}`;
}

/**
 * A deliberately broken line for quarantine tests. Each is broken in exactly one way and stays on
 * one physical line, so a line-by-line reader can quarantine it alone and go on. Keys are synthetic
 * (`@malformed-N`), never those of real profiles.
 */
export function formatMalformedRow(kind: MalformedRowKind, index: number, atMs: number): string {
  const cells: string[] = [`@malformed-${index}`, `malformed-external-${index}`];
  for (let i = 0; i < optOutExportAttributes.length; i += 1) cells.push('0', formatExportTimestamp(atMs));
  switch (kind) {
    case 'bad-quoting':
      // A stray quote inside an unquoted field.
      cells[1] = `malformed"external-${index}`;
      break;
    case 'unclosed-quote':
      // The first cell opens a quote that never closes: a whole-file CSV parser reads the rest of
      // the file as one field; one record per line stops it at the newline.
      cells[0] = `"${cells[0]}`;
      break;
    case 'wrong-column-count':
      cells.splice(cells.length - 2, 2);
      break;
    case 'invalid-boolean':
      cells[2] = 'yes';
      break;
    case 'invalid-date':
      cells[3] = '2026-13-45 25:61:61.000Z';
      break;
  }
  return cells.join(optOutExportDelimiter) + optOutExportLineEnd;
}

/** RFC 4180 quoting, only when a cell needs it (an externalId may hold anything). */
function quoteCell(cell: string): string {
  return /[;"\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
}
