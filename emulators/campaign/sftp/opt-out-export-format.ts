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
 * A deliberately broken line for quarantine tests. Each is broken in exactly one way and stays on
 * one physical line, so a tolerant reader can skip it and go on. Keys are synthetic (`@malformed-N`),
 * never those of real profiles.
 */
export function formatMalformedRow(kind: MalformedRowKind, index: number, atMs: number): string {
  const cells: string[] = [`@malformed-${index}`, `malformed-external-${index}`];
  for (let i = 0; i < optOutExportAttributes.length; i += 1) cells.push('0', formatExportTimestamp(atMs));
  switch (kind) {
    case 'bad-quoting':
      // A stray quote inside an unquoted field. (A quoted field with text after its closing quote
      // would make common parsers swallow the rest of the file, so it could not be quarantined alone.)
      cells[1] = `malformed"external-${index}`;
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
