import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';

/** Debian's `openssh-server` binary; `.ci/run` installs the package when missing. */
export const sshdPath = '/usr/sbin/sshd';

/** Options of {@link startOpenSshServer}. */
export interface OpenSshServerOptions {
  /** authorized_keys lines accepted for the current user. */
  authorizedKeys: readonly string[];
  /** Folders created under the SFTP root. @default ['d365_loads/exports', 'd365_loads/archive'] */
  folders?: readonly string[];
}

/** A running system sshd serving SFTP (internal-sftp) on a loopback high port. */
export interface OpenSshServer {
  host: string;
  port: number;
  /** The current user: sshd without root privileges can only log that user in. */
  username: string;
  /** The directory relative SFTP paths start from (internal-sftp `-d`). */
  rootDir: string;
  /** Fingerprint of the current host key, as `ssh-keygen -lf` prints it. */
  hostKeySha256: string;
  /** Restart on the same port with a freshly generated host key (a rotated or spoofed server). */
  restartWithNewHostKey(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Start the system's OpenSSH server as the test's own child: temporary sshd_config, host key
 * (ssh-keygen), authorized_keys, `Subsystem sftp internal-sftp`, `UsePAM no`, `StrictModes no`, pid
 * file in the temp dir, run in the foreground (`-D -e -f cfg`). Works as root (CI) and as an
 * ordinary user. Throws with sshd's own output when it cannot start.
 */
export async function startOpenSshServer(options: OpenSshServerOptions): Promise<OpenSshServer> {
  if (!existsSync(sshdPath)) {
    throw new Error(
      `${sshdPath} not found: install Debian's openssh-server (apt-get install -y openssh-server)`,
    );
  }
  const workDir = mkdtempSync(path.join(tmpdir(), 'dcsync-sshd-'));
  const rootDir = path.join(workDir, 'root');
  for (const folder of options.folders ?? ['d365_loads/exports', 'd365_loads/archive']) {
    mkdirSync(path.join(rootDir, folder), { recursive: true });
  }
  writeFileSync(path.join(workDir, 'authorized_keys'), options.authorizedKeys.join('\n') + '\n', {
    mode: 0o600,
  });
  const username = userInfo().username;
  const isRoot = process.getuid?.() === 0;
  // sshd started by root insists on its privilege-separation directory.
  if (isRoot) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  let hostKeySha256 = generateHostKey(workDir);
  let child = await launchOnFreePort(workDir, rootDir, username, isRoot);

  const handle: OpenSshServer = {
    host: '127.0.0.1',
    port: child.port,
    username,
    rootDir,
    get hostKeySha256() {
      return hostKeySha256;
    },
    restartWithNewHostKey: async () => {
      await stopSshd(child.process);
      hostKeySha256 = generateHostKey(workDir);
      child = await launchSshd(workDir, rootDir, username, isRoot, child.port);
    },
    close: async () => {
      await stopSshd(child.process);
      rmSync(workDir, { recursive: true, force: true });
    },
  };
  return handle;
}

function generateHostKey(workDir: string): string {
  const keyFile = path.join(workDir, 'host_ed25519');
  rmSync(keyFile, { force: true });
  rmSync(`${keyFile}.pub`, { force: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'dcsync-test-host', '-f', keyFile]);
  const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${keyFile}.pub`], {
    encoding: 'utf8',
  });
  const fingerprint = /SHA256:\S+/.exec(printed)?.[0];
  if (fingerprint === undefined) throw new Error(`ssh-keygen printed no SHA256 fingerprint: ${printed}`);
  return fingerprint;
}

function writeConfig(
  workDir: string,
  rootDir: string,
  username: string,
  isRoot: boolean,
  port: number,
): string {
  const configFile = path.join(workDir, 'sshd_config');
  const lines = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${path.join(workDir, 'host_ed25519')}`,
    `PidFile ${path.join(workDir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(workDir, 'authorized_keys')}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    `PermitRootLogin ${isRoot ? 'prohibit-password' : 'no'}`,
    `AllowUsers ${username}`,
    'UsePAM no',
    'StrictModes no',
    `Subsystem sftp internal-sftp -d ${rootDir}`,
    'LogLevel INFO',
  ];
  writeFileSync(configFile, lines.join('\n') + '\n');
  return configFile;
}

interface RunningSshd {
  process: ChildProcess;
  port: number;
}

async function launchOnFreePort(
  workDir: string,
  rootDir: string,
  username: string,
  isRoot: boolean,
): Promise<RunningSshd> {
  let lastError: unknown;
  // The free port found may be taken again before sshd binds it; a few tries make that race harmless.
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      return await launchSshd(workDir, rootDir, username, isRoot, await findFreePort());
    } catch (error) {
      lastError = error;
      if (!String(error).includes('Address already in use')) throw error;
    }
  }
  throw lastError;
}

function launchSshd(
  workDir: string,
  rootDir: string,
  username: string,
  isRoot: boolean,
  port: number,
): Promise<RunningSshd> {
  const configFile = writeConfig(workDir, rootDir, username, isRoot, port);
  // Own process group, so stopping it also ends the per-connection children sshd forks.
  const child = spawn(sshdPath, ['-D', '-e', '-f', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  return new Promise<RunningSshd>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      void stopSshd(child);
      reject(new Error(`sshd did not start within 10 s:\n${output}`));
    }, 10_000);
    child.stderr?.on('data', (data: Buffer) => {
      output += data.toString('utf8');
      if (output.includes(`Server listening on 127.0.0.1 port ${port}`)) {
        clearTimeout(timer);
        resolve({ process: child, port });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited (${code ?? signal}) before listening:\n${output}`));
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function stopSshd(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  await exited;
}

function findFreePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
