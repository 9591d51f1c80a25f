import type { ErrorAreaCatalogue } from './error-code-table.js';

/**
 * The Campaign Standard REST API and its call budget. Messages carry ids and Campaign's own codes
 * (RST-…, XTK-…, PGS-…), never field values.
 */
export const campaignErrors = {
  area: 'campaign',
  title: 'Adobe Campaign Standard',
  codes: {
    CAMPAIGN_NOT_FOUND: {
      kind: 'not-found',
      meaning: 'The record does not exist (HTTP 404 on a profile or a read).',
      remedy: 'Nothing when the record was deleted meanwhile; otherwise check the PKey or key named.',
    },
    CAMPAIGN_HIDDEN_OR_MISSING: {
      kind: 'not-found',
      meaning:
        'A custom-resource record is missing, or hidden because its 1-cardinality parent is absent (HTTP 404 on a write).',
      remedy: 'Usually resolves once the parent lands; if it dead-letters, check the parent in Campaign.',
    },
    CAMPAIGN_DUPLICATE_KEY: {
      kind: 'conflict',
      meaning: 'A record with this identification key exists already (PGS-220000 duplicate key).',
      remedy:
        'Creates turn into updates by themselves; as a dead letter, look for a second record with the key.',
    },
    CAMPAIGN_REJECTED: {
      kind: 'invalid',
      meaning:
        "Campaign refused the record (type, length, enumeration, read-only or unknown property); the message has Campaign's reason without values.",
      remedy: 'Fix the record in Dynamics or the mapping, then retry the dead letter.',
    },
    CAMPAIGN_KEY_NOT_DECLARED: {
      kind: 'invalid',
      meaning:
        'Campaign could not parse a record addressed by its identification-key value (HTTP 500, XTK-170036): the key (`externalId` for profiles, the "CRM ID" key column of a custom resource) is not declared as an identification key. No record of the flow can be found, so the flow is paused (one alert, no dead letters).',
      remedy:
        'In Campaign, declare the field the message names as an identification key (Profiles & Services Ext extension for profiles, the custom resource otherwise), publish the custom resources, then resume the flow.',
    },
    CAMPAIGN_AUTH: {
      kind: 'unauthenticated',
      meaning:
        'Campaign refused the credential (401 with a fresh token, or 403), or IMS refused to issue a token.',
      remedy: "Check `campaign.clientId`, `campaign.clientSecret` and the credential's product profile.",
    },
    CAMPAIGN_BAD_URI: {
      kind: 'invalid',
      meaning: 'The Adobe gateway cannot route the URL: the organization in `campaign.url` is wrong.',
      remedy: 'Fix the organization (last path segment) of `campaign.url`.',
    },
    CAMPAIGN_TIMEOUT: {
      kind: 'unavailable',
      meaning: 'Campaign did not answer in time.',
      remedy: 'Nothing: it is retried; the call budget slows down meanwhile.',
    },
    CAMPAIGN_NETWORK: {
      kind: 'unavailable',
      meaning: 'The connection to Campaign failed or was dropped.',
      remedy: 'Nothing: it is retried. If it lasts, check DNS, proxies and `campaign.url`.',
    },
    CAMPAIGN_BAD_RESPONSE: {
      kind: 'unavailable',
      meaning: 'Campaign answered something unusable (not JSON, no PKey, no content).',
      remedy: 'Nothing: it is retried. If it lasts, check proxies between dcsync and Campaign.',
    },
    CAMPAIGN_UNSAFE_LINK: {
      kind: 'internal',
      meaning:
        'Campaign answered a link to another origin; dcsync does not follow it (the token would go along).',
      remedy: 'Check `campaign.url` and any proxy that rewrites links.',
    },
    CAMPAIGN_RATE_LIMITED: {
      kind: 'throttled',
      meaning: 'Campaign limited the calls (HTTP 429), with the wait it asks for.',
      remedy:
        'Nothing: it is retried and the call budget slows down. Lower `campaign.budget` if it persists.',
    },
    CAMPAIGN_WORKFLOW_NOT_STARTED: {
      kind: 'conflict',
      meaning:
        'Campaign refused an External signal because the workflow is not started (paused or stopped); a signal only reaches a started workflow.',
      remedy: 'Start the workflow in Campaign (or with its `start` command), then signal again.',
    },
    CAMPAIGN_SIGNAL_PARAMETERS: {
      kind: 'invalid',
      meaning:
        "Campaign refused an External signal: a parameter is not declared on the signal activity, its value does not have the declared type, or the payload lacks 'source' or exceeds 64 KB.",
      remedy:
        'Declare the parameter (name and type) on the External signal activity of the workflow named in the message, as docs/bulk-loads.md shows.',
    },
    CAMPAIGN_SIGNAL_TOO_SOON: {
      kind: 'throttled',
      meaning:
        'Campaign refused an External signal sent less than 10 minutes after the previous one to the same workflow (documented limit).',
      remedy: 'Nothing: signal again once 10 minutes have passed since the last accepted signal.',
    },
    CAMPAIGN_BULK_ROW_REJECTED: {
      kind: 'invalid',
      meaning:
        "Campaign's import workflow refused the record's row of a bulk-load file (the reason is Campaign's, from the workflow's reject file).",
      remedy:
        'Fix the value in Dynamics (or the mapping) and retry the dead letter; a retry is written through REST.',
    },
    CAMPAIGN_SIGNAL_NOT_FOUND: {
      kind: 'invalid',
      meaning:
        'The workflow has no External signal activity (or none with the configured name) with a trigger URL.',
      remedy:
        'Add an External signal activity to the workflow in Campaign (or fix the activity name in the configuration) and start it.',
    },
    CAMPAIGN_BUDGET_EXHAUSTED: {
      kind: 'throttled',
      meaning: 'The call budget cannot admit the call soon (daily budget spent, or a long Retry-After).',
      remedy: 'Nothing: it is retried when the budget allows. See the budget use in `dcsync status`.',
    },
  },
  patterns: [
    {
      pattern: 'CAMPAIGN_HTTP_<status>',
      prefix: 'CAMPAIGN_HTTP_',
      suffix: 'status',
      kind: 'unavailable',
      meaning: 'Campaign answered a server error (5xx) without an application error code.',
      remedy: 'Nothing: it is retried and the call budget slows down.',
    },
  ],
} as const satisfies ErrorAreaCatalogue;
