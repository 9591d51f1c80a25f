import path from 'node:path/posix';
import { errorCode } from '../../core/errors.js';
import type {
  OptOutFileEntry,
  OptOutFileSource,
  OptOutStorageUsage,
} from '../../core/ports/opt-out-file-source.js';
import type { SftpEntry, SftpReader } from './sftp-reader.js';

export interface SftpOptOutFileSourceOptions {
  /** Folder the Campaign export workflow writes to. */
  exportDir: string;
  /** Folder processed files are moved to. @default `<exportDir>/archive` */
  archiveDir?: string | undefined;
  /** Folder whose size counts against the quota. @default `/` (the whole account) */
  usageDir?: string | undefined;
  /** Only names matching this are export files. @default /^optout_.*\.csv$/i */
  namePattern?: RegExp | undefined;
}

function toEntry(entry: SftpEntry): OptOutFileEntry {
  return { name: entry.name, path: entry.path, sizeBytes: entry.size, modifiedAt: entry.mtimeMs };
}

/**
 * The {@link OptOutFileSource} over the Campaign SFTP account: export files are listed in
 * `exportDir`, archived by a rename into `archiveDir` (created on first use), and usage is measured
 * over the whole account, which is what the quota counts.
 */
export class SftpOptOutFileSource implements OptOutFileSource {
  private readonly archiveDir: string;
  private readonly namePattern: RegExp;
  private archiveReady = false;

  constructor(
    private readonly reader: SftpReader,
    private readonly options: SftpOptOutFileSourceOptions,
  ) {
    this.archiveDir = options.archiveDir ?? path.join(options.exportDir, 'archive');
    this.namePattern = options.namePattern ?? /^optout_.*\.csv$/i;
  }

  async list(): Promise<OptOutFileEntry[]> {
    return this.filesIn(this.options.exportDir);
  }

  async listArchived(): Promise<OptOutFileEntry[]> {
    try {
      return await this.filesIn(this.archiveDir);
    } catch (error) {
      if (errorCode(error) === 'SFTP_NOT_FOUND') return [];
      throw error;
    }
  }

  download(filePath: string): AsyncIterable<Uint8Array> {
    return this.reader.download(filePath);
  }

  async archive(entry: OptOutFileEntry): Promise<string> {
    if (!this.archiveReady) {
      await this.reader.ensureDirectory(this.archiveDir);
      this.archiveReady = true;
    }
    const target = path.join(this.archiveDir, entry.name);
    await this.reader.rename(entry.path, target);
    return target;
  }

  remove(filePath: string): Promise<void> {
    return this.reader.remove(filePath);
  }

  async usage(): Promise<OptOutStorageUsage> {
    return this.reader.usage(this.options.usageDir ?? '/');
  }

  close(): Promise<void> {
    return this.reader.close();
  }

  private async filesIn(dir: string): Promise<OptOutFileEntry[]> {
    const entries = await this.reader.list(dir);
    return entries.filter((e) => e.isFile && this.namePattern.test(e.name)).map(toEntry);
  }
}
