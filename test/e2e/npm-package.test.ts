/**
 * The npm package as a user gets it: `npm pack` (whose `prepack` runs a clean `npm run build`),
 * the tarball installed into an empty folder, and `npx dcsync …` run from there — the version,
 * the demo until idle, and both emulators answering over HTTPS. Nothing here reads the repository's
 * sources: a file the package forgets, a path resolved against the repository, or a dev dependency
 * needed at run time fails these tests.
 *
 * Slow by nature (a build and an install, about two minutes on the 2-core CI machine), so it is
 * all one file that builds and installs once.
 *
 * Native modules: the install runs with `--ignore-scripts`, then puts in the better-sqlite3
 * binding the repository's own `npm ci` compiled for the same version (checked). Compiling SQLite
 * from source takes minutes on two cores, and its prebuilt binaries come from a host this CI cannot
 * reach; what the binding does is better-sqlite3's business, what the package ships is ours. ssh2's
 * optional native crypto and cpu-features are optional: ssh2 runs without them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRecord } from '../../src/core/json.js';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'dcsync-npm-package-'));
const app = join(work, 'app');
const setupTimeoutMs = 8 * 60_000;

/** What `npm pack --dry-run --json` reports of the tarball. */
interface PackReport {
  filename: string;
  version: string;
  files: { path: string }[];
}

function packReportOf(stdout: string): PackReport {
  const parsed: unknown = JSON.parse(stdout);
  const report: unknown = Array.isArray(parsed) ? parsed[0] : undefined;
  if (
    !isRecord(report) ||
    typeof report['filename'] !== 'string' ||
    typeof report['version'] !== 'string' ||
    !Array.isArray(report['files'])
  ) {
    throw new Error(`npm pack --json printed something else: ${stdout.slice(0, 500)}`);
  }
  const files = report['files'].map((file: unknown) => {
    if (!isRecord(file) || typeof file['path'] !== 'string')
      throw new Error('npm pack: a file without a path');
    return { path: file['path'] };
  });
  return { filename: report['filename'], version: report['version'], files };
}

function readJson(path: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!isRecord(parsed)) throw new Error(`${path} is not a JSON object`);
  return parsed;
}

/**
 * `npx dcsync ARGS` in the install folder, as a user types it: `--no` never fetches from the
 * registry, `--` keeps npx from taking `--version` for its own.
 */
function npxArgs(args: string[]): string[] {
  return ['--no', '--', 'dcsync', ...args];
}

/** Resolve with everything printed once `marker` appears; reject if the process ends first or after `ms`. */
function outputUntil(child: ChildProcess, marker: string, ms: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let output = '';
    const timer = setTimeout(() => finish(new Error(`no "${marker}" within ${ms} ms:\n${output}`)), ms);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes(marker)) finish(null);
    };
    const onExit = (code: number | null): void =>
      finish(new Error(`exited (${String(code)}) before "${marker}":\n${output}`));
    function finish(error: Error | null): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolvePromise(output);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', onExit);
  });
}

/**
 * Start `dcsync emulate …` through the bin npm linked (what `npx dcsync` runs; npx itself does not
 * pass SIGTERM on to it), wait for its ready line, hand over its output, then SIGTERM it.
 */
