import { createHash } from 'node:crypto';
import { ConfigError } from '../../core/errors.js';

const fingerprintPattern = /^SHA256:([A-Za-z0-9+/]{43})=?$/;

/** OpenSSH's SHA-256 fingerprint (`SHA256:<base64 without padding>`) of a host key blob. */
export function fingerprintHostKey(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/**
 * Check a configured host-key fingerprint and return it in the form {@link fingerprintHostKey}
 * produces. Accepts what `ssh-keygen -lf key.pub` and `ssh-keyscan | ssh-keygen -lf -` print, with
 * or without the trailing `=`.
 */
export function normalizeHostKeySha256(value: string): string {
  const match = fingerprintPattern.exec(value.trim());
  if (match === null) {
    throw new ConfigError(
      'SFTP hostKeySha256 must look like "SHA256:" followed by 43 base64 characters ' +
        '(get it with: ssh-keyscan -p PORT HOST | ssh-keygen -lf -)',
    );
  }
  return `SHA256:${match[1]}`;
}
