import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  startSftpServer,
  type SftpServerHandle,
  type SftpServerOptions,
} from '../../../emulators/campaign/sftp/sftp-server.js';
import { SftpReader } from '../../../src/connectors/sftp/sftp-reader.js';
import { captureSftpError } from '../../support/sftp-reader-contract.js';
import { generateSftpTestKeyPair } from '../../support/sftp-test-keys.js';

/** Write a file through a plain ssh2 client: the reader has no write operation. */
async function uploadWithPassword(server: SftpServerHandle, remotePath: string, data: Buffer): Promise<void> {
  const client = new ssh2.Client();
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({
        host: server.host,
        port: server.port,
        username: 'uploader',
        password: 'upload-secret',
        hostVerifier: () => true,
      });
    });
    const sftp = await new Promise<ssh2.SFTPWrapper>((resolve, reject) =>
      client.sftp((error, channel) => (error ? reject(error) : resolve(channel))),
    );
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(remotePath, data, (error) => (error ? reject(error) : resolve())),
    );
  } finally {
    client.end();
  }
}

describe('Campaign SFTP emulator', () => {
  const clientKey = generateSftpTestKeyPair();
  const hostKey = generateSftpTestKeyPair('host');
  const servers: SftpServerHandle[] = [];
  const readers: SftpReader[] = [];
  let workDir: string;

  beforeAll(() => {
    workDir = mkdtempSync(path.join(tmpdir(), 'dcsync-sftp-server-'));
  });
  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(readers.splice(0).map((reader) => reader.close()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  const start = async (options: SftpServerOptions = {}): Promise<SftpServerHandle> => {
    const server = await startSftpServer({
      hostKey: hostKey.privateKey,
      users: [
        { username: 'campaign', password: 'right-password', publicKeys: [clientKey.publicKey] },
        { username: 'uploader', password: 'upload-secret' },
      ],
      ...options,
    });
    servers.push(server);
    return server;
  };
  /** A reader logging in with the client key, or with `password` when given (then no key). */
  const open = (server: SftpServerHandle, password?: { username: string; password: string }): SftpReader => {
    const common = {
      host: server.host,
      port: server.port,
      hostKeySha256: server.hostKeySha256,
      timeoutMs: 5000,
    };
    const reader = new SftpReader(
      password === undefined
        ? { ...common, username: 'campaign', privateKey: clientKey.privateKey }
        : { ...common, ...password },
    );
    readers.push(reader);
    return reader;
  };

  it('accepts password login and refuses a wrong password or an unknown user', async () => {
    const server = await start();

    const entries = await open(server, { username: 'campaign', password: 'right-password' }).list(
      'd365_loads',
    );
    const wrongPassword = await captureSftpError(
      open(server, { username: 'campaign', password: 'canary-Pa55w0rd-7f3a' }).connect(),
    );
    const unknownUser = await captureSftpError(open(server, { username: 'nobody', password: 'x' }).connect());

    expect(entries.map((entry) => entry.name)).toEqual(['archive', 'exports']);
    expect(wrongPassword).toMatchObject({ code: 'SFTP_AUTH', retryable: false });
    expect(wrongPassword.message).not.toContain('canary-Pa55w0rd-7f3a');
    expect(unknownUser.code).toBe('SFTP_AUTH');
  });

  it('accepts the default demo account when no users are given', async () => {
    const server = await startSftpServer({ hostKey: hostKey.privateKey });
    servers.push(server);
    const reader = open(server, { username: 'demo-sftp', password: 'demo-sftp-password' });

    await expect(reader.stat('d365_loads/exports')).resolves.toMatchObject({ isDirectory: true });
  });

  it('jails every path inside the root', async () => {
    const server = await start();
    const outside = mkdtempSync(path.join(workDir, 'outside-'));
    writeFileSync(path.join(outside, 'secret.txt'), 'x');
    symlinkSync(outside, path.join(server.rootDir, 'd365_loads', 'link'));
    const reader = open(server);

    const climb = await captureSftpError(reader.stat('../../etc/passwd'));
    const absoluteClimb = await captureSftpError(reader.stat('/d365_loads/../../etc/passwd'));
    const viaSymlink = await captureSftpError(reader.stat('d365_loads/link/secret.txt'));
    const inside = await reader.stat('/d365_loads/../d365_loads/exports');

    expect(climb).toMatchObject({ code: 'SFTP_PERMISSION_DENIED', retryable: false });
    expect(absoluteClimb.code).toBe('SFTP_PERMISSION_DENIED');
    expect(viaSymlink.code).toBe('SFTP_PERMISSION_DENIED');
    expect(inside.isDirectory).toBe(true);
  });

  it('reports usage against the quota and fails writes beyond it like a full disk', async () => {
    const server = await start({ quotaBytes: 10_000, rootDir: mkdtempSync(path.join(workDir, 'root-')) });
    await uploadWithPassword(server, 'd365_loads/exports/a.csv', Buffer.alloc(8_500, 1));

    const usage = await server.usage();
    const readerUsage = await open(server).usage('/');
    const overflow = await uploadWithPassword(
      server,
      'd365_loads/exports/b.csv',
      Buffer.alloc(2_000, 1),
    ).then(
      () => null,
      (error: Error & { code?: number }) => error,
    );

    expect(usage).toEqual({ usedBytes: 8_500, quotaBytes: 10_000, percent: 85 });
    expect(readerUsage.usedBytes).toBe(8_500);
    expect(overflow?.code).toBe(ssh2.utils.sftp.STATUS_CODE.FAILURE);
    expect(overflow?.message).toMatch(/quota exceeded.*No space left on device/);
    expect((await server.usage()).usedBytes).toBe(8_500);
  });

  it('keeps a generated host key at its path, so the fingerprint survives restarts and matches ssh-keygen', async () => {
    const keyPath = path.join(workDir, 'keys', 'host');
    const first = await startSftpServer({ hostKeyPath: keyPath });
    const firstFingerprint = first.hostKeySha256;
    await first.close();

    const second = await startSftpServer({ hostKeyPath: keyPath });
    const other = await startSftpServer({ hostKeyPath: path.join(workDir, 'keys', 'other') });
    servers.push(second, other);
    const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', keyPath], { encoding: 'utf8' });

    expect(second.hostKeySha256).toBe(firstFingerprint);
    expect(other.hostKeySha256).not.toBe(firstFingerprint);
    expect(printed).toContain(firstFingerprint);
  });

  it('cuts every connection on disconnectAll, and the reader reconnects on its next call', async () => {
    const server = await start();
    const reader = open(server);
    await reader.connect();
    expect(server.connectionCount()).toBe(1);

    server.disconnectAll();
    await expect.poll(() => server.connectionCount()).toBe(0);
    const entries = await reader.list('d365_loads/exports');

    expect(entries).toEqual([]);
    expect(server.connectionCount()).toBe(1);
  });

  it('removes its own temp root on close, but never a root it was given', async () => {
    const given = mkdtempSync(path.join(workDir, 'given-'));
    const temporary = await startSftpServer({ hostKey: hostKey.privateKey });
    const kept = await startSftpServer({ hostKey: hostKey.privateKey, rootDir: given });

    await temporary.close();
    await kept.close();

    expect(existsSync(temporary.rootDir)).toBe(false);
    expect(existsSync(path.join(given, 'd365_loads', 'exports'))).toBe(true);
  });
});
