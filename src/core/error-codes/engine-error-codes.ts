import type { ErrorAreaCatalogue } from './error-code-table.js';

/** The streaming engine: applying work items (mapping, links, the Campaign key) and their leases. */
export const engineErrors = {
  area: 'engine',
  title: 'Engine (applying changes)',
  codes: {
    WORKER_SQLITE_SHARED: {
      kind: 'conflict',
      meaning:
        'Another `dcsync run` process is running on the same SQLite state store; SQLite serves one process (one worker) only.',
      remedy:
        'Stop the other process, or for several workers move the state store to PostgreSQL (`store.url: postgres://…`, see docs/deployment.md).',
    },
    WORKER_SCHEMA_BEHIND: {
      kind: 'conflict',
      meaning:
        "The state store's schema is older than this worker's code needs (its migrations were not applied: the store was opened without migrating).",
      remedy:
        'Let this version migrate the store (start `dcsync run` without skipping migrations), see "Rolling upgrades" in docs/operations.md.',
    },
    WORKER_INCOMPATIBLE: {
      kind: 'conflict',
      meaning:
        'A live worker on the same store runs an incompatible version (another major version, or another store schema version); two such workers must not share the work.',
      remedy:
        'Upgrade (or stop) the older workers first, then start this one; see "Rolling upgrades" in docs/operations.md. The message names the live worker and its version.',
    },
    REPLAY_SINCE_INVALID: {
      kind: 'invalid',
      meaning:
        'A replay of an event flow (`dcsync replay --flow emailEvents --since DATE`) asked for a date the journal cannot give: older than its retention (Adobe I/O Events keeps events 7 days) or in the future; or `--since` was given for a flow read from a table, which replays every row.',
      remedy:
        'Choose a date within the last 7 days (the message names the earliest); events older than that are gone from the journal. For a table flow, leave --since out.',
    },
    FLOW_UNKNOWN: {
      kind: 'not-found',
      meaning:
        'A work item names a flow that is not configured (it was removed or renamed after the item was staged).',
      remedy: 'Discard the dead letters of that flow, or configure the flow again.',
    },
    PAYLOAD_INVALID: {
      kind: 'invalid',
      meaning:
        "A work item's payload does not fit its flow's payload schema (written by another version, or edited by hand); the message names the record and the field.",
      remedy:
        'Discard the dead letter; the next change of the record stages a valid one (or replay the table).',
    },
    SOURCE_CURSOR_EXPIRED: {
      kind: 'not-found',
      meaning:
        "A flow's stored read cursor can no longer be followed (a Dynamics delta link older than the change retention); the engine re-reads the source (re-baseline) instead of retrying.",
      remedy: 'Nothing: the re-baseline follows. Frequent ones mean the flow stood still for days.',
    },
    SOURCE_CURSOR_REFUSED: {
      kind: 'not-found',
      meaning:
        "A flow's stored read cursor was refused by the source with an answer that is not the documented expiry (for Dynamics: a 4xx other than ExpiredVersionStamp on a delta link); the engine re-reads the source (re-baseline) rather than retry a cursor that keeps being refused.",
      remedy:
        'Nothing for the data: the re-baseline follows, with a delta-rebaseline alert naming the answer. If it repeats, report the status and code.',
    },
    MAPPING_INVALID: {
      kind: 'invalid',
      meaning:
        "A record's values cannot be mapped (a value the mapping, a replacement or a picklist rule refuses).",
      remedy: 'Fix the record in Dynamics or the mapping, then retry the dead letter.',
    },
    LINK_INVALID: {
      kind: 'invalid',
      meaning: 'A lookup column that a link follows does not hold a Dynamics id.',
      remedy:
        'Fix the lookup value in Dynamics or the link in the configuration, then retry the dead letter.',
    },
    LINK_PARENT_MOVED: {
      kind: 'conflict',
      retryable: true,
      meaning:
        'The parent of a child record has a new Campaign record since the child was resolved; retrying resolves the link to it.',
      remedy: 'Nothing: it is retried.',
    },
    SINK_KEY_CONFLICT: {
      kind: 'conflict',
      retryable: true,
      meaning:
        'Campaign holds a record with this key but it cannot be read (a child hidden while its parent is absent); retried until the parent lands.',
      remedy:
        'Nothing while parents are still syncing; if it dead-letters, check the parent record in Campaign.',
    },
    LEASE_EXPIRED: {
      kind: 'unavailable',
      meaning:
        'The process that leased a work item stopped or stalled before completing it; another worker took the item over.',
      remedy:
        'Nothing: it is retried. Many of them: look for crashing or overloaded workers, or a short `engine.leaseMs`.',
    },
  },
  patterns: [],
} as const satisfies ErrorAreaCatalogue;
