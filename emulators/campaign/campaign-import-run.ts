import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse';
import { stringify, type Stringifier } from 'csv-stringify';
import type { ImportSettings } from './campaign-workflow-model.js';
import type { CampaignRecordStore } from './campaign-record-store.js';
import { CampaignApiError } from './campaign-wire-format.js';
import type { SftpStorage } from './sftp/sftp-storage.js';

/** What reading one import file did; the files stay under temporary names until the run ends. */
export interface ImportRunResult {
  rowsRead: number;
  inserted: number;
  updated: number;
  rejected: number;
  /** The whole file was refused (missing, no key column, unknown column…); no row was applied. */
  error: string | null;
  /** Local temporary paths of the reject and export files, renamed into place when the run ends. */
  rejectTemp: string;
  exportTemp: string | null;
  /** Paths relative to the SFTP root the files get when the run ends. */
  rejectPath: string;
  exportPath: string | null;
}

/** `bulk_0001.csv` → `bulk_0001` (and `x.manifest` → `x`): the base the reject and export files are named after. */
export function importBaseName(fileName: string): string {
  const base = path.posix.basename(fileName);
  const lower = base.toLowerCase();
  if (lower.endsWith('.csv')) return base.slice(0, -4);
  if (lower.endsWith('.manifest')) return base.slice(0, -'.manifest'.length);
  return base;
}

/** Header of every reject file: data row number (1 = first row after the header), key, reason. */
export const rejectFileHeader = ['row', 'key', 'reason'] as const;

/**
 * Read one CSV from the SFTP account and load it into a resource the way an ACS import workflow
 * (Load file → Reconciliation → Update data "insert or update") would: rows are reconciled on the
 * resource's identification key only (a row without it is rejected, a record without it is never
 * touched), each row passes the same validation as a REST write (the store's), a link column holds
 * the parent's key (so a child may arrive before its parent, hidden while its `1` link is
 * unresolved). Rejects and the key → PKey export are streamed to temporary files; memory stays
 * bounded by one row. `shouldStop` is polled so a `stop` command cancels the run.
 */
export async function runImportFile(options: {
  settings: ImportSettings;
  fileName: string;
  store: CampaignRecordStore;
  storage: SftpStorage;
  shouldStop: () => boolean;
}): Promise<ImportRunResult> {
  const { settings, fileName, store, storage } = options;
  const base = importBaseName(fileName);
  const rejectPath = path.posix
    .join(storage.toVirtualPath(settings.rejectDir), `${base}.rejects.csv`)
    .slice(1);
  const exportPath =
    settings.exportDir === null
      ? null
      : path.posix.join(storage.toVirtualPath(settings.exportDir), `${base}.pkeys.csv`).slice(1);
  const rejectTemp = await temporaryPathOf(storage, rejectPath);
  const exportTemp = exportPath === null ? null : await temporaryPathOf(storage, exportPath);
  const result: ImportRunResult = {
    rowsRead: 0,
    inserted: 0,
    updated: 0,
    rejected: 0,
    error: null,
    rejectTemp,
    exportTemp,
    rejectPath,
    exportPath,
  };
  const rejects = openCsvWriter(rejectTemp, settings.delimiter);
  const exported = exportTemp === null ? null : openCsvWriter(exportTemp, settings.delimiter);
  try {
    await rejects.write([...rejectFileHeader]);
    const definition = store.definition(settings.resource);
    const keyField = definition?.keyField ?? null;
    if (!definition || keyField === null) {
      result.error = `resource '${settings.resource}' has no identification key to reconcile on`;
    } else if (fileName === '' || fileName.includes('/') || fileName.includes('\\')) {
      result.error =
        fileName === ''
          ? `the '${settings.fileParameter}' parameter is empty: no file to import`
          : `'${fileName}' is not a file name in ${settings.importDir} (no folders allowed)`;
    } else {
      await exported?.write([keyField, 'PKey']);
      await loadRows(options, keyField, result, rejects, exported);
    }
    if (result.error !== null) await rejects.write(['0', '', result.error]);
  } finally {
    await rejects.close();
    await exported?.close();
  }
  return result;
}

