import type { SftpErrorCode } from '../../core/error-catalogue.js';
import { ConnectorError } from '../../core/errors.js';

/**
 * Build the connector error for an SFTP failure; kind and `retryable` follow from the code
 * (`src/core/error-codes/sftp-error-codes.ts`).
 */
export function createSftpError(code: SftpErrorCode, message: string, cause?: unknown): ConnectorError {
  return new ConnectorError('sftp', code, message, cause === undefined ? {} : { cause });
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02 §7) that ssh2 puts in `error.code`. */
const statusCodeErrors: Record<number, SftpErrorCode> = {
  1: 'SFTP_FAILURE', // EOF reaching the caller means a read past the end was not expected
  2: 'SFTP_NOT_FOUND',
  3: 'SFTP_PERMISSION_DENIED',
  4: 'SFTP_FAILURE',
  5: 'SFTP_FAILURE',
  6: 'SFTP_CONNECTION',
  7: 'SFTP_CONNECTION',
  8: 'SFTP_UNSUPPORTED',
};

/**
 * Translate whatever ssh2 reported into a typed error, once, at the edge. `where` names the
 * operation and its target (`stat d365_loads/exports/x.csv on host:22`); the server's own status
 * text is kept because it carries the reason (quota, exists), never data.
 */
export function translateSftpError(error: unknown, where: string): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const details = error as { code?: unknown; level?: unknown; message?: unknown };
  const message = typeof details.message === 'string' ? details.message : String(error);
  if (typeof details.code === 'number') {
    const code = statusCodeErrors[details.code] ?? 'SFTP_FAILURE';
    return createSftpError(code, `SFTP ${where} failed: ${message}`, error);
  }
  switch (details.level) {
    case 'client-authentication':
      return createSftpError(
        'SFTP_AUTH',
        `SFTP login refused for ${where}: check sftp.username and the key or password`,
        error,
      );
    case 'client-timeout':
      return createSftpError('SFTP_TIMEOUT', `SFTP ${where} timed out: ${message}`, error);
    case 'handshake':
      return createSftpError('SFTP_HANDSHAKE', `SFTP handshake with ${where} failed: ${message}`, error);
    default:
      return createSftpError('SFTP_CONNECTION', `SFTP ${where} failed: ${message}`, error);
  }
}
