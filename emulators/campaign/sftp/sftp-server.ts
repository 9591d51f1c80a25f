import { timingSafeEqual } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ParsedKey, PublicKeyAuthContext, SFTPWrapper } from 'ssh2';
import { loadSftpHostKey, type SftpHostKeyOptions } from './sftp-host-key.js';
import { serveSftpSession } from './sftp-session-handler.js';
import { SftpStorage, type SftpStorageOptions, type SftpUsage } from './sftp-storage.js';

/** One account on the emulated server. Give a password, public keys, or both. */
export interface SftpUser {
  username: string;
  /** Accepted password, compared in constant time. */
  password?: string;
  /** Accepted public keys: OpenSSH lines (`ssh-ed25519 AAAA… comment`) or PEM public keys. */
  publicKeys?: readonly string[];
}

/** The account the emulator accepts when no `users` are given. */
export const defaultSftpUsers: readonly SftpUser[] = [
  { username: 'demo-sftp', password: 'demo-sftp-password' },
];

/** Options of {@link startSftpServer}. */
export interface SftpServerOptions extends SftpHostKeyOptions, SftpStorageOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** Accounts allowed to log in. @default {@link defaultSftpUsers} */
  users?: readonly SftpUser[];
  /** A storage shared with other parts of the emulator; wins over `rootDir`, `quotaBytes`, `folders`. */
  storage?: SftpStorage;
}

/** A running emulated Campaign SFTP server. */
export interface SftpServerHandle {
  port: number;
  host: string;
  /** `SHA256:<base64>` fingerprint of the host key, the value clients pin. */
  hostKeySha256: string;
  /** The directory on disk that clients see as `/`. */
  rootDir: string;
  storage: SftpStorage;
  /** Bytes used against the quota, measured on disk now. */
  usage(): Promise<SftpUsage>;
  /** Number of SSH connections currently open. */
  connectionCount(): number;
  /** Fault injection: cut every client connection at the TCP level, without an SSH goodbye. */
  disconnectAll(): void;
  /** Stop listening and close every connection; removes the root if the server made it as a temp dir. */
  close(): Promise<void>;
}

interface AuthorizedKey {
  data: Buffer;
  parsed: ParsedKey;
}

/**
 * Start an SFTP server (ssh2) that behaves like the Campaign-hosted SFTP account on the parts the
 * integration uses: key or password login, a fixed host key, files on a real directory jailed as
 * `/`, and a byte quota. Operations: OPEN/READ/WRITE/CLOSE, OPENDIR/READDIR, STAT/LSTAT/FSTAT,
 * SETSTAT/FSETSTAT (times only), REMOVE, RMDIR, RENAME (refuses to overwrite, like OpenSSH),
 * MKDIR, REALPATH. Links are not supported.
 */
export async function startSftpServer(options: SftpServerOptions = {}): Promise<SftpServerHandle> {
  const hostKey = loadSftpHostKey(options);
  const storage = options.storage ?? new SftpStorage(options);
  const users = buildUserTable(options.users ?? defaultSftpUsers);
  const connections = new Set<Connection>();
  const sockets = new Set<Socket>();

  const sshServer = new ssh2.Server({ hostKeys: [hostKey.privateKey] }, (connection) => {
    connections.add(connection);
    connection.on('close', () => connections.delete(connection));
    // A client that vanishes mid-handshake is routine; without a listener ssh2 would throw.
    connection.on('error', () => undefined);
    connection.on('authentication', (context) => authenticate(context, users));
    connection.on('ready', () => {
      connection.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('sftp', (acceptSftp) => {
          const sftp: SFTPWrapper = acceptSftp();
          serveSftpSession(sftp, storage);
        });
      });
    });
  });
  // Our own listener hands sockets to ssh2, so the fault injector can cut them at the TCP level.
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    sshServer.injectSocket(socket);
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    port,
    host,
    hostKeySha256: hostKey.sha256,
    rootDir: storage.rootDir,
    storage,
    usage: () => storage.usage(),
    connectionCount: () => connections.size,
    disconnectAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const connection of connections) connection.end();
        for (const socket of sockets) socket.destroy();
      });
      if (options.storage === undefined) await storage.destroy();
    },
  };
}

type UserTable = Map<string, { password: Buffer | null; keys: AuthorizedKey[] }>;

function buildUserTable(users: readonly SftpUser[]): UserTable {
  const table: UserTable = new Map();
  for (const user of users) {
    const keys = (user.publicKeys ?? []).map((text, index) => {
      const parsed = ssh2.utils.parseKey(text);
      if (parsed instanceof Error) {
        throw new Error(
          `SFTP user ${user.username}: public key #${index + 1} is not readable (${parsed.message})`,
        );
      }
      return { data: parsed.getPublicSSH(), parsed };
    });
    table.set(user.username, {
      password: user.password === undefined ? null : Buffer.from(user.password),
      keys,
    });
  }
  return table;
}

function authenticate(context: AuthContext, users: UserTable): void {
  const user = users.get(context.username);
  const methods: Array<'password' | 'publickey'> = ['publickey', 'password'];
  if (user === undefined) return context.reject(methods);
  if (context.method === 'password') {
    const given = Buffer.from(context.password);
    const ok =
      user.password !== null &&
      given.length === user.password.length &&
      timingSafeEqual(given, user.password);
    return ok ? context.accept() : context.reject(methods);
  }
  if (context.method === 'publickey') {
    return isAuthorizedKey(context, user.keys) ? context.accept() : context.reject(methods);
  }
  context.reject(methods);
}

function isAuthorizedKey(context: PublicKeyAuthContext, keys: readonly AuthorizedKey[]): boolean {
  // The key blob starts with its type name, so comparing blobs also compares types.
  const match = keys.find(
    (key) => key.data.length === context.key.data.length && timingSafeEqual(key.data, context.key.data),
  );
  if (match === undefined) return false;
  // Without a signature the client only asks whether the key would be accepted.
  if (context.signature === undefined || context.blob === undefined) return true;
  return match.parsed.verify(context.blob, context.signature, context.hashAlgo);
}
