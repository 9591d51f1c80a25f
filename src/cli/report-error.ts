import { ConfigError, ConnectorError, StoreError, SyncError } from '../core/errors.js';
import type { CliContext } from './cli-context.js';
import { exitCodes } from './exit-codes.js';

/** Translate any error to one redacted line on stderr and an exit code from the fixed table. */
export function reportError(error: unknown, context: CliContext): number {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof SyncError ? `${error.code}: ` : '';
  context.err.write(`dcsync: ${context.redactor.scrub(code + message)}\n`);
  if (error instanceof ConfigError) return exitCodes.config;
  if (error instanceof ConnectorError) return exitCodes.connector;
  if (error instanceof StoreError) return exitCodes.store;
  if (error instanceof SyncError && error.code.startsWith('PREFLIGHT')) return exitCodes.preflight;
  return exitCodes.internal;
}
