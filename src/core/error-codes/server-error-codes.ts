import type { ErrorAreaCatalogue } from './error-code-table.js';

/**
 * The operator HTTP API: codes its routes throw and those of its framework answers (which keep the
 * status the framework chose: 405, 406, 413, 415, 429).
 */
export const serverErrors = {
  area: 'server',
  title: 'Operator HTTP API',
  codes: {
    DASHBOARD_BUNDLE_MISSING: {
      kind: 'internal',
      meaning:
        "The dashboard's browser bundle is missing or empty next to the server code (a build without `npm run build`); the server refuses to start rather than serve an empty page.",
      remedy: 'Run `npm run build` (to run the TypeScript with tsx, `npm run build:dashboard`).',
    },
    UNAUTHORIZED: {
      kind: 'unauthenticated',
      meaning: 'An admin route was called without a valid admin token or dashboard session.',
      remedy: 'Send `Authorization: Bearer <admin token>` or sign in at `/login`.',
    },
    LOGIN_FAILED: {
      kind: 'unauthenticated',
      meaning: 'A dashboard sign-in gave a wrong admin token.',
      remedy: 'Use the token `server.adminToken` names.',
    },
    LOGIN_RATE_LIMITED: {
      kind: 'throttled',
      meaning: 'Too many failed sign-ins from this address within a minute.',
      remedy: 'Wait a minute.',
    },
    CSRF_TOKEN_INVALID: {
      kind: 'forbidden',
      meaning: "A state-changing request of a dashboard session lacks the session's CSRF header.",
      remedy: 'Send the `x-csrf-token` header the session issued (the dashboard does).',
    },
    CSRF_ORIGIN: {
      kind: 'forbidden',
      meaning: 'A state-changing request or a sign-in came from another origin.',
      remedy: 'Call the API from the dashboard itself, or with a bearer token.',
    },
    WEBHOOK_UNAUTHORIZED: {
      kind: 'unauthenticated',
      meaning: 'A Dataverse webhook call lacks the configured key header, or its value is wrong.',
      remedy: 'Align the webhook registration in Dataverse with `dynamics.webhook`.',
    },
    WEBHOOK_NO_ENTITY: {
      kind: 'invalid',
      meaning: 'A Dataverse webhook call names no table.',
      remedy: 'Register the webhook step with its table (PrimaryEntityName).',
    },
    BAD_REQUEST: {
      kind: 'invalid',
      meaning: 'The body, query or path parameters are malformed; the message names each field.',
      remedy: 'Fix the request.',
    },
    NOT_FOUND: {
      kind: 'not-found',
      meaning: 'No such route.',
      remedy: 'Check the path against docs/operations.md.',
    },
    NOT_CONFIGURED: {
      kind: 'not-found',
      meaning: 'The area asked for (opt-outs, privacy requests) is not configured in this deployment.',
      remedy: 'Configure the flow or the `privacy` section, if the deployment should serve it.',
    },
    FLOW_NOT_FOUND: {
      kind: 'not-found',
      meaning: 'No flow has this id.',
      remedy: '`GET /api/flows` lists them.',
    },
    RUN_NOT_FOUND: {
      kind: 'not-found',
      meaning: 'No run has this id (or it ended longer ago than `history.runRetentionDays`).',
      remedy: '`GET /api/runs` lists them.',
    },
    PRIVACY_REQUEST_NOT_FOUND: {
      kind: 'not-found',
      meaning: 'No privacy request has this id.',
      remedy: '`GET /api/privacy/requests` lists them.',
    },
    METHOD_NOT_ALLOWED: {
      kind: 'invalid',
      meaning: 'The route does not take this method (HTTP 405).',
      remedy: 'Check the method against docs/operations.md.',
    },
    NOT_ACCEPTABLE: {
      kind: 'invalid',
      meaning: 'The route cannot answer in the type the request accepts (HTTP 406).',
      remedy: 'Accept `application/json`.',
    },
    BODY_TOO_LARGE: {
      kind: 'invalid',
      meaning: 'The request body is larger than the limit (HTTP 413).',
      remedy: 'Send less: bodies are limited to 64 KiB (webhooks: 1 MiB).',
    },
    UNSUPPORTED_MEDIA_TYPE: {
      kind: 'invalid',
      meaning: 'The body is not JSON (or a form, for `/login`) (HTTP 415).',
      remedy: 'Send `content-type: application/json`.',
    },
    TOO_MANY_REQUESTS: {
      kind: 'throttled',
      meaning: 'The framework refused the request as one too many (HTTP 429).',
      remedy: 'Wait and send it again.',
    },
    INTERNAL: {
      kind: 'internal',
      meaning: 'An error without a code reached the API; its details are in the server log only.',
      remedy: 'Find the `request failed` entry in the log and report it.',
    },
  },
  patterns: [
    {
      pattern: 'HTTP_<status>',
      prefix: 'HTTP_',
      suffix: 'status',
      kind: 'invalid',
      meaning: 'Another 4xx the framework raised, with its status.',
      remedy: 'Fix the request as the status says.',
    },
  ],
} as const satisfies ErrorAreaCatalogue;
