import { ConnectorError } from '../../core/errors.js';

/** Every code an SFTP failure can carry; stable, safe to match on. */
export const sftpErrorCodes = [
  /** The server's host key is not the pinned one. Never retried: it may be an attack. */
  'SFTP_HOST_KEY_MISMATCH',
  /** Login refused (user, key or password). Retrying will not help until the config changes. */
  'SFTP_AUTH',
  /** The SSH handshake failed for another reason (no common algorithm). */
  'SFTP_HANDSHAKE',
  /** The TCP connection could not be made or was lost. Retryable. */
  'SFTP_CONNECTION',
  /** The server did not answer within `timeoutMs`; the connection was dropped. Retryable. */
  'SFTP_TIMEOUT',
  'SFTP_NOT_FOUND',
  'SFTP_PERMISSION_DENIED',
  /** A rename target already exists (SFTP v3 renames never overwrite). */
  'SFTP_ALREADY_EXISTS',
  /** The server answered a generic failure (e.g. disk full). */
  'SFTP_FAILURE',
  'SFTP_UNSUPPORTED',
] as const;

export type SftpErrorCode = (typeof sftpErrorCodes)[number];

const retryableCodes: ReadonlySet<SftpErrorCode> = new Set(['SFTP_CONNECTION', 'SFTP_TIMEOUT']);

/** Build the connector error for an SFTP failure; `retryable` follows from the code. */
export function createSftpError(code: SftpErrorCode, message: string, cause?: unknown): ConnectorError {
  return new ConnectorError('sftp', code, message, {
    retryable: retryableCodes.has(code),
    ...(cause === undefined ? {} : { cause }),
  });
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
