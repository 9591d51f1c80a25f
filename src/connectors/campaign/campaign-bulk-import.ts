import path from 'node:path/posix';
import { parse } from 'csv-parse';
import { ConnectorError } from '../../core/errors.js';
import type {
  BulkImportPort,
  BulkImportReject,
  BulkImportState,
  BulkUploadResult,
} from '../../core/ports/bulk-import.js';
import type { SftpWriter } from '../sftp/sftp-writer.js';
import type { CampaignClient } from './campaign-client.js';
import { redactCampaignMessage } from './campaign-error.js';

/** Options of {@link CampaignBulkImport}: one Campaign import workflow and its SFTP folders. */
export interface CampaignBulkImportOptions {
  client: CampaignClient;
  sftp: SftpWriter;
  /** The workflow id (`/workflow/execution/<id>`). */
  workflowId: string;
  /** Name of its External signal activity; @default its only one */
  signalActivity?: string;
  /** The signal parameter carrying the file name. @default 'fileName' */
  fileParameter?: string;
  /** `source` of every signal. @default 'dcsync' */
  source?: string;
  /** Folder the workflow reads files from. */
  importDir: string;
  /** Folder the workflow writes `<base>.rejects.csv` to. */
  rejectDir: string;
  /** Folder the workflow writes `<base>.pkeys.csv` (key, PKey) to; none when not set. */
  exportDir?: string | undefined;
  /** Field separator of the reject file. @default ',' */
  delimiter?: string;
}

/**
 * {@link BulkImportPort} over the Campaign REST client (execution, signal) and the SFTP writer
 * (upload with atomic rename and checksum, reject files). The trigger URL is read once from the
 * execution and kept; a signal refused as not found reads it again (a restarted workflow may move
 * it). Reject reasons are redacted like every Campaign message (no values).
 */
export class CampaignBulkImport implements BulkImportPort {
  private triggerUrl: string | null = null;

  constructor(private readonly options: CampaignBulkImportOptions) {}

  async upload(fileName: string, content: AsyncIterable<Uint8Array>): Promise<BulkUploadResult> {
    const written = await this.options.sftp.upload(content, this.importPath(fileName));
    return { fileName, bytes: written.bytes, sha256: written.sha256 };
  }

  async isUploaded(fileName: string): Promise<boolean> {
    return (await this.options.sftp.statIfExists(this.importPath(fileName)))?.isFile === true;
  }

  async signal(fileName: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const { client, workflowId, signalActivity } = this.options;
    const call = { lane: 'bulk' as const, signal: options.signal };
    this.triggerUrl ??= await client.getSignalTriggerUrl(workflowId, signalActivity, call);
    const input = {
      source: this.options.source ?? 'dcsync',
      parameters: { [this.options.fileParameter ?? 'fileName']: fileName },
    };
    try {
      await client.triggerSignal(this.triggerUrl, input, call);
    } catch (error) {
      if (!(error instanceof ConnectorError) || error.status !== 404) throw error;
      this.triggerUrl = await client.getSignalTriggerUrl(workflowId, signalActivity, call);
      await client.triggerSignal(this.triggerUrl, input, call);
    }
  }

  async importState(options: { signal?: AbortSignal } = {}): Promise<BulkImportState> {
    const execution = await this.options.client.getWorkflowExecution(this.options.workflowId, {
      lane: 'bulk',
      signal: options.signal,
    });
    return {
      workflowState: execution.state,
      importing: execution.activities.some((a) => a.state === 'importing'),
    };
  }

  async readRejects(fileName: string): Promise<BulkImportReject[] | null> {
    const rejectPath = path.join(this.options.rejectDir, `${baseNameOf(fileName)}.rejects.csv`);
    const rows = await this.readCsv(rejectPath);
    if (rows === null) return null;
    return rows.map((cells) => {
      const row = Number(cells[0]);
      return {
        row: Number.isInteger(row) ? row : -1,
        key: cells[1] ?? '',
        reason: redactCampaignMessage(cells[2] ?? ''),
      };
    });
  }

  async readPKeys(fileName: string): Promise<Map<string, string> | null> {
    if (this.options.exportDir === undefined) return null;
    const rows = await this.readCsv(path.join(this.options.exportDir, `${baseNameOf(fileName)}.pkeys.csv`));
    if (rows === null) return null;
    const pkeys = new Map<string, string>();
    for (const cells of rows) if (cells[0] && cells[1]) pkeys.set(cells[0], cells[1]);
    return pkeys;
  }

  async discard(fileName: string): Promise<void> {
    const filePath = this.importPath(fileName);
    if ((await this.options.sftp.statIfExists(filePath)) !== null) await this.options.sftp.remove(filePath);
  }

  /** The data rows (header skipped) of a CSV on the SFTP account, or null when it is not there. */
  private async readCsv(filePath: string): Promise<string[][] | null> {
    if ((await this.options.sftp.statIfExists(filePath)) === null) return null;
    const parser = parse({
      delimiter: this.options.delimiter ?? ',',
      bom: true,
      relax_column_count: true,
      from_line: 2,
    });
    const feeding = (async () => {
      try {
        for await (const chunk of this.options.sftp.download(filePath))
          if (!parser.write(chunk)) await new Promise((resolve) => parser.once('drain', resolve));
        parser.end();
      } catch (error) {
        parser.destroy(error as Error);
      }
    })();
    const rows: string[][] = [];
    for await (const cells of parser as AsyncIterable<string[]>) rows.push(cells);
    await feeding;
    return rows;
  }

  async close(): Promise<void> {
    await this.options.sftp.close();
  }

  private importPath(fileName: string): string {
    if (fileName === '' || fileName.includes('/'))
      throw new RangeError(`a bulk file name is a plain name without folders, not '${fileName}'`);
    return path.join(this.options.importDir, fileName);
  }
}

/** `bulk_0001.csv` → `bulk_0001`, `bulk_s0001.manifest` → `bulk_s0001`: what the workflow names the reject file after. */
function baseNameOf(fileName: string): string {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.csv')) return fileName.slice(0, -4);
  if (lower.endsWith('.manifest')) return fileName.slice(0, -'.manifest'.length);
  return fileName;
}
