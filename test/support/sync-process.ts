/**
 * The sync as a separate OS process, for crash tests (`kill -9`) and benchmarks (the sync process
 * measured alone). The child is `test/integration/engine/fixtures/sync-child.ts` — the `dcsync run`
 * command function over the production runtime — bundled once with esbuild so a restart costs
 * well under a second instead of a TypeScript loader start-up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { stringify } from 'yaml';
import { buildDashboardBundle } from '../../scripts/dashboard-bundle.js';
import { testEnv } from './sync-test-bed.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const childSource = join(repoRoot, 'test', 'integration', 'engine', 'fixtures', 'sync-child.ts');

/** The bundled child script; remove it with {@link SyncChildScript.dispose}. */
export interface SyncChildScript {
  readonly path: string;
  dispose(): void;
}

/**
 * Bundle the sync child into `<repo>/.tmp/` (inside the repository, so its npm packages resolve
 * from node_modules; `.tmp` is git-ignored).
 */
export function bundleSyncChild(): Promise<SyncChildScript> {
  return bundleScript(childSource, 'sync-child');
}

/**
 * Bundle `entry` with esbuild into `.tmp/` (packages stay external), so child processes start fast.
 * The operator server in it looks for the dashboard's browser bundle next to its module, which is
 * now this script: the dashboard bundle is built into `.tmp/bundle/` too.
 */
