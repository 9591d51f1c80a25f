/**
 * The CLI as a new user meets it (issue #17, "CLI polish"): a closed stdout, bad numbers, JSON on
 * stdout that parses, a status that does not say "running" when nothing runs, read-only commands
 * that leave no empty store behind, a relative store path that means the same from any folder,
 * lists in the order their help promises, and the demo's banner and logs.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { formatIso, systemClock } from '../../../src/core/clock.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { runDcsync, type CliResult } from '../../support/cli-runner.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { SyncTestBed, testEnv } from '../../support/sync-test-bed.js';
import { repoRoot } from './support/run-cli.js';

const dcsync = (args: string[], env: NodeJS.ProcessEnv = testEnv): Promise<CliResult> => runDcsync(args, env);

let bed: SyncTestBed;
let work: string;

/** A copy of the test bed's configuration in `folder`, with another `store.url`. */
function configWithStore(folder: string, url: string): string {
  mkdirSync(folder, { recursive: true });
  const yaml = parse(readFileSync(bed.configPath, 'utf8')) as { store: { url: string } };
  yaml.store.url = url;
  const path = join(folder, 'sync.yaml');
  writeFileSync(path, stringify(yaml));
  return path;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dcsync-cli-polish-'));
  bed = await SyncTestBed.start({ dynamics: { contacts: 6, seed: 17 }, campaign: { profiles: 0 } });
  // Two contacts whose first name is too long for Campaign: two dead letters.
  for (const firstname of [
    'Bartholomew-Maximilian-Alexander-Fitzgerald',
    'Wilhelmina-Konstantina-Anastasia-Theodora',
  ])
    bed.dynamics.admin.createContact(buildContact({ firstname }));
  const { engine } = await bed.engine();
  await engine.runUntilIdle();
  const { store } = await bed.openRuntime();
  for (const contactKey of ['6f9d1b6e-1c1a-4f43-9a57-5d0a3f2b7c01', '6f9d1b6e-1c1a-4f43-9a57-5d0a3f2b7c02'])
    await store.privacy.create({ type: 'delete', contactKey, regulation: 'gdpr', requestedBy: 'cli:tester' });
});
afterAll(async () => {
  await bed?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('a closed stdout', () => {
  it('ends a listing command quietly with exit code 0 (dcsync optout files | head)', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'optout', 'files', '--config', bed.configPath],
      {
        cwd: repoRoot,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', ...testEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // The reader goes away before the command has printed its first line (`| head -n 0`): every
    // write the command makes finds the pipe closed.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    expect({ ...exit, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  });
});

describe('numeric options', () => {
  it.each([
    [['demo', '--contacts', 'abc'], "--contacts must be a whole number from 1 to 1000000, got 'abc'"],
    [['demo', '--port', '70000'], "--port must be a whole number from 0 to 65535, got '70000'"],
    [['demo', '--seed', '-1'], "--seed must be a whole number ≥ 0, got '-1'"],
    [['demo', '--rate', '1.5'], "--rate must be a whole number from 0 to 10000, got '1.5'"],
    [
      ['dlq', 'list', '--config', 'x.yaml', '--limit', '0'],
      "--limit must be a whole number from 1 to 1000, got '0'",
    ],
    [
      ['parked', 'list', '--config', 'x.yaml', '--limit', 'ten'],
      "--limit must be a whole number from 1 to 1000, got 'ten'",
    ],
    [
      ['plan', '--config', 'x.yaml', '--samples', ''],
      "--samples must be a whole number from 1 to 1000, got ''",
    ],
    [
      ['privacy', 'list', '--config', 'x.yaml', '--limit', '5000'],
      "--limit must be a whole number from 1 to 1000, got '5000'",
    ],
    [
      ['optout', 'files', '--config', 'x.yaml', '--limit', 'NaN'],
      "--limit must be a whole number from 1 to 1000, got 'NaN'",
    ],
    [['emulate', 'dynamics', '--contacts', '1e3'], "--contacts must be a whole number ≥ 0, got '1e3'"],
  ])('dcsync %j is a usage error that says what is wrong', async (args, message) => {
    const result = await dcsync(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });
});

describe('dcsync status', () => {
  it('shows flows as stopped while no sync process reports, and since when', async () => {
    // The workers of the runs before this test stay on record (stopped); start from none.
    await (await bed.openRuntime()).store.workers.prune(Number.MAX_SAFE_INTEGER);
    const none = await dcsync(['status', '--config', bed.configPath]);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('flow contacts (table contact): stopped (no sync process reporting)');
    expect(none.stdout).not.toContain(': running');
    // …and the health model says so, with what to do.
    expect(none.stdout).toContain('no sync process reporting');
    expect(none.stdout).toContain(
      '  critical: no sync process reporting\n    No sync process has ever reported to this store',
    );

    const lastSeen = systemClock.now() - 10 * 60_000;
    // A worker that last beat ten minutes ago (killed without stopping): the store's clock says then.
    const { store } = await bed.openRuntime({ clock: { ...systemClock, now: () => lastSeen } });
    await store.workers.register({
      id: 'worker-1',
      host: 'host-1',
      pid: 1,
      version: '0.1.0',
      schemaVersion: 11,
      startedAt: lastSeen,
      state: 'running',
      duties: [],
      itemsLeased: 0,
      budget: null,
      lastError: null,
    });
    const old = await dcsync(['status', '--config', bed.configPath]);
    expect(old.stdout).toContain(
      `flow contacts (table contact): stopped (no sync process reporting since ${formatIso(lastSeen)}`,
    );
    const json = JSON.parse((await dcsync(['status', '--config', bed.configPath, '--json'])).stdout) as {
      sync: { running: boolean; lastSeenAt: number | null };
    };
    expect(json.sync).toEqual({ running: false, lastSeenAt: lastSeen });
    await store.workers.prune(Number.MAX_SAFE_INTEGER);
  });
});

describe('commands that only read the store', () => {
  it.each([
    [['status']],
    [['dlq', 'list']],
    [['dlq', 'retry', '--all']],
    [['parked', 'list']],
    [['privacy', 'list']],
    [['privacy', 'status']],
    [['optout', 'files']],
    [['optout', 'quarantine']],
    [['optout', 'decisions', '--contact', '6f9d1b6e-1c1a-4f43-9a57-5d0a3f2b7c01']],
    [['trace', '6f9d1b6e-1c1a-4f43-9a57-5d0a3f2b7c01']],
  ])('dcsync %j without a store says so (exit 5) and creates none', async (args) => {
    const folder = join(work, `missing-${args.join('-')}`);
    const config = configWithStore(folder, 'sqlite:./state/state.db');
    const result = await dcsync([...args, '--config', config]);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain(
      `dcsync: STORE_NOT_FOUND: no state store at ${join(folder, 'state', 'state.db')}: has \`dcsync run\` ever run with this config?`,
    );
    expect(existsSync(join(folder, 'state'))).toBe(false);
  });

  it('plan without a store plans from an empty one and leaves no file behind', async () => {
    const folder = join(work, 'missing-plan');
    const config = configWithStore(folder, `sqlite:${join(folder, 'state', 'state.db')}`);
    const result = await dcsync(['plan', '--config', config, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const [plan] = JSON.parse(result.stdout) as { counts: { create: number; adopt: number } }[];
    // Nothing synced yet as far as this (empty) store knows: the synced profiles are adopted.
    expect(plan!.counts.create + plan!.counts.adopt).toBe(8);
    expect(existsSync(join(folder, 'state'))).toBe(false);
  });
});

describe('a relative sqlite: store path', () => {
  it('is relative to the configuration file, whatever the working directory', async () => {
    const folder = join(work, 'relative');
    const config = configWithStore(folder, 'sqlite:./data/state.db');
    // What a run left in the store next to the configuration file.
    const store = await openStateStore(`sqlite:${join(folder, 'data', 'state.db')}`);
    await store.privacy.create({
      type: 'delete',
      contactKey: '6f9d1b6e-1c1a-4f43-9a57-5d0a3f2b7c09',
      regulation: 'gdpr',
      requestedBy: 'cli:tester',
    });
    await store.close();
    expect(process.cwd()).not.toBe(folder);
    const result = await dcsync(['privacy', 'list', '--config', config]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('contact 6f9d1b6e-1c1a-4f43-9a57-5d0a3f2b7c09');
  });
});

describe('lists', () => {
  it('dlq list prints the newest dead letter first, as its help says', async () => {
    const help = await dcsync(['dlq', 'list', '--help']);
    expect(help.stdout).toContain('newest first');
    const json = JSON.parse((await dcsync(['dlq', 'list', '--config', bed.configPath, '--json'])).stdout) as {
      items: { id: string }[];
    };
    const ids = json.items.map((d) => Number(d.id));
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBeGreaterThan(ids[1]!);
    const text = (await dcsync(['dlq', 'list', '--config', bed.configPath])).stdout.split('\n');
    expect(text[0]).toBe('2 dead letter(s)');
    expect(text[1]!.split('\t')[0]).toBe(String(ids[0]));
    expect(text[2]!.split('\t')[0]).toBe(String(ids[1]));
  });

  it('privacy list prints a text table, newest first, and JSON with --json', async () => {
    const text = await dcsync(['privacy', 'list', '--config', bed.configPath]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('2 privacy request(s)');
    expect(lines[1]).toMatch(
      /^\d+\tdelete\tpending\tstep \S+\tcontact 6f9d1b6e-1c1a-4f43-9a57-5d0a3f2b7c02\tgdpr\tby cli:tester\t/,
    );
    expect(lines[2]).toContain('contact 6f9d1b6e-1c1a-4f43-9a57-5d0a3f2b7c01');
    expect(() => JSON.parse(text.stdout) as unknown).toThrow();
    const json = JSON.parse(
      (await dcsync(['privacy', 'list', '--config', bed.configPath, '--json'])).stdout,
    ) as {
      requests: { contactId: string }[];
    };
    expect(json.requests.map((r) => r.contactId)).toEqual([
      '6f9d1b6e-1c1a-4f43-9a57-5d0a3f2b7c02',
      '6f9d1b6e-1c1a-4f43-9a57-5d0a3f2b7c01',
    ]);
  });
});

describe('dcsync demo --until-idle', () => {
  it('prints only its JSON summary on stdout; the banner (with how to reach the demo) on stderr; logs in a file', async () => {
    const dataDir = join(work, 'demo');
    const previous = process.env.DCSYNC_LOG_LEVEL;
    process.env.DCSYNC_LOG_LEVEL = 'info'; // the demo then logs something on every run
    let result: CliResult;
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, DCSYNC_ADMIN_TOKEN: '' };
      result = await dcsync(
        ['demo', '--until-idle', '--contacts', '40', '--port', '0', '--data-dir', dataDir, '--no-trickle'],
        env,
      );
    } finally {
      if (previous === undefined) delete process.env.DCSYNC_LOG_LEVEL;
      else process.env.DCSYNC_LOG_LEVEL = previous;
    }
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, number>;
    expect(summary.created).toBeGreaterThan(0);
    // No raw JSON log line on the terminal; they are in the file the banner names.
    expect(result.stderr.split('\n').filter((line) => line.startsWith('{'))).toEqual([]);
    const logPath = join(dataDir, 'dcsync.log');
    expect(result.stderr).toContain(`Logs:      ${logPath}`);
    expect(readFileSync(logPath, 'utf8')).toMatch(/^\{"level":\d+,/m);
    // The exact lines to paste into a second terminal, and they work.
    const configPath = join(dataDir, 'sync.yaml');
    const token = /^ {2}export DCSYNC_ADMIN_TOKEN=(\S+)$/m.exec(result.stderr)?.[1];
    expect(token).toBeDefined();
    expect(result.stderr).toContain(`  npx dcsync status --config ${configPath}\n`);
    const status = await dcsync(['status', '--config', configPath], { DCSYNC_ADMIN_TOKEN: token });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('flow contacts (table contact): stopped');
  });
});
