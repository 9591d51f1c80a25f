/**
 * The CLI's fixed table of exit codes (documented in README.md). Errors get theirs from their area,
 * once, in `report-error.ts` (docs/errors.md lists which).
 */
export const exitCodes = {
  /** Success. */
  ok: 0,
  /** Unexpected internal error (a bug; the message says where). */
  internal: 1,
  /** Wrong command-line usage (unknown option, missing argument). */
  usage: 2,
  /** The configuration is invalid (schema or semantic lint errors). */
  config: 3,
  /** A remote system (Dynamics, Campaign, SFTP, Privacy Service) failed or refused. */
  connector: 4,
  /** The state store failed (database unreachable, migration error). */
  store: 5,
  /** A live pre-flight check failed (e.g. change tracking disabled on a table). */
  preflight: 6,
  /** The work finished, but something needs the operator's attention (e.g. a privacy request failed). */
  attention: 7,
  /** Interrupted by a signal before finishing. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];
