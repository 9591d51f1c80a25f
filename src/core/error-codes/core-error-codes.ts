import type { ErrorAreaCatalogue } from './error-code-table.js';

/** Codes of errors that carry none of their own. */
export const coreErrors = {
  area: 'core',
  title: 'Any area',
  codes: {
    UNEXPECTED: {
      kind: 'internal',
      retryable: true,
      meaning:
        'A failure without a code (not a SyncError): mostly a library or network fault, so the engine retries it like an unavailable system.',
      remedy: 'Read the message and the log entry; if it repeats, report it: the failure deserves a code.',
    },
  },
  patterns: [],
} as const satisfies ErrorAreaCatalogue;
