import type { ErrorAreaCatalogue } from './error-code-table.js';

/** Adobe IMS, which issues the token for Campaign and the Privacy Service (ConnectorError target `ims`). */
export const imsErrors = {
  area: 'ims',
  title: 'Adobe IMS (tokens for Campaign and the Privacy Service)',
  codes: {
    IMS_AUTH: {
      kind: 'unauthenticated',
      meaning: 'IMS refused the client-credentials token request (wrong client id or secret, no access).',
      remedy: 'Check `campaign.clientId` and `campaign.clientSecret` in the Adobe Developer Console.',
    },
    IMS_TIMEOUT: {
      kind: 'unavailable',
      meaning: 'IMS did not answer the token request in time.',
      remedy: 'Nothing: it is retried.',
    },
    IMS_NETWORK: {
      kind: 'unavailable',
      meaning: 'The connection to IMS failed: refused, dropped, or its TLS certificate not trusted.',
      remedy:
        'Retried. If it lasts, check the network to `campaign.imsUrl` and, behind a TLS proxy, `campaign.caFile`.',
    },
    IMS_BAD_RESPONSE: {
      kind: 'unavailable',
      meaning: 'IMS answered without a usable token (no JSON, no access_token or expires_in).',
      remedy: 'Nothing: it is retried.',
    },
  },
  patterns: [
    {
      pattern: 'IMS_HTTP_<status>',
      prefix: 'IMS_HTTP_',
      suffix: 'status',
      kind: 'unavailable',
      meaning: 'IMS answered a server error (5xx) or 429 to the token request.',
      remedy: 'Nothing: it is retried.',
    },
  ],
} as const satisfies ErrorAreaCatalogue;
