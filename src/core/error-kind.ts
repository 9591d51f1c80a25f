/**
 * What kind of failure an error is. The kind, not the code, decides how the edges answer (HTTP
 * status in `src/server/http-error.ts`, exit code in `src/cli/report-error.ts`) and whether the
 * engine retries; each code has exactly one kind (see `src/core/error-catalogue.ts`).
 */
export const errorKinds = [
  'not-found',
  'conflict',
  'invalid',
  'unauthenticated',
  'forbidden',
  'unavailable',
  'throttled',
  'internal',
] as const;
export type ErrorKind = (typeof errorKinds)[number];

/** What each kind means, for docs/errors.md and for whoever adds a code. */
export const errorKindMeanings: Readonly<Record<ErrorKind, string>> = {
  'not-found': 'What was asked for does not exist: a record, table, file, route, flow, request or job.',
  conflict:
    'The operation collides with the current state: a duplicate key, a target that exists, a record changed meanwhile.',
  invalid:
    'The input is wrong: a request, a record, a file, the configuration, or a call the remote refused as malformed. The same input fails the same way.',
  unauthenticated:
    "A credential is missing or refused: the caller's admin token or webhook key, dcsync's own credential at a remote, or the remote's TLS certificate or SSH host key.",
  forbidden:
    'The identity is known but may not do this: a CSRF check, a missing privilege or file permission.',
  unavailable:
    'A system is unreachable, timed out, busy, or gave no usable answer. A later attempt can succeed.',
  throttled:
    'A system asked to slow down, or a call budget is spent. Retried after the wait it names; throttling never uses up attempts.',
  internal:
    'Should not happen, and retrying gives the same result: a broken invariant in dcsync, an answer a remote must never give, or a remote job that failed.',
};

/**
 * Whether errors of a kind are retried unless their code says otherwise. Only waiting helps
 * `unavailable` and `throttled`; every other kind fails the same way until something changes.
 */
export const retryableByKind: Readonly<Record<ErrorKind, boolean>> = {
  'not-found': false,
  conflict: false,
  invalid: false,
  unauthenticated: false,
  forbidden: false,
  unavailable: true,
  throttled: true,
  internal: false,
};
