/**
 * The sync as a separate OS process, for crash tests (`kill -9`) and benchmarks (the sync process
 * measured alone). The child is `test/integration/engine/fixtures/sync-child.ts` — the `dcsync run`
 * command function over the production runtime — bundled once with esbuild so a restart costs
 * well under a second instead of a TypeScript loader start-up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
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
export async function bundleSyncChild(): Promise<SyncChildScript> {
  const dir = join(repoRoot, '.tmp');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `sync-child-${process.pid}-${Date.now()}.mjs`);
  await build({
    entryPoints: [childSource],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: path,
    logLevel: 'error',
  });
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
}

/** Log message the run command writes once the engine has started. */
const runningMessage = 'sync running; SIGTERM or SIGINT drains and stops';

/** One running sync process. */
export class SyncChild {
  /** Resolves when the engine logged that it runs (needs logging level info or lower). */
  readonly running: Promise<void>;
  readonly exited: Promise<SyncChildExit>;
  private readonly child: ChildProcess;

  private constructor(script: string, configPath: string, options: SpawnSyncChildOptions) {
    const args = [...(options.nodeArgs ?? []), script, configPath];
    if (options.untilIdle) args.push('--until-idle');
    this.child = spawn(process.execPath, args, {
      env: { ...process.env, ...testEnv, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const capture = options.captureOutput ?? true;
    let stdout = '';
    let stderr = '';
    let markRunning: () => void = () => undefined;
    this.running = new Promise((resolve) => (markRunning = resolve));
    const lines = createInterface({ input: this.child.stdout! });
    lines.on('line', (line) => {
      if (capture) stdout += `${line}\n`;
      if (line.includes(runningMessage)) markRunning();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      if (capture) stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
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