export async function bundleScript(entry: string, prefix: string): Promise<SyncChildScript> {
  const dir = join(repoRoot, '.tmp');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${prefix}-${process.pid}-${Date.now()}.mjs`);
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: path,
    logLevel: 'error',
  });
  await buildDashboardBundle(join(dir, 'bundle'));
  return { path, dispose: () => rmSync(path, { force: true }) };
}

export interface SyncChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnSyncChildOptions {
  /** Run with `--until-idle` (prints the JSON summary on stdout). @default false */
  untilIdle?: boolean;
  /** Extra environment (the emulator credentials are always set). */
  env?: NodeJS.ProcessEnv;
  /** Node flags, e.g. `--max-old-space-size=512`. @default none */
  nodeArgs?: readonly string[];
  /** Keep stdout and stderr in memory for the exit report. @default true */
  captureOutput?: boolean;
  /** Serve the operator HTTP surface (webhook receiver, API). @default false */
  serve?: boolean;
}

/** Log message the run command writes once the engine has started. */
const runningMessage = 'sync running; SIGTERM or SIGINT drains and stops';

/** One running sync process. */
export class SyncChild {
  /**
   * Resolves with the log line (parsed) once the engine logged that it runs — it carries the
   * operator server's `url` when serving. Needs logging level info or lower.
   */
  readonly running: Promise<Record<string, unknown>>;
  readonly exited: Promise<SyncChildExit>;
  private readonly child: ChildProcess;
  private peakRss = 0;
  private cpuTicks = 0;
  private rssTimer: NodeJS.Timeout | null = null;

  private constructor(script: string, configPath: string, options: SpawnSyncChildOptions) {
    const args = [...(options.nodeArgs ?? []), script, configPath];
    if (options.untilIdle) args.push('--until-idle');
    if (!options.serve) args.push('--no-server');
    this.child = spawn(process.execPath, args, {
      env: { ...process.env, ...testEnv, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const capture = options.captureOutput ?? true;
    let stdout = '';
    let stderr = '';
    let markRunning: (line: Record<string, unknown>) => void = () => undefined;
    this.running = new Promise((resolve) => (markRunning = resolve));
    const lines = createInterface({ input: this.child.stdout! });
    lines.on('line', (line) => {
      if (capture) stdout += `${line}\n`;
      if (line.includes(runningMessage)) markRunning(JSON.parse(line) as Record<string, unknown>);
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      if (capture) stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        if (this.rssTimer) clearInterval(this.rssTimer);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }

  /**
   * Start sampling the process's memory and CPU time (Linux `/proc`), every `everyMs`:
   * {@link peakRssBytes} is the kernel's high-water mark of its resident set, {@link cpuSeconds}
   * its CPU time at the last sample.
   */
  sampleRss(everyMs = 100): void {
    const read = (): void => {
      try {
        const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
        if (hwm) this.peakRss = Math.max(this.peakRss, Number(hwm[1]) * 1024);
        // Fields 14 and 15 of /proc/PID/stat (utime, stime), after the ")" that ends the name.
        const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        this.cpuTicks = Number(fields[11]) + Number(fields[12]);
      } catch {
        // gone
      }
    };
    read();
    this.rssTimer = setInterval(read, everyMs);
    this.rssTimer.unref();
  }

  /**
   * CPU time (user + system) the process had used at the last {@link sampleRss} sample, in
   * seconds (clock ticks of 1/100 s, the Linux default): a lower bound, short by at most one
   * sampling interval's worth.
   */
  get cpuSeconds(): number {
    return this.cpuTicks / 100;
  }

  /** Highest resident set size seen by {@link sampleRss}, in bytes. */
  get peakRssBytes(): number {
    return this.peakRss;
  }

  /** Start `node <script> <config> [--until-idle]`. */
  static spawn(script: SyncChildScript, configPath: string, options: SpawnSyncChildOptions = {}): SyncChild {
    return new SyncChild(script.path, configPath, options);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Send a signal (SIGKILL for a crash) and wait until the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<SyncChildExit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Where the emulators of an {@link EmulatorHost} listen. */
export interface EmulatorEndpoints {
  dynamics: { url: string; authorityHost: string; clientId: string; caCert?: string };
  campaign: {
    url: string;
    imsUrl: string;
    clientId: string;
    caCert?: string;
    /** The I/O Events journal of the e-mail events (flow F6) and its IMS organization. */
    journalUrl?: string;
    imsOrgId?: string;
    /** With `sftpPort`: the emulator's SFTP account. */
    sftp?: { host: string; port: number; username: string; hostKeySha256: string; rootDir: string };
  };
}

/** Both emulators in a process of their own (test/support/sync-process-emulators.ts). */
export class EmulatorHost {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly child: ChildProcess,
    readonly endpoints: EmulatorEndpoints,
    lines: ReturnType<typeof createInterface>,
  ) {
    lines.on('line', (line) => {
      const answer = JSON.parse(line) as { id: number; result?: unknown; error?: string };
      const waiter = this.waiting.get(answer.id);
      if (!waiter) return;
      this.waiting.delete(answer.id);
      if (answer.error !== undefined) waiter.reject(new Error(answer.error));
      else waiter.resolve(answer.result);
    });
  }

  /** Start the host; `options` are `{ dynamics, campaign }` emulator options (JSON-serialisable). */
  static async start(options: Record<string, unknown>): Promise<EmulatorHost> {
    const script = join(repoRoot, 'test', 'support', 'sync-process-emulators.ts');
    const child = spawn(
      process.execPath,
      ['--max-old-space-size=8192', '--import', 'tsx', script, JSON.stringify(options)],
      { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: child.stdout });
    const [first] = (await Promise.race([
      once(lines, 'line'),
      once(child, 'exit').then(() => {
        throw new Error('emulator host exited before it was ready');
      }),
    ])) as [string];
    return new EmulatorHost(child, JSON.parse(first) as EmulatorEndpoints, lines);
  }

  /** Run an admin operation in the host (see the handlers of sync-process-emulators.ts). */
  call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}

function mergeConfig(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    const bothObjects =
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      typeof current === 'object' &&
      current !== null &&
      !Array.isArray(current);
    out[key] = bothObjects
      ? mergeConfig(current as Record<string, unknown>, value as Record<string, unknown>)
      : value;
  }
  return out;
}

/**
 * Write a sync configuration for emulators reached at `endpoints` into `dir` (CA files beside
 * it) and return its path. `overrides` are deep-merged over the defaults (YAML shape).
 */
export function writeSyncConfig(
  dir: string,
  endpoints: EmulatorEndpoints,
  store: { url: string; schema?: string },
  overrides: Record<string, unknown> = {},
): string {
  writeFileSync(join(dir, 'dynamics-ca.pem'), endpoints.dynamics.caCert ?? '');
  writeFileSync(join(dir, 'campaign-ca.pem'), endpoints.campaign.caCert ?? '');
  const base: Record<string, unknown> = {
    dynamics: {
      url: endpoints.dynamics.url,
      authorityHost: endpoints.dynamics.authorityHost,
      tenantId: 'contoso.onmicrosoft.com',
      clientId: endpoints.dynamics.clientId,
      clientSecret: 'env:DYNAMICS_CLIENT_SECRET',
      caFile: join(dir, 'dynamics-ca.pem'),
    },
    campaign: {
      url: endpoints.campaign.url,
      imsUrl: endpoints.campaign.imsUrl,
      clientId: endpoints.campaign.clientId,
      clientSecret: 'env:CAMPAIGN_CLIENT_SECRET',
      caFile: join(dir, 'campaign-ca.pem'),
      budget: { callsPerSecond: 10_000, callsPerDay: 100_000_000 },
    },
    store,
    flows: {
      contacts: {
        deletes: true,
        mapping: { firstname: 'firstName', lastname: 'lastName', emailaddress1: 'email' },
      },
    },
    server: { port: 0, adminToken: 'env:DCSYNC_ADMIN_TOKEN' },
    logging: { level: 'warn' },
  };
  const path = join(dir, 'sync.yaml');
  writeFileSync(path, stringify(mergeConfig(base, overrides)));
  return path;
}
