/**
 * The opt-out part of the State port (flow F4, invariants I7 and I8): the ledger of processed
 * export files with row-level progress, quarantined rows, the ledger of opt-out values the service
 * wrote (for echo suppression), and the audit of every opt-out decision.
 *
 * Nothing here holds personal data: contacts are named by their Dynamics id, rows by file and line.
 * Both store adapters implement it and pass one contract suite
 * (`test/integration/store/opt-out/opt-out-store-contract.ts`).
 */
import type { OptOutMode } from '../opt-out-resolver.js';
import type { Page, PageRequest } from './state-store.js';

/** The two systems an opt-out value lives in. */
export const optOutSystems = ['dynamics', 'campaign'] as const;
export type OptOutSystem = (typeof optOutSystems)[number];

/**
 * Processing states of an export file in the ledger (docs/opt-outs.md, "File states"):
 * - `processing`: lines are being applied (a crash or a transient failure resumes after the last
 *   committed batch);
 * - `processed`: every line is accounted for — applied, skipped or quarantined;
 * - `held`: not read because it is not whole (the last line has no newline, or a required trailer
 *   is missing); nothing of it was applied;
 * - `failed`: it cannot be read as an export (empty, wrong header, trailer count mismatch, an
 *   unexpected error); never retried by itself;
 * - `superseded`: the file grew after it was seen (it was a prefix of a newer version of the same
 *   name), and that version carries on from its line checkpoint.
 */
export const optOutFileStatuses = ['processing', 'processed', 'held', 'failed', 'superseded'] as const;
export type OptOutFileStatus = (typeof optOutFileStatuses)[number];

/** How a quarantined line was resolved by the operator. */
export const quarantineResolutions = ['reapplied', 'dismissed'] as const;
export type QuarantineResolution = (typeof quarantineResolutions)[number];

/** What happened to a processed file on the SFTP server. */
export const optOutFileDispositions = ['kept', 'archived', 'deleted'] as const;
export type OptOutFileDisposition = (typeof optOutFileDispositions)[number];

/** Identity of one export file: the same name, size and content is processed once. */
export interface OptOutFileIdentity {
  name: string;
  sizeBytes: number;
  /** SHA-256 of the content, lower-case hex. */
  checksum: string;
}

export interface OptOutFileInput extends OptOutFileIdentity {
  /** Where it was read from (`d365_loads/exports/optout_….csv` or a local path). */
  path: string;
  /** Modification time on the server (ms), when known. */
  modifiedAt: number | null;
}

/** One export file in the ledger. */
export interface OptOutFileRecord extends OptOutFileInput {
  id: string;
  status: OptOutFileStatus;
  /** Data lines up to and including this physical line number are done (header = line 1). */
  lineCheckpoint: number;
  rowsApplied: number;
  rowsQuarantined: number;
  /** Valid rows not addressed to a synced contact (no or foreign external id, unknown contact). */
  rowsSkipped: number;
  startedAt: number;
  finishedAt: number | null;
  disposition: OptOutFileDisposition;
  /** Path after archiving; null otherwise. */
  archivedPath: string | null;
  disposedAt: number | null;
  /** Why it is `failed` or `held`, or the last transient error while `processing`. */
  errorCode: string | null;
  /** Processing attempts that ended in an error (transient ones included). */
  attempts: number;
  /** Quarantined lines of this file name neither re-applied nor dismissed. */
  quarantineOpen: number;
  /** When the operator dismissed a `failed` or `held` file (it is no longer a problem). */
  dismissedAt: number | null;
}

/** A row that could not be applied. No values: only where it is and why. */
export interface QuarantinedRow {
  id: string;
  fileName: string;
  /** Physical line number in the file (header = 1). */
  line: number;
  /** Stable reason code, e.g. `bad-quoting`, `wrong-column-count`, `invalid-boolean`, `invalid-date`. */
  reason: string;
  /** Column the reason is about, when one is. */
  column: string | null;
  at: number;
  /** When the operator re-applied (after fixing) or dismissed the line; null while open. */
  resolvedAt: number | null;
  resolution: QuarantineResolution | null;
}

