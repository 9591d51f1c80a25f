import type { ErrorArea } from '../core/error-catalogue.js';
import { SyncError } from '../core/errors.js';
import type { CliContext } from './cli-context.js';
import { exitCodes, type ExitCode } from './exit-codes.js';

/**
 * The exit code of each error area (README's table). The area says where to look — the file, a
 * remote system, the store, the live metadata; the printed code and its kind say what happened.
 * dcsync's own rooms exit with 1: their errors reaching the command line are not expected there.
 */
export const exitCodeByArea: Readonly<Record<ErrorArea, ExitCode>> = {
  config: exitCodes.config,
  preflight: exitCodes.preflight,
  store: exitCodes.store,
  dynamics: exitCodes.connector,
  campaign: exitCodes.connector,
  ims: exitCodes.connector,
  'privacy-service': exitCodes.connector,
  'adobe-events': exitCodes.connector,
  sftp: exitCodes.connector,
  alerts: exitCodes.connector,
  engine: exitCodes.internal,
  'opt-out': exitCodes.internal,
  privacy: exitCodes.internal,
  server: exitCodes.internal,
  core: exitCodes.internal,
};

/** Translate any error to one redacted line on stderr and an exit code from the fixed table. */
export function reportError(error: unknown, context: CliContext): number {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof SyncError ? `${error.code}: ` : '';
  context.err.write(`dcsync: ${context.redactor.scrub(code + message)}\n`);
  return error instanceof SyncError ? exitCodeByArea[error.area] : exitCodes.internal;
}
