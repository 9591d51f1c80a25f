import type { ErrorAreaCatalogue } from './error-code-table.js';

/** The Dataverse Web API and the Entra ID token it needs (ConnectorError targets `dynamics`, `entra`). */
export const dynamicsErrors = {
  area: 'dynamics',
  title: 'Dynamics 365 (Dataverse Web API, Entra ID)',
  codes: {
    DYNAMICS_BAD_REQUEST: {
      kind: 'invalid',
      meaning:
        'Dataverse refused a request as malformed (HTTP 400); the message has its error code and text.',
      remedy: 'Usually a value Dataverse refuses (type, length, option set); fix the record or the mapping.',
    },
    DYNAMICS_UNAUTHORIZED: {
      kind: 'unauthenticated',
      meaning: 'Dataverse refused the access token (HTTP 401).',
      remedy: 'Check the application user of `dynamics.clientId` in the environment.',
    },
    DYNAMICS_FORBIDDEN: {
      kind: 'forbidden',
      meaning: 'The application user lacks a privilege for this request (HTTP 403).',
      remedy: "Give the application user's security role the privilege the message names.",
    },
    DYNAMICS_NOT_FOUND: {
      kind: 'not-found',
      meaning: 'The row or resource does not exist (HTTP 404).',
      remedy: 'Nothing when the row was deleted meanwhile; otherwise check the id or entity set named.',
    },
    DYNAMICS_TABLE_NOT_FOUND: {
      kind: 'not-found',
      meaning: 'A configured table does not exist in the environment.',
      remedy: 'Fix the table logical name in the configuration, or deploy the solution that adds it.',
    },
    DYNAMICS_ALREADY_EXISTS: {
      kind: 'conflict',
      meaning: 'A create met a row with the same id or alternate key (HTTP 412, duplicate record).',
      remedy: 'Nothing when it follows a retried create; otherwise look at the row named.',
    },
    DYNAMICS_PRECONDITION_FAILED: {
      kind: 'conflict',
      meaning: 'The row changed since it was read (HTTP 412 on If-Match).',
      remedy: 'The caller reads the row again; as a dead letter, retry it.',
    },
    DYNAMICS_PAYLOAD_TOO_LARGE: {
      kind: 'invalid',
      meaning: 'Dataverse refused the request body as too large (HTTP 413).',
      remedy: 'Report it with the message: dcsync should not send such a body.',
    },
    DYNAMICS_RATE_LIMITED: {
      kind: 'throttled',
      meaning: 'Dataverse service protection limited the calls (HTTP 429), with the wait it asks for.',
      remedy: 'Nothing: it is retried after Retry-After. Lower `dynamics.maxConcurrency` if it persists.',
    },
    DYNAMICS_BUDGET_EXHAUSTED: {
      kind: 'throttled',
      meaning:
        "dcsync's own Dynamics request budget (client-side pacing) is used up for longer than a call may wait.",
      remedy:
        'Nothing: it is retried when the budget refills. Raise the budget if the environment allows more.',
    },
    DYNAMICS_TIMEOUT: {
      kind: 'unavailable',
      meaning: 'Dataverse did not answer within `dynamics.timeoutMs`.',
      remedy: 'Nothing: it is retried. If it lasts, check the environment and the network.',
    },
    DYNAMICS_NETWORK: {
      kind: 'unavailable',
      meaning: 'The connection to Dataverse failed or was dropped.',
      remedy: 'Nothing: it is retried. If it lasts, check DNS, proxies and `dynamics.url`.',
    },
    DYNAMICS_TLS: {
      kind: 'unauthenticated',
      meaning: "Dataverse's TLS certificate is not trusted (or a TLS-inspecting proxy presented its own).",
      remedy: "Add the proxy's CA certificate with `dynamics.caFile`, or fix the proxy.",
    },
    DYNAMICS_BAD_RESPONSE: {
      kind: 'unavailable',
      meaning:
        'Dataverse answered something unusable (invalid JSON, a page without rows, metadata without names).',
      remedy: 'Nothing: it is retried. If it lasts, check proxies between dcsync and Dataverse.',
    },
    DYNAMICS_CREATE_UNCONFIRMED: {
      kind: 'internal',
      meaning:
        'A create succeeded without naming the new row (no OData-EntityId); not retried, so no second row is made.',
      remedy: 'Find the row in Dynamics; report it with the message.',
    },
    DYNAMICS_UNSAFE_LINK: {
      kind: 'internal',
      meaning:
        'Dataverse answered a next or delta link to another origin; dcsync does not follow it (the token would go along).',
      remedy: 'Check `dynamics.url` and any proxy that rewrites links.',
    },
    DYNAMICS_DELTA_EXPIRED: {
      kind: 'not-found',
      meaning:
        "The stored delta link is older than Dataverse's change retention; the engine re-reads the table (re-baseline) instead of retrying.",
      remedy: 'Nothing: the re-baseline follows. Frequent ones mean the flow stood still for days.',
    },
    DYNAMICS_DELTA_LINK_REFUSED: {
      kind: 'not-found',
      meaning:
        'A delta link was refused with a 4xx other than the documented ExpiredVersionStamp (and not sign-in, privilege, throttling or change tracking); the engine gives the link up and re-reads the table (re-baseline) instead of retrying it.',
      remedy:
        'Nothing for the data: the re-baseline follows and a delta-rebaseline alert names the status and code. If it repeats, report the status and code with the message.',
    },
    DYNAMICS_DELTA_LINK_MISSING: {
      kind: 'internal',
      meaning:
        'The last change-tracking page carried neither a next link nor a delta link; the read cannot continue safely.',
      remedy: 'Check proxies that strip OData annotations (`Prefer: odata.include-annotations`).',
    },
    DYNAMICS_CHANGE_TRACKING_DISABLED: {
      kind: 'invalid',
      meaning: 'Change tracking is not enabled on a synced table.',
      remedy: 'Enable change tracking on the table (table properties in the maker portal).',
    },
    DYNAMICS_INVALID_ID: {
      kind: 'invalid',
      meaning: 'A value used as a Dataverse row id is not a GUID.',
      remedy: 'Report it with the message: ids come from Dataverse itself.',
    },
    DYNAMICS_BATCH_TOO_LARGE: {
      kind: 'internal',
      meaning: 'A `$batch` was built with more requests than Dataverse accepts.',
      remedy: 'Report it: the writer splits its batches.',
    },
    DYNAMICS_BATCH_ROLLED_BACK: {
      kind: 'unavailable',
      meaning: 'An operation of a `$batch` change set was rolled back because another one of the set failed.',
      remedy: 'Nothing: it is retried; the failing operation has its own code.',
    },
    DYNAMICS_BATCH_NOT_EXECUTED: {
      kind: 'unavailable',
      meaning: 'An operation of a `$batch` was not executed because an earlier one failed.',
      remedy: 'Nothing: it is retried; the failing operation has its own code.',
    },
    ENTRA_UNAVAILABLE: {
      kind: 'unavailable',
      meaning: 'Entra ID could not be reached or failed to issue a token for a transient reason.',
      remedy: 'Nothing: it is retried. If it lasts, check the network to `dynamics.authorityHost`.',
    },
    ENTRA_NO_TOKEN: {
      kind: 'unavailable',
      meaning: 'Entra ID answered without an access token.',
      remedy: 'Nothing: it is retried.',
    },
    ENTRA_INVALID_CLIENT: {
      kind: 'unauthenticated',
      meaning: 'Entra ID refused the client credential (`invalid_client`: wrong or expired secret).',
      remedy: 'Renew `dynamics.clientSecret` (or the certificate) of the app registration.',
    },
    ENTRA_INVALID_GRANT: {
      kind: 'unauthenticated',
      meaning: 'Entra ID refused the grant (`invalid_grant`).',
      remedy: 'Check the app registration and its credential.',
    },
    ENTRA_UNAUTHORIZED_CLIENT: {
      kind: 'forbidden',
      meaning:
        'The app registration may not use the client-credentials flow in this tenant (`unauthorized_client`).',
      remedy: 'Allow the app in the tenant (admin consent) or use the right `dynamics.tenantId`.',
    },
    ENTRA_INVALID_SCOPE: {
      kind: 'invalid',
      meaning: 'Entra ID refused the scope derived from `dynamics.url` (`invalid_scope`).',
      remedy: 'Check `dynamics.url`: it must be the environment URL.',
    },
    ENTRA_INVALID_RESOURCE: {
      kind: 'invalid',
      meaning: 'Entra ID does not know the resource of `dynamics.url` in this tenant (`invalid_resource`).',
      remedy: 'Check `dynamics.url` and `dynamics.tenantId`.',
    },
    ENTRA_INVALID_REQUEST: {
      kind: 'invalid',
      meaning: 'Entra ID refused the token request as malformed (`invalid_request`), e.g. an unknown tenant.',
      remedy: 'Check `dynamics.tenantId` and `dynamics.authorityHost`.',
    },
    ENTRA_UNSUPPORTED_GRANT_TYPE: {
      kind: 'invalid',
      meaning: 'Entra ID refused the client-credentials grant (`unsupported_grant_type`).',
      remedy: 'Check `dynamics.authorityHost`: it must be an Entra ID authority.',
    },
  },
  patterns: [
    {
      pattern: 'DYNAMICS_HTTP_<status>',
      prefix: 'DYNAMICS_HTTP_',
      suffix: 'status',
      statuses: [500, 502, 503, 504],
      kind: 'unavailable',
      meaning: 'Dataverse answered a server error (500, 502, 503, 504).',
      remedy:
        'Nothing: it is retried. If it lasts, check the environment in the Power Platform admin center.',
    },
    {
      pattern: 'DYNAMICS_HTTP_<status>',
      prefix: 'DYNAMICS_HTTP_',
      suffix: 'status',
      kind: 'invalid',
      meaning:
        'Dataverse answered a status dcsync has no code for (e.g. 405, 409, 501); the message has its error text.',
      remedy: 'Read the message; report it if the request looks right.',
    },
  ],
} as const satisfies ErrorAreaCatalogue;