/** A value the service wrote to one side, kept to recognise it when it comes back (I8). */
export interface OptOutWrite {
  /** Dynamics contact id (lower case). */
  recordKey: string;
  /** Campaign attribute (`blackListEmail`…) — the mapping's stable name for the pair. */
  attribute: string;
  /** The system written to. */
  system: OptOutSystem;
  value: boolean;
  /** When the write was acknowledged (service clock). */
  at: number;
  /**
   * Dynamics only: `versionnumber` of the row after our write, as Dataverse returned it. A change
   * read back at exactly this version is our own write.
   */
  resultVersion: string | null;
}

/** Where a decision was taken. */
export const optOutDecisionSources = ['file', 'contact-change', 'retry'] as const;
export type OptOutDecisionSource = (typeof optOutDecisionSources)[number];

/** What a decision led to. */
export const optOutDecisionActions = [
  'none',
  'write-dynamics',
  'write-campaign',
  'write-both',
  'echo',
  'superseded',
] as const;
export type OptOutDecisionAction = (typeof optOutDecisionActions)[number];

/** One resolution of one opt-out attribute of one contact (the decision audit). */
export interface OptOutDecision {
  id: string;
  at: number;
  recordKey: string;
  dynamicsColumn: string;
  campaignAttribute: string;
  dynamicsValue: boolean | null;
  /** Dynamics `modifiedon` (ms). */
  dynamicsChangedAt: number | null;
  campaignValue: boolean | null;
  /** Campaign `…LastModified` (ms). */
  campaignChangedAt: number | null;
  winner: boolean;
  winningSide: OptOutSystem;
  /** An `OptOutRule` of the resolver, or `echo` for a recognised echo of our own write. */
  rule: string;
  mode: Exclude<OptOutMode, 'disabled'>;
  source: OptOutDecisionSource;
  /** File name and line (`optout_….csv:12`), or the Dynamics version of the contact change. */
  sourceRef: string | null;
  action: OptOutDecisionAction;
}

/** Progress of one batch of a file, committed in one transaction. */
export interface OptOutBatchCommit {
  fileId: string;
  /** New line checkpoint: every line up to it is done. */
  lineCheckpoint: number;
  rowsApplied: number;
  rowsQuarantined: number;
  rowsSkipped: number;
  quarantined: readonly NewQuarantinedRow[];
  writes: readonly OptOutWrite[];
  decisions: readonly Omit<OptOutDecision, 'id'>[];
}

/** A line to quarantine. */
export type NewQuarantinedRow = Omit<QuarantinedRow, 'id' | 'resolvedAt' | 'resolution'>;

export interface OptOutFileFinish {
  status: Exclude<OptOutFileStatus, 'processing' | 'superseded'>;
  errorCode?: string | null | undefined;
}

/** Options of {@link OptOutStore.beginFile}. */
export interface BeginFileOptions {
  /**
   * Id of an earlier entry of the same name whose content is a prefix of this one (the file grew):
   * the new entry starts at its line checkpoint and counters, and the earlier one becomes
   * `superseded` — in the same transaction.
   */
  supersedes?: string | null | undefined;
}

/** Lines of a file the operator re-applied (with what that wrote) or dismissed, in one transaction. */
export interface QuarantineResolutionInput {
  fileName: string;
  lines: readonly number[];
  resolution: QuarantineResolution;
  writes?: readonly OptOutWrite[] | undefined;
  decisions?: readonly Omit<OptOutDecision, 'id'>[] | undefined;
}

