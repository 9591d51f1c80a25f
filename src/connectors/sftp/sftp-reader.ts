import { createRequire } from 'node:module';
import path from 'node:path/posix';
import type ssh2Module from 'ssh2';
import type { Client, SFTPWrapper, Stats } from 'ssh2';
import { systemClock, type Clock } from '../../core/clock.js';
import { ConfigError, type ConnectorError } from '../../core/errors.js';
import { createSftpError, translateSftpError } from './sftp-error.js';
import { fingerprintHostKey, normalizeHostKeySha256 } from './sftp-host-fingerprint.js';

/** Options of {@link SftpReader}. Give `privateKey`, `password`, or both (key is tried first). */
export interface SftpReaderOptions {
  host: string;
  /** @default 22 */
  port?: number;
  username: string;
  /** Private key text (OpenSSH or PEM). Never logged or put in errors. */
  privateKey?: string;
  /** Passphrase of an encrypted `privateKey`. */
  passphrase?: string;
  password?: string;
  /**
   * The pinned host key fingerprint, `SHA256:<base64>` as `ssh-keygen -l` prints it. Required:
   * there is no trust-on-first-use; any other key is refused with `SFTP_HOST_KEY_MISMATCH`.
   */
  hostKeySha256: string;
  /**
   * Longest wait for the connection (TCP + handshake + login + SFTP channel) and for each single
   * request; past it the connection is dropped and the call fails with `SFTP_TIMEOUT`.
   * @default 30000
   */
  timeoutMs?: number;
  /** Interval of SSH keepalives on an idle connection; 3 missed ones drop it. @default 15000 */
  keepaliveIntervalMs?: number;
  /** Stamps {@link SftpUsageReport.measuredAt}. @default systemClock */
  clock?: Clock;
}

/** One directory entry or stat result. */
export interface SftpEntry {
  /** Base name. */
  name: string;
  /** The path as the caller would pass it back (`dir/name`). */
  path: string;
  size: number;
  /** Modification time; SFTP v3 carries whole seconds, so this is a multiple of 1000. */
  mtimeMs: number;
  isFile: boolean;
  isDirectory: boolean;
}

/** What {@link SftpReader.usage} measured. */
export interface SftpUsageReport {
  usedBytes: number;
  fileCount: number;
  /** Clock time of the measurement. */
  measuredAt: number;
}

/** Options of {@link SftpReader.download}. */
export interface SftpDownloadOptions {
  /** Byte offset to start at, to resume an interrupted download. @default 0 */
  start?: number;
  /** Bytes per yielded chunk (the last may be shorter). @default 65536 */
  chunkSize?: number;
  /** Read requests kept in flight, so latency does not bound throughput. @default 8 */
  concurrency?: number;
}

/** One SSH connection with its SFTP channel (subclasses such as the writer use it through `session`). */
export interface OpenConnection {
  client: Client;
  sftp: SFTPWrapper;
  closed: boolean;
}

let ssh2Loaded: typeof ssh2Module | null = null;

/**
 * ssh2, loaded when the first SFTP reader is made: at import it instantiates a WebAssembly module
 * (poly1305) with 16 MiB of memory, ~15 MiB of resident memory that a process without SFTP (e.g. one
 * that writes e-mail events, bench email-events) need not pay.
 */
function ssh2(): typeof ssh2Module {
  return (ssh2Loaded ??= createRequire(import.meta.url)('ssh2') as typeof ssh2Module);
}

/** ssh2's callback shape; operations without a result call it with the error only. */
export type Callback<T> = (error?: Error | null, value?: T) => void;

/**
 * The production SFTP client for the Campaign export folder: strict host-key pinning, listing,
 * streaming download, delete, rename (archive), `mkdir -p` and usage. One SSH connection is opened
 * on first use and reopened after a drop; calls never retry by themselves: a retryable error
 * (`SFTP_CONNECTION`, `SFTP_TIMEOUT`) tells the caller that the next call may succeed.
 */
