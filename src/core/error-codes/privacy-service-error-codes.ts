import type { ErrorAreaCatalogue } from './error-code-table.js';

/** The Adobe Privacy Service API (ConnectorError target `privacy`). */
export const privacyServiceErrors = {
  area: 'privacy-service',
  title: 'Adobe Privacy Service',
  codes: {
    PRIVACY_AUTH: {
      kind: 'unauthenticated',
      meaning:
        'The Privacy Service refused the credential or the IMS org (401, 403), or IMS refused to issue a token.',
      remedy: 'Check the credential, its Privacy Service permissions and `privacy.imsOrgId`.',
    },
    PRIVACY_NOT_FOUND: {
      kind: 'not-found',
      meaning: 'The Privacy Service does not know the job or resource (HTTP 404).',
      remedy: 'Check the job id named; a new request submits a new job.',
    },
    PRIVACY_INVALID_REQUEST: {
      kind: 'invalid',
      meaning:
        'The Privacy Service refused the request as invalid (a 4xx); the message has its code and title.',
      remedy: 'Check `privacy.namespaces` and `privacy.regulation`; report it if they are right.',
    },
    PRIVACY_RATE_LIMITED: {
      kind: 'throttled',
      meaning: 'The Privacy Service limited the calls (HTTP 429 or its own rate-limit code).',
      remedy: 'Nothing: it is retried after the wait it asks for.',
    },
    PRIVACY_TIMEOUT: {
      kind: 'unavailable',
      meaning: 'The Privacy Service did not answer in time.',
      remedy: 'Nothing: it is retried.',
    },
    PRIVACY_NETWORK: {
      kind: 'unavailable',
      meaning: 'The connection to the Privacy Service failed.',
      remedy: 'Nothing: it is retried.',
    },
    PRIVACY_BAD_RESPONSE: {
      kind: 'unavailable',
      meaning: 'The Privacy Service answered without the jobs or fields it must send (or not JSON).',
      remedy: 'Nothing: it is retried.',
    },
  },
  patterns: [
    {
      pattern: 'PRIVACY_HTTP_<status>',
      prefix: 'PRIVACY_HTTP_',
      suffix: 'status',
      kind: 'unavailable',
      meaning: 'The Privacy Service answered a server error (5xx).',
      remedy: 'Nothing: it is retried.',
    },
  ],
} as const satisfies ErrorAreaCatalogue;
