/**
 * The bulk lane's way into Campaign (issue 21): files on the Campaign SFTP account, imported by a
 * Campaign workflow that an External signal starts. One port per configured import workflow
 * (profiles, or one custom resource). Implemented by `CampaignBulkImport` (src/connectors/campaign)
 * over the Campaign REST client and the SFTP writer. Failures are `ConnectorError`s with
 * catalogued codes (`SFTP_*`, `CAMPAIGN_*`; the signal ones: `CAMPAIGN_SIGNAL_TOO_SOON` —
 * throttled —, `CAMPAIGN_WORKFLOW_NOT_STARTED`, `CAMPAIGN_SIGNAL_PARAMETERS`,
 * `CAMPAIGN_SIGNAL_NOT_FOUND`).
 *
 * Protocol, per file: `upload` (atomic: the file appears under its name only when complete) →
 * `signal` (at most one per 10 minutes per workflow: batch the files that are ready; Campaign
 * imports what one signal names) → poll `readRejects` until it is not null (the workflow writes the
 * reject file, possibly with no rows, when the import of that file has ended) → apply the rejects.
 * `importState` tells whether the workflow is started and busy, for status and `validate`.
 */

/** What an upload wrote. */
export interface BulkUploadResult {
  /** The file name the signal passes (no folder). */
  fileName: string;
  bytes: number;
  /** SHA-256 of the bytes as uploaded, hex. */
  sha256: string;
}

/** One row Campaign refused, from the reject file. */
export interface BulkImportReject {
  /** Data row number in the uploaded file (1 = first row after the header); 0 = the whole file. */
  row: number;
  /** The row's reconciliation key (`externalId`, or the custom resource's key); '' when absent. */
  key: string;
  /** Campaign's reason, without personal values. */
  reason: string;
}

/** The import workflow as Campaign shows it. */
export interface BulkImportState {
  /** Workflow state as Campaign reports it (`started`, `paused`, `stopped`…). */
  workflowState: string;
  /** True when the workflow reports an import activity running (when its body tells; else false). */
  importing: boolean;
}

export interface BulkImportPort {
  /** Stream a CSV (header line first) to the import folder as `fileName`; fails when it exists. */
  upload(fileName: string, content: AsyncIterable<Uint8Array>): Promise<BulkUploadResult>;
  /** True when a file of that name is in the import folder (a crash after upload, before signal). */
  isUploaded(fileName: string): Promise<boolean>;
  /** Trigger the workflow's External signal naming the file to import. */
  signal(fileName: string, options?: { signal?: AbortSignal }): Promise<void>;
  importState(options?: { signal?: AbortSignal }): Promise<BulkImportState>;
  /** The rejects of `fileName`'s import, or null while its reject file is not written yet. */
  readRejects(fileName: string): Promise<BulkImportReject[] | null>;
  /**
   * The key → PKey export the workflow writes for `fileName` (`<base>.pkeys.csv`), or null while it
   * is not written (or the workflow writes none).
   */
  readPKeys(fileName: string): Promise<Map<string, string> | null>;
  /** Remove an uploaded file that will never be signalled (a crash before its signal); no error when absent. */
  discard(fileName: string): Promise<void>;
  close(): Promise<void>;
}
