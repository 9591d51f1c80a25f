import type { ErrorAreaCatalogue } from './error-code-table.js';

/** The Campaign SFTP server the opt-out exports are read from. */
export const sftpErrors = {
  area: 'sftp',
  title: 'Campaign SFTP',
  codes: {
    SFTP_HOST_KEY_MISMATCH: {
      kind: 'unauthenticated',
      meaning: "The server's host key is not the pinned one. Never retried: it may be an attack.",
      remedy:
        'If the key was rotated on purpose, update `campaign.sftp.hostKeySha256`; otherwise investigate.',
    },
    SFTP_AUTH: {
      kind: 'unauthenticated',
      meaning: 'The server refused the login (user, key or password).',
      remedy: 'Check `campaign.sftp.username` and the key or password.',
    },
    SFTP_HANDSHAKE: {
      kind: 'invalid',
      meaning: 'The SSH handshake failed for another reason (no common algorithm).',
      remedy: 'Check the server and `campaign.sftp.host`/`port`.',
    },
    SFTP_CONNECTION: {
      kind: 'unavailable',
      meaning: 'The TCP connection could not be made or was lost.',
      remedy: 'Nothing: it is retried. If it lasts, check the host, the port and firewalls.',
    },
    SFTP_TIMEOUT: {
      kind: 'unavailable',
      meaning: 'The server did not answer within the timeout; the connection was dropped.',
      remedy: 'Nothing: it is retried.',
    },
    SFTP_NOT_FOUND: {
      kind: 'not-found',
      meaning: 'No such file or folder on the server.',
      remedy: 'Check `campaign.sftp.exportDir` (and `archiveDir`).',
    },
    SFTP_PERMISSION_DENIED: {
      kind: 'forbidden',
      meaning: 'The SFTP user may not read, move or create this file or folder.',
      remedy: 'Grant the user access to the export and archive folders.',
    },
    SFTP_ALREADY_EXISTS: {
      kind: 'conflict',
      meaning: 'A rename or folder target exists already (SFTP renames never overwrite).',
      remedy: 'Move the file in the way, if dcsync does not settle it itself.',
    },
    SFTP_FAILURE: {
      kind: 'unavailable',
      retryable: false,
      meaning:
        'The server reported a failure of its own (disk full, quota, an unexpected end of file). Not retried at once: the next poll tries again.',
      remedy: 'Check the space used against `campaign.sftp.quotaBytes` and the server.',
    },
    SFTP_UNSUPPORTED: {
      kind: 'invalid',
      meaning: 'The server does not support an operation dcsync needs.',
      remedy: 'Use an SFTP server that supports rename and stat (Campaign SFTP does).',
    },
  },
  patterns: [],
} as const satisfies ErrorAreaCatalogue;