export class SftpReader {
  private readonly host: string;
  private readonly port: number;
  private readonly hostKeySha256: string;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private connection: OpenConnection | null = null;
  private connecting: Promise<OpenConnection> | null = null;

  constructor(private readonly options: SftpReaderOptions) {
    this.host = options.host;
    this.port = options.port ?? 22;
    this.hostKeySha256 = normalizeHostKeySha256(options.hostKeySha256);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.clock = options.clock ?? systemClock;
    if (options.privateKey === undefined && options.password === undefined) {
      throw new ConfigError('SFTP needs a privateKey or a password');
    }
    if (options.privateKey !== undefined) {
      const parsed = ssh2().utils.parseKey(options.privateKey, options.passphrase);
      if (parsed instanceof Error) {
        throw new ConfigError(
          `SFTP privateKey cannot be read (${parsed.message}); give an OpenSSH or PEM private key`,
        );
      }
    }
  }

  /** `host:port`, as errors name the server. */
  get endpoint(): string {
    return `${this.host}:${this.port}`;
  }

  /** Open the connection now rather than on first use; surfaces auth and host-key errors early. */
  async connect(): Promise<void> {
    await this.session();
  }

  /** Close the connection. The reader stays usable: the next call connects again. */
  async close(): Promise<void> {
    const pending = this.connecting;
    this.connecting = null;
    const connection = this.connection ?? (pending === null ? null : await pending.catch(() => null));
    this.connection = null;
    if (connection === null || connection.closed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        connection.client.destroy();
        resolve();
      }, 1000);
      connection.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      connection.client.end();
    });
  }

  /** Entries of `dir` (without `.` and `..`), sorted by name. */
  async list(dir: string): Promise<SftpEntry[]> {
    const connection = await this.session();
    const entries = await this.call<Array<{ filename: string; attrs: Stats }>>(
      connection,
      `list ${dir}`,
      (cb) => connection.sftp.readdir(dir, cb),
    );
    return entries
      .filter((entry) => entry.filename !== '.' && entry.filename !== '..')
      .map((entry) => toEntry(path.join(dir, entry.filename), entry.attrs))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Size, time and type of one path; `SFTP_NOT_FOUND` when it does not exist. */
  async stat(filePath: string): Promise<SftpEntry> {
    const connection = await this.session();
    const attrs = await this.call<Stats>(connection, `stat ${filePath}`, (cb) =>
      connection.sftp.stat(filePath, cb),
    );
    return toEntry(filePath, attrs);
  }

  /**
   * Stream a file's bytes from `start` to the end it has when read. For a Node stream use
   * `Readable.from(reader.download(p))`. Breaking out of the loop closes the remote handle.
   */
  async *download(
    filePath: string,
    options: SftpDownloadOptions = {},
  ): AsyncGenerator<Buffer, void, undefined> {
    const chunkSize = options.chunkSize ?? 64 * 1024;
    const concurrency = Math.max(1, options.concurrency ?? 8);
    const connection = await this.session();
    const handle = await this.call<Buffer>(connection, `open ${filePath}`, (cb) =>
      connection.sftp.open(filePath, 'r', cb),
    );
    const inFlight: Array<Promise<Buffer>> = [];
    let nextOffset = options.start ?? 0;
    const schedule = (): void => {
      while (inFlight.length < concurrency) {
        const request = this.readFully(connection, handle, nextOffset, chunkSize, filePath);
        // Rejections are observed when the chunk's turn comes; until then they must not count as unhandled.
        request.catch(() => undefined);
        inFlight.push(request);
        nextOffset += chunkSize;
      }
    };
    try {
      schedule();
      for (;;) {
        const chunk = await inFlight.shift()!;
        if (chunk.length > 0) yield chunk;
        if (chunk.length < chunkSize) return;
        schedule();
      }
    } finally {
      await Promise.allSettled(inFlight);
      if (!connection.closed) {
        await this.call(connection, `close ${filePath}`, (cb) => connection.sftp.close(handle, cb)).catch(
          () => undefined,
        );
      }
    }
  }

  /** Delete a file. */
  async remove(filePath: string): Promise<void> {
    const connection = await this.session();
    await this.call(connection, `remove ${filePath}`, (cb) => connection.sftp.unlink(filePath, cb));
  }

  /**
   * Move a file (e.g. into the archive folder). Never overwrites: an existing target fails with
   * `SFTP_ALREADY_EXISTS`, as SFTP v3 servers refuse it.
   */
  async rename(fromPath: string, toPath: string): Promise<void> {
    const connection = await this.session();
    try {
      await this.call(connection, `rename ${fromPath} to ${toPath}`, (cb) =>
        connection.sftp.rename(fromPath, toPath, cb),
      );
    } catch (error) {
      if ((error as ConnectorError).code === 'SFTP_FAILURE' && (await this.exists(toPath))) {
        throw createSftpError(
          'SFTP_ALREADY_EXISTS',
          `SFTP rename ${fromPath} on ${this.endpoint}: ${toPath} already exists`,
          error,
        );
      }
      throw error;
    }
  }

  /** Create a directory and its missing parents (`mkdir -p`); existing ones are fine. */
  async ensureDirectory(dirPath: string): Promise<void> {
    const connection = await this.session();
    const segments = dirPath.split('/').filter((segment) => segment !== '' && segment !== '.');
    let current = dirPath.startsWith('/') ? '/' : '';
    for (const segment of segments) {
      current = current === '' ? segment : path.join(current, segment);
      const existing = await this.statIfExists(current);
      if (existing !== null) {
        if (!existing.isDirectory) {
          throw createSftpError(
            'SFTP_ALREADY_EXISTS',
            `SFTP mkdir ${current} on ${this.endpoint}: a file is in the way`,
          );
        }
        continue;
      }
      const target = current;
      try {
        await this.call(connection, `mkdir ${target}`, (cb) => connection.sftp.mkdir(target, cb));
      } catch (error) {
        // Someone else may have made it between our stat and mkdir.
        if ((await this.statIfExists(target))?.isDirectory !== true) throw error;
      }
    }
  }

  /** Bytes held by the files under `dir`, recursively: what counts against the SFTP quota. */
  async usage(dir: string): Promise<SftpUsageReport> {
    let usedBytes = 0;
    let fileCount = 0;
    const pending = [dir];
    while (pending.length > 0) {
      for (const entry of await this.list(pending.pop()!)) {
        if (entry.isDirectory) pending.push(entry.path);
        else if (entry.isFile) {
          usedBytes += entry.size;
          fileCount += 1;
        }
      }
    }
    return { usedBytes, fileCount, measuredAt: this.clock.now() };
  }

  private async exists(filePath: string): Promise<boolean> {
    return (await this.statIfExists(filePath)) !== null;
  }

  /** {@link stat}, or null when the path does not exist. */
  async statIfExists(filePath: string): Promise<SftpEntry | null> {
    try {
      return await this.stat(filePath);
    } catch (error) {
      if ((error as ConnectorError).code === 'SFTP_NOT_FOUND') return null;
      throw error;
    }
  }

  /** Read `length` bytes at `offset`, looping over short reads; shorter only at end of file. */
  private async readFully(
    connection: OpenConnection,
    handle: Buffer,
    offset: number,
    length: number,
    filePath: string,
  ): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    let filled = 0;
    while (filled < length) {
      const bytesRead = await this.call<number>(connection, `read ${filePath}`, (cb) =>
        connection.sftp.read(handle, buffer, filled, length - filled, offset + filled, (error, count) =>
          cb(error, count),
        ),
      );
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  }

  /**
   * Run one SFTP request with the per-request timeout. A request that times out drops the whole
   * connection: its state is unknown, and a fresh one is cheaper than guessing.
   */
  protected call<T>(connection: OpenConnection, what: string, start: (cb: Callback<T>) => void): Promise<T> {
    const where = `${what} on ${this.endpoint}`;
    return new Promise<T>((resolve, reject) => {
      if (connection.closed) {
        reject(createSftpError('SFTP_CONNECTION', `SFTP ${where} failed: connection closed`));
        return;
      }
      const timer = setTimeout(() => {
        reject(createSftpError('SFTP_TIMEOUT', `SFTP ${where} got no answer within ${this.timeoutMs} ms`));
        this.drop(connection);
      }, this.timeoutMs);
      try {
        start((error, value) => {
          clearTimeout(timer);
          if (error)
            reject(connection.closed ? lostConnectionError(where, error) : translateSftpError(error, where));
          else resolve(value as T);
        });
      } catch (error) {
        clearTimeout(timer);
        reject(translateSftpError(error, where));
      }
    });
  }

  private drop(connection: OpenConnection): void {
    connection.closed = true;
    if (this.connection === connection) this.connection = null;
    connection.client.destroy();
  }

  protected session(): Promise<OpenConnection> {
    if (this.connection !== null && !this.connection.closed) return Promise.resolve(this.connection);
    this.connecting ??= this.openConnection().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private openConnection(): Promise<OpenConnection> {
    const { username, privateKey, passphrase, password } = this.options;
    const where = this.endpoint;
    return new Promise<OpenConnection>((resolve, reject) => {
      const client = new (ssh2().Client)();
      let presentedKey: string | null = null;
      let settled = false;
      const fail = (error: ConnectorError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.destroy();
        reject(error);
      };
      const timer = setTimeout(
        () =>
          fail(
            createSftpError(
              'SFTP_TIMEOUT',
              `SFTP connect to ${where} did not complete within ${this.timeoutMs} ms`,
            ),
          ),
        this.timeoutMs,
      );
      client.on('error', (error) => {
        if (presentedKey !== null && presentedKey !== this.hostKeySha256) {
          fail(
            createSftpError(
              'SFTP_HOST_KEY_MISMATCH',
              `SFTP host key of ${where} does not match the pinned fingerprint: expected ${this.hostKeySha256}, ` +
                `server presented ${presentedKey}. Connection refused; if the key was rotated on purpose, ` +
                'update hostKeySha256.',
              error,
            ),
          );
        } else {
          fail(translateSftpError(error, `connect to ${where}`));
        }
      });
      client.on('close', () => {
        if (this.connection?.client === client) this.drop(this.connection);
        fail(createSftpError('SFTP_CONNECTION', `SFTP connection to ${where} closed during login`));
      });
      client.on('ready', () => {
        client.sftp((error, sftp) => {
          if (error) return fail(translateSftpError(error, `open SFTP channel on ${where}`));
          if (settled) return void client.destroy();
          settled = true;
          clearTimeout(timer);
          const connection: OpenConnection = { client, sftp, closed: false };
          client.on('close', () => {
            connection.closed = true;
            if (this.connection === connection) this.connection = null;
          });
          this.connection = connection;
          resolve(connection);
        });
      });
      try {
        client.connect({
          host: this.host,
          port: this.port,
          username,
          ...(privateKey === undefined ? {} : { privateKey }),
          ...(passphrase === undefined ? {} : { passphrase }),
          ...(password === undefined ? {} : { password }),
          readyTimeout: this.timeoutMs,
          keepaliveInterval: this.options.keepaliveIntervalMs ?? 15_000,
          keepaliveCountMax: 3,
          tryKeyboard: false,
          hostVerifier: (keyBlob: Buffer): boolean => {
            presentedKey = fingerprintHostKey(keyBlob);
            return presentedKey === this.hostKeySha256;
          },
        });
      } catch (error) {
        fail(translateSftpError(error, `connect to ${where}`));
      }
    });
  }
}

function lostConnectionError(where: string, cause: unknown): ConnectorError {
  return createSftpError('SFTP_CONNECTION', `SFTP ${where} failed: connection lost`, cause);
}

function toEntry(filePath: string, attrs: Stats): SftpEntry {
  return {
    name: path.basename(filePath),
    path: filePath,
    size: attrs.size,
    mtimeMs: attrs.mtime * 1000,
    isFile: attrs.isFile(),
    isDirectory: attrs.isDirectory(),
  };
}
