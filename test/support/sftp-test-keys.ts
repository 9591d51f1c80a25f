import { generateEd25519KeyPair } from '../../emulators/campaign/sftp/sftp-host-key.js';

/** A client key pair for SFTP tests. */
export interface SftpTestKeyPair {
  /** Private key in OpenSSH format, as `SftpReaderOptions.privateKey` takes it. */
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment`: one authorized_keys line, also what the emulator's users take. */
  publicKey: string;
}

/** Generate a fresh ed25519 key pair (fast: about a millisecond). */
export function generateSftpTestKeyPair(comment = 'dcsync-test'): SftpTestKeyPair {
  const pair = generateEd25519KeyPair(comment);
  return { privateKey: pair.private, publicKey: pair.public };
}
