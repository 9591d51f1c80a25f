import type { ErrorAreaCatalogue } from './error-code-table.js';

/** Adobe I/O Events' Journaling API, where Campaign's e-mail events are read (ConnectorError target `events`). */
export const adobeEventsErrors = {
  area: 'adobe-events',
  title: 'Adobe I/O Events (journal)',
  codes: {
    EVENTS_AUTH: {
      kind: 'unauthenticated',
      meaning:
        'The journal refused the credential or the IMS org (401, 403), or IMS refused to issue a token.',
      remedy:
        'Check the credential, that its Developer Console project has the I/O Management API, and the IMS org id.',
    },
    EVENTS_NOT_FOUND: {
      kind: 'not-found',
      meaning: 'The journal URL does not exist (HTTP 404): the event registration was deleted or mistyped.',
      remedy: 'Copy the journaling endpoint URL of the event registration from the Developer Console.',
    },
    EVENTS_INVALID_REQUEST: {
      kind: 'invalid',
      meaning: 'The journal refused the request as invalid (a 4xx such as a malformed position or limit).',
      remedy:
        'Report it with the message; a stored position that is refused can be reset to the oldest events.',
    },
    EVENTS_RATE_LIMITED: {
      kind: 'throttled',
      meaning: 'The journal limited the calls (HTTP 429).',
      remedy: 'Nothing: it is read again after the wait it asks for.',
    },
    EVENTS_TIMEOUT: {
      kind: 'unavailable',
      meaning: 'The journal did not answer in time.',
      remedy: 'Nothing: it is read again.',
    },
    EVENTS_NETWORK: {
      kind: 'unavailable',
      meaning: 'The connection to the journal failed.',
      remedy: 'Nothing: it is read again.',
    },
    EVENTS_BAD_RESPONSE: {
      kind: 'unavailable',
      meaning: 'The journal answered without the events, positions or links it must send (or not JSON).',
      remedy: 'Nothing: it is read again; report it if it persists.',
    },
  },
  patterns: [
    {
      pattern: 'EVENTS_HTTP_<status>',
      prefix: 'EVENTS_HTTP_',
      suffix: 'status',
      kind: 'unavailable',
      meaning: 'The journal answered a server error (5xx).',
      remedy: 'Nothing: it is read again.',
    },
  ],
} as const satisfies ErrorAreaCatalogue;
