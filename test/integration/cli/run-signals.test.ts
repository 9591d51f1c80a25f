/**
 * `dcsync run` stopped by a signal, as an operator or a process manager stops it: SIGTERM drains
 * and exits 0, SIGINT drains and exits 130 (README's exit codes), during the initial load too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncTestBed } from '../../support/sync-test-bed.js';
import { bundleCli, spawnCli, type CliBundle } from '../privacy-requests/support/cli-process.js';

let bed: SyncTestBed;
let bundle: CliBundle;

beforeAll(async () => {
  bundle = await bundleCli();
  bed = await SyncTestBed.start({
    dynamics: { contacts: 3000, seed: 5 },
    config: { logging: { level: 'info' }, server: { port: 0 } },
  });
});
afterAll(async () => {
  await bed?.close();
  bundle?.dispose();
});

describe('dcsync run and signals', () => {
  it.each([
    ['SIGTERM', 0],
    ['SIGINT', 130],
  ] as const)('%s during the initial load drains and exits %i', async (signal, code) => {
    const run = spawnCli(bundle, ['run', '--config', bed.configPath]);
    await run.waitFor('sync running');
    run.kill(signal);
    const exit = await run.exited;
    expect({ code: exit.code, signal: exit.signal }, exit.stderr).toEqual({ code, signal: null });
    expect(exit.stdout).toContain('"msg":"stopped"');
  });

  it('--until-idle stopped by SIGINT drains, prints its summary and exits 130', async () => {
    const run = spawnCli(bundle, ['run', '--config', bed.configPath, '--until-idle']);
    await run.waitFor('initial load');
    run.kill('SIGINT');
    const exit = await run.exited;
    expect({ code: exit.code, signal: exit.signal }, exit.stderr).toEqual({ code: 130, signal: null });
    expect(JSON.parse(exit.stdout)).toHaveProperty('created');
  });
});
