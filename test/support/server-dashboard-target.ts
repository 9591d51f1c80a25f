import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A running sync with its operator server, as the browser test sees it. */
export interface DashboardTarget {
  kind: 'demo';
  /** Server origin, no trailing slash. */
  url: string;
  token: string;
  /** A Dataverse emulator admin call (loopback, trusted CA). */
  dataverseAdmin(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<unknown>;
  /** A Campaign emulator admin call (`/_emulator/…`: faults, stats), loopback, trusted CA. */
  campaignAdmin(method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown>;
  /** A bearer-authenticated API call. */
  api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

function jsonCaller(base: string, agent: Agent | undefined, headers: Record<string, string>) {
  return async <T>(
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<T> => {
    const response = await request(`${base}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(agent ? { dispatcher: agent } : {}),
    });
    const text = await response.body.text();
    if (response.statusCode >= 400)
      throw new Error(`${method} ${path} → ${response.statusCode}: ${text.slice(0, 300)}`);
    return (text === '' ? null : JSON.parse(text)) as T;
  };
}

/** Read the child's stderr (the demo's banner) until every wanted line prefix appeared (or it exits / times out). */
function waitForLines(
  child: ChildProcessByStdio<null, Readable, Readable>,
  prefixes: readonly string[],
  timeoutMs: number,
): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    const found = new Map<string, string>();
    const lines = createInterface({ input: child.stderr });
    const timer = setTimeout(
      () => reject(new Error(`dcsync demo did not print ${prefixes.join(', ')} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    lines.on('line', (line) => {
      for (const prefix of prefixes)
        if (line.startsWith(prefix)) found.set(prefix, line.slice(prefix.length).trim());
      if (found.size === prefixes.length) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dcsync demo exited early (${code})`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/**
 * `dcsync demo --port 0 --data-dir <tmp> --contacts N --no-trickle`, as an operator starts it,
 * with a known admin token. Resolves once the URLs are printed.
 */
export async function startDemoTarget(
  contacts: number,
  options: { env?: Record<string, string> } = {},
): Promise<DashboardTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), 'dcsync-demo-'));
  const token = randomBytes(18).toString('base64url');
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
      join(repoRoot, 'src', 'cli', 'main.ts'),
      'demo',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--contacts',
      String(contacts),
      '--no-trickle',
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, ...options.env, DCSYNC_ADMIN_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout.resume();
  try {
    const lines = await waitForLines(child, ['Dashboard:', 'Dataverse emulator:'], 60_000);
    const url = lines.get('Dashboard:')!.replace(/\/+$/, '');
    const emulators = lines.get('Dataverse emulator:')!;
    const dataverseUrl = emulators.split(/\s+/)[0]!;
    // The emulator's admin API is at its origin (the printed URL names the tenant's path).
    const campaignUrl = new URL(/Campaign emulator:\s*(\S+)/.exec(emulators)![1]!).origin;
    const agent = new Agent({ connect: { ca: readFileSync(join(dataDir, 'dynamics-ca.pem'), 'utf8') } });
    const campaignCa = readFileSync(join(dataDir, 'campaign-ca.pem'), 'utf8');
    const campaignAgent = campaignCa === '' ? undefined : new Agent({ connect: { ca: campaignCa } });
    return {
      kind: 'demo',
      url,
      token,
      dataverseAdmin: jsonCaller(`${dataverseUrl}/_emulator`, agent, {}),
      campaignAdmin: jsonCaller(`${campaignUrl}/_emulator`, campaignAgent, {}),
      api: jsonCaller(url, undefined, { authorization: `Bearer ${token}` }),
      close: async () => {
        await stopChild(child);
        await agent.close();
        await campaignAgent?.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The browser test's target: `dcsync demo`, started as an operator starts it. `env` adds to the
 * demo's environment (e.g. `DCSYNC_DEMO_HEALTH` for a health monitor that reacts in seconds).
 */
export function startDashboardTarget(
  contacts: number,
  options: { env?: Record<string, string> } = {},
): Promise<DashboardTarget> {
  return startDemoTarget(contacts, options);
}
