import type { ErrorAreaCatalogue } from './error-code-table.js';

/**
 * Flow F4: opt-out export files (the `OPTOUT_FILE_…` codes are also the file ledger's `errorCode`)
 * and the opt-out writes to Dynamics.
 */
export const optOutErrors = {
  area: 'opt-out',
  title: 'Opt-outs (flow F4)',
  codes: {
    OPTOUT_FILE_EMPTY: {
      kind: 'invalid',
      meaning: 'An export file is empty: not even a header.',
      remedy: 'Check the Campaign export workflow; the file is failed and the next one is read.',
    },
    OPTOUT_FILE_HEADER_INVALID: {
      kind: 'invalid',
      meaning:
        'The header of an export file lacks a mapped column, cannot be read, or is longer than the line limit.',
      remedy:
        'Align the export workflow and `flows.optOut.mapping`; the file is failed, no line of it applied.',
    },
    OPTOUT_FILE_INCOMPLETE: {
      kind: 'unavailable',
      meaning:
        'The last line of an export file has no newline: it is still being written, or was cut. Held and read once whole.',
      remedy:
        'Nothing while the export runs; a file held longer than `incompleteAfterMinutes` is a problem to look at.',
    },
    OPTOUT_FILE_NO_TRAILER: {
      kind: 'unavailable',
      meaning:
        '`requireTrailer` is set and the export file does not end with a trailer yet. Held and read once it does.',
      remedy: 'Nothing while the export runs; otherwise make the export workflow write the trailer.',
    },
    OPTOUT_FILE_LINE_COUNT_MISMATCH: {
      kind: 'invalid',
      meaning: 'The trailer of an export file counts other data lines than the file holds.',
      remedy: 'Have the export run again; the file is failed, no line of it applied.',
    },
    OPTOUT_FILE_CHANGED: {
      kind: 'conflict',
      meaning: 'An export file changed between its scan and the reading of its lines.',
      remedy:
        'Nothing to fix in dcsync: the changed file is read as a new one. Check what writes to the export folder.',
    },
    OPTOUT_FILE_UNEXPECTED: {
      kind: 'internal',
      meaning: 'Reading an export file failed with an error that has no code.',
      remedy: 'Report it with the log entry; re-apply the file once fixed.',
    },
    OPTOUT_WRITE_CONFLICT: {
      kind: 'conflict',
      retryable: true,
      meaning:
        'The contact changed in Dynamics while its opt-out was written (its etag moved); retrying reads it again.',
      remedy: 'Nothing: it is retried.',
    },
    OPTOUT_WRITE_FAILED: {
      kind: 'unavailable',
      meaning: 'The opt-out write to Dynamics got no answer for this contact.',
      remedy: 'Nothing: it is retried.',
    },
  },
  patterns: [],
} as const satisfies ErrorAreaCatalogue;
