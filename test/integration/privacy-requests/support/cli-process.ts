import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testEnv } from '../../../support/sync-test-bed.js';
import { bundleScript, type SyncChildExit, type SyncChildScript } from '../../../support/sync-process.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** `dcsync` bundled once with esbuild, so each of many short child processes starts fast. */
export type CliBundle = SyncChildScript;

export function bundleCli(): Promise<CliBundle> {
  return bundleScript(join(repoRoot, 'src', 'cli', 'main.ts'), 'dcsync-privacy');
}

export type CliExit = SyncChildExit;

/** One `dcsync` process; `exited` resolves when it is gone (by itself, a signal, or SIGKILL). */
export interface CliProcess {
  readonly pid: number;
  readonly exited: Promise<CliExit>;
  /** Resolves once stderr or stdout contains `text`. */
  waitFor(text: string): Promise<void>;
  kill(signal: NodeJS.Signals): void;
}

export function spawnCli(
  bundle: CliBundle,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): CliProcess {
  const child = spawn(process.execPath, [bundle.path, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...testEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const check = (): void => {
    for (const waiter of [...waiters]) {
      if (stdout.includes(waiter.text) || stderr.includes(waiter.text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    check();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    check();
  });
  const exited = new Promise<CliExit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    pid: child.pid ?? -1,
    exited,
    waitFor: (text) =>
      new Promise((resolve) => {
        waiters.push({ text, resolve });
        check();
      }),
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
