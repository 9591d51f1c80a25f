/**
 * Where the daily opt-out export files come from (the Campaign SFTP folder in production, a local
 * file for `dcsync optout ingest --file`). Implemented by `SftpOptOutFileSource`.
 */

/** One file in the export or archive folder. */
export interface OptOutFileEntry {
  /** Base name, e.g. `optout_20260101_020000.csv`. */
  name: string;
  /** Path to pass back to {@link OptOutFileSource} calls. */
  path: string;
  sizeBytes: number;
  /** Modification time (ms). */
  modifiedAt: number;
}

export interface OptOutStorageUsage {
  usedBytes: number;
  fileCount: number;
  measuredAt: number;
}

export interface OptOutFileSource {
  /** Files waiting in the export folder, sorted by name. */
  list(): Promise<OptOutFileEntry[]>;
  /** Files in the archive folder, sorted by name; empty when archiving is not used. */
  listArchived(): Promise<OptOutFileEntry[]>;
  /** The file's bytes, from the start. */
  download(path: string): AsyncIterable<Uint8Array>;
  /** Move a processed file to the archive folder; returns its new path. */
  archive(entry: OptOutFileEntry): Promise<string>;
  remove(path: string): Promise<void>;
  /** Space used on the server (what counts against the quota). */
  usage(): Promise<OptOutStorageUsage>;
  close(): Promise<void>;
}
