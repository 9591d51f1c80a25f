import type { ErrorAreaCatalogue } from './error-code-table.js';

/**
 * Flow F5: privacy requests. Most of these are not thrown but recorded as the failed request's
 * `errorCode`; the Privacy Service's own failures are in the `privacy-service` area.
 */
export const privacyErrors = {
  area: 'privacy',
  title: 'Privacy requests (flow F5)',
  codes: {
    PRIVACY_INVALID_CONTACT: {
      kind: 'invalid',
      meaning: 'A privacy request was asked for something that is not a Dynamics contact id (a GUID).',
      remedy: 'Give the contact id (GUID) from Dynamics.',
    },
    PRIVACY_REQUEST_UNKNOWN: {
      kind: 'not-found',
      meaning: 'No privacy request has this id.',
      remedy: 'List the requests (`dcsync privacy list`) for the right id.',
    },
    PRIVACY_ALREADY_DELETED: {
      kind: 'conflict',
      meaning: 'The contact was privacy-deleted before (a tombstone holds its key).',
      remedy: 'Nothing to delete; the earlier request is the record of it.',
    },
    PRIVACY_NO_IDENTITY: {
      kind: 'not-found',
      meaning:
        'No identity of the configured namespaces is known for the contact, so no Privacy Service job can name it.',
      remedy: 'Check `privacy.namespaces` and that the contact has the identity fields they read.',
    },
    PRIVACY_JOB_MISSING: {
      kind: 'not-found',
      meaning: 'The Privacy Service job of the request was not recorded, or the service no longer knows it.',
      remedy: 'Start a new request for the contact; report it if it happens again.',
    },
    PRIVACY_JOB_FAILED: {
      kind: 'internal',
      meaning:
        'The Privacy Service job ended in error (for Campaign or as a whole); the message has its product responses.',
      remedy: 'Look up the job in the Adobe Privacy Service UI, fix the cause, and start a new request.',
    },
    PRIVACY_CAMPAIGN_NOT_GONE: {
      kind: 'conflict',
      meaning:
        'Records the delete should have removed are still in Campaign after every verification attempt.',
      remedy: 'Delete the records named by hand (or with the Privacy Service), then start a new request.',
    },
    PRIVACY_NOT_GONE: {
      kind: 'conflict',
      meaning: 'The contact or its records are still in Campaign or Dynamics at the final verification.',
      remedy: 'Delete what the message names by hand, then start a new request.',
    },
    PRIVACY_STEP_FAILED: {
      kind: 'internal',
      meaning: 'A step of the privacy runbook failed with an error that has no code.',
      remedy: 'Report it with the log entry; the contact stays held until a new request completes.',
    },
  },
  patterns: [],
} as const satisfies ErrorAreaCatalogue;
