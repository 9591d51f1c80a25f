import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';

/** Where the emulator keeps its host key when no key or path is given. */
export const defaultSftpHostKeyPath = path.join(tmpdir(), 'dcsync-emulator', 'campaign-sftp-host-ed25519');

/** How to obtain the server's host key. */
export interface SftpHostKeyOptions {
  /** The private host key itself (OpenSSH or PEM text). Wins over `hostKeyPath`. */
  hostKey?: string;
  /**
   * File holding the private host key; generated (ed25519, mode 0600) on first use and reused after,
   * so the fingerprint survives restarts like a real server's. @default {@link defaultSftpHostKeyPath}
   */
  hostKeyPath?: string;
}

/** A loaded host key: the private key text for ssh2 and the fingerprint clients pin. */
export interface SftpHostKey {
  privateKey: string;
  /** `SHA256:<base64 without padding>` of the public key blob, as `ssh-keygen -l` prints it. */
  sha256: string;
}

/** Load the host key from the options, generating and persisting one when the file is missing. */
export function loadSftpHostKey(options: SftpHostKeyOptions = {}): SftpHostKey {
  const privateKey =
    options.hostKey ?? readOrCreateHostKeyFile(options.hostKeyPath ?? defaultSftpHostKeyPath);
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error || !parsed.isPrivateKey()) {
    throw new Error('SFTP host key is not a readable unencrypted private key');
  }
  return { privateKey, sha256: fingerprintSshPublicKey(parsed.getPublicSSH()) };
}

/** OpenSSH's SHA-256 fingerprint of a public key blob (the SSH wire encoding). */
export function fingerprintSshPublicKey(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/**
 * A fresh ed25519 key pair that parses. ssh2's generator drops a leading zero byte of the public
 * key (about 1 key in 300), which makes both halves unreadable: such a pair is generated again.
 */
export function generateEd25519KeyPair(comment: string): { private: string; public: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    if (
      !(ssh2.utils.parseKey(pair.public) instanceof Error) &&
      !(ssh2.utils.parseKey(pair.private) instanceof Error)
    )
      return pair;
  }
}

function readOrCreateHostKeyFile(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8');
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const generated = generateEd25519KeyPair('dcsync campaign sftp emulator');
  // Write aside, then hard-link into place: link fails if the file exists, so when two emulators
  // start together the loser reads the winner's key and nobody reads a half-written one.
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, generated.private, { mode: 0o600 });
  try {
    linkSync(temp, file);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
  } finally {
    rmSync(temp, { force: true });
  }
  return readFileSync(file, 'utf8');
}
