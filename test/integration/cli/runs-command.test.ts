/**
 * `dcsync runs` and the progress of `dcsync run --until-idle` as a user sees them: on a pipe, plain
 * lines of WRITTEN progress and a summary with exact counts; on a terminal (a real
 * pseudo-terminal through util-linux `script`), a bar redrawn in place.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDcsync } from '../../support/cli-runner.js';
import { SyncTestBed, testEnv } from '../../support/sync-test-bed.js';
import { repoRoot, runCli } from './support/run-cli.js';

const contacts = 150;
const esc = String.fromCharCode(27);

/** Run a command line in a pseudo-terminal; everything the terminal showed. */
function inPseudoTerminal(
  command: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TERM: 'xterm', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('dcsync runs and run progress', () => {
  let bed: SyncTestBed;
  const env = Object.fromEntries(Object.entries(testEnv).map(([k, v]) => [k, v ?? '']));

  beforeAll(async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts, seed: 21 },
      config: { dynamics: { pageSize: 50 } },
    });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('run --until-idle on a pipe prints plain progress lines of what was written and a summary with exact counts', async () => {
    const run = await runCli(['run', '--config', bed.configPath, '--until-idle', '--no-server'], env);
    console.log(run.stderr);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('\r');
    expect(run.stderr).not.toContain(esc);
    const lines = run.stderr.trim().split('\n');
    const progress = lines.filter((l) => l.startsWith('contacts initial load: '));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toMatch(
      new RegExp(`^contacts initial load: ${contacts}/${contacts} · 100\\.0 % · \\d+/s · done in \\d+s$`),
    );
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^contacts initial load succeeded: ${contacts} of ${contacts} read settled in \\d+s \\(created ${contacts}, updated 0, adopted 0, deleted 0, unchanged 0, skipped 0, parked 0, dead-lettered 0; Campaign calls \\d+\\)`,
      ),
    );
    // stdout keeps only the JSON summary.
    expect(JSON.parse(run.stdout)).toMatchObject({ created: contacts });
  });

  it('runs prints the history as a table and as JSON', async () => {
    const text = await runDcsync(['runs', '--config', bed.configPath], testEnv);
    expect(text.code, text.stderr).toBe(0);
    const [header, row, ...rest] = text.stdout.trim().split('\n');
    expect(header).toMatch(/^ID\s+FLOW\s+KIND\s+TRIGGER\s+STARTED\s+TOOK\s+OUTCOME\s+DONE\/TOTAL\s+CREATED/);
    expect(rest).toEqual([]);
    expect(row).toMatch(
      new RegExp(
        `^1\\s+contacts\\s+initial\\s+first-start\\s+\\S+Z\\s+\\S+\\s+succeeded\\s+${contacts}/${contacts} 100%\\s+${contacts}\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0$`,
      ),
    );

    const json = await runDcsync(
      ['runs', '--config', bed.configPath, '--json', '--kind', 'initial'],
      testEnv,
    );
    expect(json.code).toBe(0);
    const answer = JSON.parse(json.stdout) as { items: Record<string, unknown>[]; nextCursor: string | null };
    expect(answer.nextCursor).toBeNull();
    expect(answer.items).toHaveLength(1);
    expect(answer.items[0]).toMatchObject({
      id: '1',
      flow: 'contacts',
      kind: 'initial',
      outcome: 'succeeded',
      counts: { read: contacts, created: contacts },
      progress: { done: contacts, total: contacts, percent: 100 },
    });
    const none = await runDcsync(['runs', '--config', bed.configPath, '--kind', 'replay'], testEnv);
    expect(none.stdout).toBe('no runs\n');
    const bad = await runDcsync(['runs', '--config', bed.configPath, '--kind', 'nonsense'], testEnv);
    expect(bad.code).not.toBe(0);
  });

  it('run --until-idle on a terminal draws a progress bar in place and ends with the summary', async () => {
    await bed.resetStore();
    const command = [
      process.execPath,
      '--import',
      'tsx',
      'src/cli/main.ts',
      'run',
      '--config',
      bed.configPath,
      '--until-idle',
      '--no-server',
    ]
      .map((part) => `'${part}'`)
      .join(' ');
    const { code, output } = await inPseudoTerminal(command, env);
    console.log(JSON.stringify(output));
    expect(code, output).toBe(0);
    expect(output).toContain(`${esc}[`);
    expect(output).toContain('\u2588');
    expect(output).toContain('contacts initial load [');
    // The Campaign profiles of the first test are there: this load adopts them.
    expect(output).toMatch(
      new RegExp(
        `contacts initial load succeeded: ${contacts} of ${contacts} read settled .*adopted ${contacts}`,
      ),
    );
  });
});