async function withEmulator(
  args: string[],
  use: (output: string, ca: string) => Promise<void>,
): Promise<{ code: number | null; output: string }> {
  const caFile = join(work, `${args[0] ?? 'emulator'}-ca.pem`);
  const bin = join(app, 'node_modules', '.bin', 'dcsync');
  const child = spawn(bin, ['emulate', ...args, '--port', '0', '--ca-out', caFile], {
    cwd: app,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let all = '';
  child.stdout.on('data', (chunk: Buffer) => (all += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (all += chunk.toString()));
  const exited = once(child, 'exit');
  try {
    const output = await outputUntil(child, 'Press Ctrl+C', 60_000);
    await use(output, readFileSync(caFile, 'utf8'));
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  const [code] = (await exited) as [number | null];
  return { code, output: all };
}

async function postForm(url: string, form: Record<string, string>, ca: string): Promise<number> {
  const agent = new Agent({ connect: { ca } });
  try {
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      dispatcher: agent,
    });
    await response.body.dump();
    return response.statusCode;
  } finally {
    await agent.close();
  }
}

let pack: PackReport;

beforeAll(async () => {
  // `npm pack` runs `prepack` (a clean `npm run build`) and writes the tarball.
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: repoRoot,
    maxBuffer: 64 * 1024 * 1024,
  });
  pack = packReportOf(packed.stdout);

  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'empty-folder', private: true }));
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', join(work, pack.filename)],
    { cwd: app, maxBuffer: 64 * 1024 * 1024 },
  );

  // The better-sqlite3 binding (see the file comment): the same version as the repository's only.
  const installed = join(app, 'node_modules', 'better-sqlite3');
  const ours = join(repoRoot, 'node_modules', 'better-sqlite3');
  const binding = join('build', 'Release', 'better_sqlite3.node');
  const installedVersion = readJson(join(installed, 'package.json'))['version'];
  if (
    installedVersion === readJson(join(ours, 'package.json'))['version'] &&
    existsSync(join(ours, binding))
  ) {
    mkdirSync(dirname(join(installed, binding)), { recursive: true });
    copyFileSync(join(ours, binding), join(installed, binding));
  } else {
    await run('npm', ['rebuild', 'better-sqlite3'], { cwd: app, maxBuffer: 64 * 1024 * 1024 });
  }
}, setupTimeoutMs);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the npm package', () => {
  it('ships the build, the dashboard bundle, the emulators, the example config and systemd unit, and no tests, sources or secrets', () => {
    const paths = pack.files.map((file) => file.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'examples/sync.yaml',
        'examples/systemd/dcsync@.service',
        'dist/src/cli/main.js',
        'dist/src/server/dashboard/bundle/dashboard.js',
        'dist/src/server/dashboard/bundle/dashboard.css',
        'dist/emulators/dynamics/dynamics-emulator.js',
        'dist/emulators/campaign/campaign-emulator.js',
      ]),
    );
    const allowed =
      /^(package\.json|README\.md|examples\/[^/]+\.ya?ml|examples\/systemd\/[^/]+\.service|dist\/(src|emulators)\/.+\.(js|js\.map|d\.ts|css))$/;
    expect(paths.filter((path) => !allowed.test(path))).toEqual([]);
    // The build is clean (prebuild empties dist/): nothing compiled from test/, bench/ or scripts/.
    expect(paths.filter((path) => /(^|\/)(test|bench|scripts|data)\//.test(path))).toEqual([]);
    expect(paths.filter((path) => /\.(pem|key|db|sqlite|env|log)$|(^|\/)\.env/.test(path))).toEqual([]);
  });

  it('declares the Node.js lines it runs on and needs no dev dependency at run time', () => {
    const pkg = readJson(join(app, 'node_modules', 'dynamics-campaign-sync', 'package.json'));
    expect(pkg['engines']).toEqual({ node: '>=20.19 <21 || >=22.12' });
    // Installed from the tarball, so only `dependencies` came along: no tsx, esbuild, vitest.
    for (const dev of ['tsx', 'esbuild', 'vitest', 'typescript']) {
      expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    }
  });

  it('npx dcsync --version prints the packed version', async () => {
    const { stdout } = await run('npx', npxArgs(['--version']), { cwd: app });
    expect(stdout.trim()).toBe(pack.version);
  });

  it('npx dcsync demo --until-idle loads every contact and exits 0 with its JSON summary', async () => {
    const dataDir = join(work, 'demo');
    const { stdout } = await run(
      'npx',
      npxArgs(['demo', '--until-idle', '--contacts', '50', '--port', '0', '--data-dir', dataDir]),
      {
        cwd: app,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, DCSYNC_ADMIN_TOKEN: 'pack-test-token' },
      },
    );
    const summary: unknown = JSON.parse(stdout);
    expect(isRecord(summary)).toBe(true);
    if (!isRecord(summary)) return;
    expect(Number(summary['created']) + Number(summary['adopted'])).toBeGreaterThanOrEqual(50);
    expect(summary['dead-lettered']).toBe(0);
    expect(existsSync(join(dataDir, 'sync.yaml'))).toBe(true);
  });

  it('dcsync emulate dynamics (the linked bin) serves HTTPS with its CA and issues a token, and stops on SIGTERM', async () => {
    const { code, output } = await withEmulator(['dynamics', '--contacts', '3'], async (ready, ca) => {
      const url = /org URL \(dynamics\.url\):\s+(\S+)/.exec(ready)?.[1];
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const status = await postForm(
        `${url}/t/oauth2/v2.0/token`,
        {
          grant_type: 'client_credentials',
          client_id: 'demo-client',
          client_secret: 'demo-secret',
          scope: `${url}/.default`,
        },
        ca,
      );
      expect(status).toBe(200);
    });
    expect(output).toContain('received SIGTERM, stopping');
    expect(code).toBe(0);
  });

  it('dcsync emulate campaign (the linked bin) serves IMS over HTTPS, runs its SFTP server, and stops on SIGTERM', async () => {
    const { code, output } = await withEmulator(['campaign', '--sftp-port', '0'], async (ready, ca) => {
      const ims = /IMS \(campaign\.imsUrl\):\s+(\S+)/.exec(ready)?.[1];
      expect(ims).toMatch(/^https:\/\/127\.0\.0\.1:\d+/);
      expect(ready).toMatch(/SFTP:\s+127\.0\.0\.1:\d+/);
      const status = await postForm(
        `${ims}/ims/token/v3`,
        { grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'demo-secret' },
        ca,
      );
      expect(status).toBe(200);
    });
    expect(output).toContain('received SIGTERM, stopping');
    expect(code).toBe(0);
  });
});
