import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectorError } from '../../src/core/errors.js';
import { SftpReader, type SftpReaderOptions } from '../../src/connectors/sftp/sftp-reader.js';
import { generateSftpTestKeyPair, type SftpTestKeyPair } from './sftp-test-keys.js';
import { startSftpTcpProxy, type SftpTcpProxy } from './sftp-tcp-proxy.js';

/** A server the reader contract runs against: our emulator or the system's OpenSSH. */
export interface SftpContractServer {
  host: string;
  port: number;
  username: string;
  /** Directory on local disk where the server resolves relative paths. */
  rootDir: string;
  /** Current host key fingerprint (changes after {@link restartWithNewHostKey}). */
  readonly hostKeySha256: string;
  restartWithNewHostKey(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the server under test, authorizing `clientKey.publicKey` for its user. */
export type SftpContractServerFactory = (clientKey: SftpTestKeyPair) => Promise<SftpContractServer>;

const exportDir = 'd365_loads/exports';
const archiveDir = 'd365_loads/archive';

/** Catch the typed error a promise rejects with (fails the test if it resolves). */
export async function captureSftpError(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise;
  } catch (error) {
    return error as ConnectorError;
  }
  throw new Error('expected the SFTP call to fail');
}

/** Drain a download into one Buffer. */
export async function collectDownload(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

/**
 * The cases every SFTP server the reader talks to must pass, written once (the BullMQ/Kysely
 * pattern): run against the emulator and against OpenSSH's sshd.
 */
export function describeSftpReaderContract(label: string, startServer: SftpContractServerFactory): void {
  describe(`SftpReader contract against ${label}`, () => {
    const clientKey = generateSftpTestKeyPair('dcsync-contract-client');
    let server: SftpContractServer;
    const readers: SftpReader[] = [];
    const proxies: SftpTcpProxy[] = [];

    const local = (relative: string): string => path.join(server.rootDir, relative);
    const openReader = (overrides: Partial<SftpReaderOptions> = {}): SftpReader => {
      const reader = new SftpReader({
        host: server.host,
        port: server.port,
        username: server.username,
        privateKey: clientKey.privateKey,
        hostKeySha256: server.hostKeySha256,
        timeoutMs: 5_000,
        ...overrides,
      });
      readers.push(reader);
      return reader;
    };
    const openProxy = async (): Promise<SftpTcpProxy> => {
      const proxy = await startSftpTcpProxy(server.port, server.host);
      proxies.push(proxy);
      return proxy;
    };

    beforeAll(async () => {
      server = await startServer(clientKey);
    });
    afterAll(async () => {
      await server.close();
    });
    beforeEach(() => {
      rmSync(local('d365_loads'), { recursive: true, force: true });
      mkdirSync(local(exportDir), { recursive: true });
      mkdirSync(local(archiveDir), { recursive: true });
    });
    afterEach(async () => {
      await Promise.all(readers.splice(0).map((reader) => reader.close()));
      await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    });

    it('logs in with a key, pins the host key and lists the export folder', async () => {
      writeFileSync(local(`${exportDir}/optout_20260101_020000.csv`), 'a;b\n1;2\n');
      writeFileSync(local(`${exportDir}/optout_20260102_020000.csv`), 'a;b\n');
      mkdirSync(local(`${exportDir}/sub`));
      const reader = openReader();
      await reader.connect();

      const entries = await reader.list(exportDir);

      expect(entries.map((entry) => [entry.name, entry.size, entry.isFile, entry.isDirectory])).toEqual([
        ['optout_20260101_020000.csv', 8, true, false],
        ['optout_20260102_020000.csv', 4, true, false],
        ['sub', expect.any(Number), false, true],
      ]);
      expect(entries[0]!.path).toBe(`${exportDir}/optout_20260101_020000.csv`);
    });

    it('stats a file with its size and whole-second mtime, and reports a missing one as SFTP_NOT_FOUND', async () => {
      writeFileSync(local(`${exportDir}/a.csv`), 'x'.repeat(1234));
      utimesSync(
        local(`${exportDir}/a.csv`),
        new Date('2026-03-04T05:06:07.890Z'),
        new Date('2026-03-04T05:06:07.890Z'),
      );
      const reader = openReader();

      const entry = await reader.stat(`${exportDir}/a.csv`);
      const missing = await captureSftpError(reader.stat(`${exportDir}/nope.csv`));

      expect(entry).toMatchObject({ name: 'a.csv', size: 1234, isFile: true, isDirectory: false });
      expect(entry.mtimeMs).toBe(Date.parse('2026-03-04T05:06:07.000Z'));
      expect(missing).toMatchObject({ target: 'sftp', code: 'SFTP_NOT_FOUND', retryable: false });
      expect(missing.message).toContain(`${exportDir}/nope.csv`);
      expect(missing.message).toContain(`${server.host}:${server.port}`);
    });

    it('downloads a multi-chunk file byte for byte, and resumes from an offset', async () => {
      const content = randomBytes(700 * 1024 + 123);
      writeFileSync(local(`${exportDir}/big.csv`), content);
      const reader = openReader();

      const whole = await collectDownload(reader.download(`${exportDir}/big.csv`, { chunkSize: 32 * 1024 }));
      const tail = await collectDownload(reader.download(`${exportDir}/big.csv`, { start: 500_000 }));
      const empty = await collectDownload(reader.download(`${exportDir}/big.csv`, { start: content.length }));

      expect(whole.equals(content)).toBe(true);
      expect(tail.equals(content.subarray(500_000))).toBe(true);
      expect(empty.length).toBe(0);
    });

    it('closes the remote file when the consumer stops early, and the connection stays usable', async () => {
      writeFileSync(local(`${exportDir}/big.csv`), randomBytes(512 * 1024));
      const reader = openReader();

      for await (const chunk of reader.download(`${exportDir}/big.csv`, { chunkSize: 16 * 1024 })) {
        expect(chunk.length).toBe(16 * 1024);
        break;
      }

      expect((await reader.stat(`${exportDir}/big.csv`)).size).toBe(512 * 1024);
    });

    it('fails a download of a missing file with SFTP_NOT_FOUND', async () => {
      const reader = openReader();

      const error = await captureSftpError(collectDownload(reader.download(`${exportDir}/missing.csv`)));

      expect(error).toMatchObject({ code: 'SFTP_NOT_FOUND', retryable: false });
    });

    it('removes a file, and reports removing a missing one as SFTP_NOT_FOUND', async () => {
      writeFileSync(local(`${exportDir}/done.csv`), 'x');
      const reader = openReader();

      await reader.remove(`${exportDir}/done.csv`);
      const again = await captureSftpError(reader.remove(`${exportDir}/done.csv`));

      expect(existsSync(local(`${exportDir}/done.csv`))).toBe(false);
      expect(again.code).toBe('SFTP_NOT_FOUND');
    });

    it('creates nested folders idempotently and archives by rename, never overwriting', async () => {
      writeFileSync(local(`${exportDir}/f1.csv`), 'first');
      writeFileSync(local(`${exportDir}/f2.csv`), 'second');
      const reader = openReader();

      await reader.ensureDirectory(`${archiveDir}/2026/01`);
      await reader.ensureDirectory(`${archiveDir}/2026/01`);
      await reader.rename(`${exportDir}/f1.csv`, `${archiveDir}/2026/01/f.csv`);
      const clash = await captureSftpError(
        reader.rename(`${exportDir}/f2.csv`, `${archiveDir}/2026/01/f.csv`),
      );

      expect(readFileSync(local(`${archiveDir}/2026/01/f.csv`), 'utf8')).toBe('first');
      expect(existsSync(local(`${exportDir}/f1.csv`))).toBe(false);
      expect(clash).toMatchObject({ code: 'SFTP_ALREADY_EXISTS', retryable: false });
      expect(readFileSync(local(`${exportDir}/f2.csv`), 'utf8')).toBe('second');
    });

    it('refuses to create a folder where a file is', async () => {
      writeFileSync(local(`${exportDir}/blocker`), 'x');
      const reader = openReader();

      const error = await captureSftpError(reader.ensureDirectory(`${exportDir}/blocker/inner`));

      expect(error.code).toBe('SFTP_ALREADY_EXISTS');
    });

    it('sums file sizes recursively for quota tracking', async () => {
      writeFileSync(local(`${exportDir}/a.csv`), 'x'.repeat(1000));
      writeFileSync(local(`${archiveDir}/b.csv`), 'x'.repeat(250));
      mkdirSync(local(`${archiveDir}/deep/er`), { recursive: true });
      writeFileSync(local(`${archiveDir}/deep/er/c.csv`), 'x'.repeat(5));
      const reader = openReader();

      const usage = await reader.usage('d365_loads');

      expect(usage).toMatchObject({ usedBytes: 1255, fileCount: 3 });
    });

    it('sees a growing file at a larger size on the next stat', async () => {
      writeFileSync(local(`${exportDir}/growing.csv`), 'header\n');
      const reader = openReader();

      const first = await reader.stat(`${exportDir}/growing.csv`);
      appendFileSync(local(`${exportDir}/growing.csv`), 'row 1\n');
      const second = await reader.stat(`${exportDir}/growing.csv`);

      expect(first.size).toBe(7);
      expect(second.size).toBe(13);
    });

    it('refuses a server whose host key is not the pinned one, without naming key material', async () => {
      const wrongFingerprint = 'SHA256:' + Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '');
      const reader = openReader({ hostKeySha256: wrongFingerprint });

      const error = await captureSftpError(reader.stat(exportDir));

      expect(error).toMatchObject({ target: 'sftp', code: 'SFTP_HOST_KEY_MISMATCH', retryable: false });
      expect(error.message).toContain(`${server.host}:${server.port}`);
      expect(error.message).toContain(wrongFingerprint);
      expect(error.message).toContain(server.hostKeySha256);
      // Fingerprints are 43 base64 characters; any longer run would be key material.
      expect(error.message).not.toMatch(/[A-Za-z0-9+/]{50,}/);
    });

    it('refuses the server after its host key changed', async () => {
      const reader = openReader();
      await reader.stat(exportDir);
      const pinned = server.hostKeySha256;

      await server.restartWithNewHostKey();
      await reader.close();
      const error = await captureSftpError(reader.stat(exportDir));

      expect(server.hostKeySha256).not.toBe(pinned);
      expect(error).toMatchObject({ code: 'SFTP_HOST_KEY_MISMATCH', retryable: false });
      expect(error.message).toContain(`expected ${pinned}`);
      expect(error.message).toContain(`presented ${server.hostKeySha256}`);
    });

    it('reports a client key the server does not know as SFTP_AUTH', async () => {
      const reader = openReader({ privateKey: generateSftpTestKeyPair().privateKey });

      const error = await captureSftpError(reader.connect());

      expect(error).toMatchObject({ code: 'SFTP_AUTH', retryable: false });
    });

    it('surfaces a connection dropped mid-download as retryable, then reconnects', async () => {
      writeFileSync(local(`${exportDir}/big.csv`), randomBytes(4 * 1024 * 1024));
      const proxy = await openProxy();
      const reader = openReader({ port: proxy.port });

      let received = 0;
      const error = await captureSftpError(
        (async () => {
          for await (const chunk of reader.download(`${exportDir}/big.csv`, {
            chunkSize: 32 * 1024,
            concurrency: 2,
          })) {
            received += chunk.length;
            if (received === chunk.length) proxy.dropAll();
          }
        })(),
      );

      expect(error).toMatchObject({ code: 'SFTP_CONNECTION', retryable: true });
      expect(received).toBeLessThan(4 * 1024 * 1024);
      expect((await reader.stat(`${exportDir}/big.csv`)).size).toBe(4 * 1024 * 1024);
    });

    it('times out on a hung server, during login and during a request', async () => {
      const proxy = await openProxy();
      // Short enough to keep the test quick, long enough for a real sshd login on a busy CI machine.
      const reader = openReader({ port: proxy.port, timeoutMs: 2_000 });
      await reader.connect();

      proxy.setBlackhole(true);
      const duringRequest = await captureSftpError(reader.stat(exportDir));
      const duringLogin = await captureSftpError(reader.connect());
      proxy.setBlackhole(false);

      expect(duringRequest).toMatchObject({ code: 'SFTP_TIMEOUT', retryable: true });
      expect(duringLogin).toMatchObject({ code: 'SFTP_TIMEOUT', retryable: true });
      expect((await reader.list(exportDir)).length).toBe(0);
    });

    it('reports nothing listening as a retryable SFTP_CONNECTION', async () => {
      const proxy = await openProxy();
      const closedPort = proxy.port;
      await proxy.close();
      const reader = openReader({ port: closedPort });

      const error = await captureSftpError(reader.connect());

      expect(error).toMatchObject({ code: 'SFTP_CONNECTION', retryable: true });
    });
  });
}