async function loadRows(
  options: Parameters<typeof runImportFile>[0],
  keyField: string,
  result: ImportRunResult,
  rejects: CsvWriter,
  exported: CsvWriter | null,
): Promise<void> {
  const { settings, fileName, store, storage, shouldStop } = options;
  const definition = store.definition(settings.resource)!;
  const localPath = await storage.resolveLocalPath(path.posix.join(settings.importDir, fileName));
  const info = await stat(localPath).catch(() => null);
  if (info === null || !info.isFile()) {
    result.error = `file '${fileName}' not found in ${settings.importDir}`;
    return;
  }
  const source = createReadStream(localPath);
  const parser = parse({
    delimiter: settings.delimiter,
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
  });
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  const links = new Map(definition.links.map((l) => [l.name, l]));
  const fields = new Map(definition.fields.map((f) => [f.name, f]));
  let header: string[] | null = null;
  let keyIndex = -1;
  /** Per column: the link's target key field, or null for a field. */
  let linkKeys: Array<string | null> = [];
  try {
    for await (const cells of parser as AsyncIterable<string[]>) {
      if (header === null) {
        header = cells;
        keyIndex = header.indexOf(keyField);
        const problem = checkHeader(header, keyField, settings.resource, fields, links, store);
        if (problem !== null) {
          result.error = problem;
          return;
        }
        linkKeys = header.map((column) => {
          const link = links.get(column);
          return link ? (store.definition(link.target)?.keyField ?? null) : null;
        });
        continue;
      }
      result.rowsRead++;
      const row = result.rowsRead;
      if (row % 1000 === 0 && shouldStop()) return;
      const key = cells[keyIndex] ?? '';
      if (cells.length !== header.length) {
        await reject(
          rejects,
          result,
          row,
          key,
          `the row has ${cells.length} columns, the header ${header.length}`,
        );
        continue;
      }
      if (key === '') {
        await reject(
          rejects,
          result,
          row,
          '',
          `the '${keyField}' field is empty: it is the reconciliation key, rows without it are never imported`,
        );
        continue;
      }
      const payload: Record<string, unknown> = {};
      for (let i = 0; i < header.length; i++) {
        const value = cells[i]!;
        const column = header[i]!;
        if (value === '' && i !== keyIndex) {
          if (settings.emptyCells === 'clear') payload[column] = null;
          continue;
        }
        const targetKey = linkKeys[i];
        payload[column] = targetKey === null || targetKey === undefined ? value : { [targetKey]: value };
      }
      try {
        const existing = store.getByKey(settings.resource, key);
        const record = existing
          ? store.update(existing, payload).record
          : store.insert(settings.resource, payload);
        if (existing) result.updated++;
        else result.inserted++;
        await exported?.write([key, record.pkey]);
      } catch (error) {
        if (!(error instanceof CampaignApiError)) throw error;
        await reject(rejects, result, row, key, error.message);
      }
    }
    if (header === null) result.error = `file '${fileName}' is empty (no header line)`;
  } catch (error) {
    result.error = `file '${fileName}' could not be read: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    source.destroy();
  }
}

function checkHeader(
  header: readonly string[],
  keyField: string,
  resource: string,
  fields: ReadonlyMap<string, unknown>,
  links: ReadonlyMap<string, { target: string }>,
  store: CampaignRecordStore,
): string | null {
  if (!header.includes(keyField))
    return `the '${keyField}' field is missing from the header: it is the reconciliation key`;
  const seen = new Set<string>();
  for (const column of header) {
    if (seen.has(column)) return `the '${column}' field appears twice in the header`;
    seen.add(column);
    const link = links.get(column);
    if (link && store.definition(link.target)?.keyField == null)
      return `the '${column}' field links to resource '${link.target}', which has no identification key to point at`;
    if (!link && !fields.has(column))
      return `the '${column}' field is neither a field nor a link of resource '${resource}'`;
  }
  return null;
}

async function reject(
  rejects: CsvWriter,
  result: ImportRunResult,
  row: number,
  key: string,
  reason: string,
): Promise<void> {
  result.rejected++;
  await rejects.write([String(row), key, reason]);
}

/** `<folder>/.<name>.part` on disk, its folder created. */
async function temporaryPathOf(storage: SftpStorage, virtualPath: string): Promise<string> {
  const local = await storage.resolveLocalPath(virtualPath);
  await mkdir(path.dirname(local), { recursive: true });
  return path.join(path.dirname(local), `.${path.basename(local)}.part`);
}

interface CsvWriter {
  write(cells: string[]): Promise<void>;
  close(): Promise<void>;
}

/** A CSV file written through csv-stringify with back-pressure (bounded memory). */
function openCsvWriter(localPath: string, delimiter: string): CsvWriter {
  const file: WriteStream = createWriteStream(localPath);
  const stringifier: Stringifier = stringify({ delimiter, record_delimiter: '\n' });
  stringifier.pipe(file);
  let failure: Error | null = null;
  file.on('error', (error) => (failure = error));
  return {
    async write(cells) {
      if (failure) throw failure;
      if (!stringifier.write(cells)) await once(stringifier, 'drain');
    },
    async close() {
      const finished = once(file, 'close');
      stringifier.end();
      await finished;
      if (failure) throw failure;
    },
  };
}
