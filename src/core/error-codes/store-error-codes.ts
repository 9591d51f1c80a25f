import type { ErrorAreaCatalogue } from './error-code-table.js';

/** The state store (SQLite or PostgreSQL). */
export const storeErrors = {
  area: 'store',
  title: 'State store',
  codes: {
    STORE_INVALID_INPUT: {
      kind: 'invalid',
      meaning: 'The store refused a value it was given (an empty text, an unknown lane, a bad number or id).',
      remedy: 'Through the API: fix the request. Otherwise a bug in the caller; report it with the message.',
    },
    STORE_NOT_FOUND: {
      kind: 'not-found',
      meaning:
        'A command that only reads the state store found no SQLite file at `store.url`; it does not create one.',
      remedy:
        'Check `--config` names the configuration the sync runs with (a relative `sqlite:` path is relative to that file), or run `dcsync run` first.',
    },
    STORE_INVALID_CURSOR: {
      kind: 'invalid',
      meaning: 'A page cursor that this store did not issue.',
      remedy: 'Start the list again without a cursor.',
    },
    STORE_UNAVAILABLE: {
      kind: 'unavailable',
      meaning: 'PostgreSQL is unreachable or dropped the connection.',
      remedy: 'Retried. If it lasts, check the database, the network and `store.url`.',
    },
    STORE_BUSY: {
      kind: 'unavailable',
      meaning: 'The SQLite database stayed locked by another process for longer than the busy timeout.',
      remedy: 'Retried. Run one dcsync process per SQLite file; use PostgreSQL for several workers.',
    },
    STORE_CONFLICT: {
      kind: 'conflict',
      retryable: true,
      meaning:
        'PostgreSQL aborted a transaction that collided with another one (serialization failure, deadlock); running it again reads the new state.',
      remedy: 'Nothing: it is retried. Many of them mean heavy contention between workers.',
    },
    STORE_CLOSED: {
      kind: 'unavailable',
      retryable: false,
      meaning:
        'The store was used after this process closed it (while shutting down); retrying in this process cannot succeed.',
      remedy: 'Nothing during shutdown; at any other time, report it.',
    },
    STORE_NOT_MIGRATED: {
      kind: 'unavailable',
      retryable: false,
      meaning:
        'A table is missing: the store migrations have not run. Not retried: nothing changes until they do.',
      remedy: 'Let dcsync migrate the store (commands do when they open it), then start again.',
    },
    STORE_SCHEMA_TOO_NEW: {
      kind: 'unavailable',
      retryable: false,
      meaning:
        'The database holds a newer schema than this build knows (a newer dcsync migrated it). Not retried: nothing changes until dcsync is upgraded.',
      remedy: 'Upgrade dcsync to at least the version that migrated the store.',
    },
    STORE_LOCK_LOST: {
      kind: 'conflict',
      meaning:
        "A worker wrote under a duty (a named lock, e.g. a table's poller) that another worker had taken over meanwhile (it was paused or cut off longer than the duty TTL); the write was refused as a whole, so the new holder's work stands.",
      remedy:
        'Nothing: the worker gives the duty up and tries to take it again. Often: the worker is starved (CPU, network to PostgreSQL); raise `workers.dutyTtlMs` if pauses this long are normal.',
    },
    STORE_QUERY_FAILED: {
      kind: 'internal',
      meaning:
        'A statement failed for another reason (a constraint, a syntax error); the message has the SQL state.',
      remedy: 'Report it with the message and the log entry.',
    },
    STORE_CORRUPT: {
      kind: 'internal',
      meaning:
        'A stored value (a JSON column) does not hold what this version expects; the message names the row and the column.',
      remedy: 'Check the database was not written by a newer version or by hand; report it with the message.',
    },
    CHECKPOINT_INVALID: {
      kind: 'internal',
      meaning:
        'A checkpoint (a read cursor, a pause state, a heartbeat…) does not parse with its schema; the message names it and says what is wrong.',
      remedy:
        'Check the database was not written by another version or by hand; delete the checkpoint only if you know what it holds.',
    },
  },
  patterns: [],
} as const satisfies ErrorAreaCatalogue;