/** What still needs the operator, straight from the ledger. */
export interface OptOutFileProblemRows {
  /** `failed`, `held` and `processing` entries, not dismissed, oldest first. */
  files: OptOutFileRecord[];
  /** Open quarantined lines per file name, with the first such line. */
  quarantined: { fileName: string; lines: number; firstLine: number }[];
}

export interface OptOutStore {
  /**
   * Start (or resume) a file: returns the ledger entry for this name, size and checksum, creating
   * it in `processing` when absent. `created` tells which.
   */
  beginFile(
    input: OptOutFileInput,
    options?: BeginFileOptions,
  ): Promise<{ file: OptOutFileRecord; created: boolean }>;
  /** The entry of this exact identity, or null. */
  findFile(identity: OptOutFileIdentity): Promise<OptOutFileRecord | null>;
  /** Entries with this name (any size or content), newest first. */
  filesNamed(name: string): Promise<OptOutFileRecord[]>;
  /** Advance a file by one batch: counters, checkpoint, quarantined rows, writes, decisions — atomically. */
  commitBatch(commit: OptOutBatchCommit): Promise<void>;
  finishFile(fileId: string, finish: OptOutFileFinish): Promise<void>;
  /** Count a processing attempt that ended in `errorCode`; returns the attempts so far. */
  recordAttempt(fileId: string, errorCode: string): Promise<number>;
  /** The operator dismissed a `failed` or `held` entry: it is no longer a problem. */
  dismissFile(fileId: string): Promise<void>;
  /** Put a file back to the start (an operator re-ingests it by hand). */
  restartFile(fileId: string): Promise<void>;
  /** Record what became of the file on the server. */
  markDisposed(
    fileId: string,
    disposition: Exclude<OptOutFileDisposition, 'kept'>,
    archivedPath: string | null,
  ): Promise<void>;
  /** Newest first. */
  listFiles(page: PageRequest): Promise<Page<OptOutFileRecord>>;
  /** Files archived before `before` (ms) and not deleted yet, oldest first: due for retention. */
  archivedBefore(before: number, limit: number): Promise<OptOutFileRecord[]>;
  /** Entries archived at or after `since` (ms), not superseded, oldest first: to look at again. */
  archivedSince(since: number, limit: number): Promise<OptOutFileRecord[]>;
  /** When the newest file was first seen (its ledger start), or null. */
  lastFileStartedAt(): Promise<number | null>;

  /** Quarantined lines, oldest first; `open` keeps those neither re-applied nor dismissed. */
  listQuarantine(
    filter: { fileName?: string | undefined; open?: boolean | undefined },
    page: PageRequest,
  ): Promise<Page<QuarantinedRow>>;
  /**
   * Resolve open quarantined lines of a file, recording the writes and decisions of re-applied ones
   * in the same transaction. Returns the lines that were open and are now resolved.
   */
  resolveQuarantine(input: QuarantineResolutionInput): Promise<number[]>;
  /** Entries and quarantined lines that need the operator (at most `limit` of each). */
  fileProblems(limit: number): Promise<OptOutFileProblemRows>;

  /** Record writes outside a file batch (the contact flow, retries). */
  recordWrites(writes: readonly OptOutWrite[]): Promise<void>;
  /** The newest write per (record key, attribute) to `system` for these keys. */
  latestWrites(system: OptOutSystem, recordKeys: readonly string[]): Promise<OptOutWrite[]>;

  recordDecisions(decisions: readonly Omit<OptOutDecision, 'id'>[]): Promise<void>;
  /**
   * For these contacts, the newest Campaign `…LastModified` decided from an export file, per
   * attribute: a file row older than it is stale (files and fixed lines may be applied late).
   */
  latestFileCampaignTimes(
    recordKeys: readonly string[],
  ): Promise<{ recordKey: string; attribute: string; campaignChangedAt: number }[]>;
  /** Decisions newest first, optionally for one contact. */
  listDecisions(filter: { recordKey?: string | undefined }, page: PageRequest): Promise<Page<OptOutDecision>>;
}
