/**
 * Operating the bulk lane (issue 21): `dcsync replay --via bulk|rest` (default: the threshold
 * rule) through the CLI, and the import window — files written and uploaded outside it, signalled
 * once it opens — on a controlled clock, with the lane's state in status (files by state, rows,
 * the window's next opening, the ETA). Campaign is the emulator over HTTPS and the real SFTP path.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import { formatBulkLane } from '../../../src/cli/commands/status-command.js';
import { createSyncEngine } from '../../../src/cli/runtime/start-sync.js';
import { openSyncRuntime } from '../../../src/cli/runtime/sync-runtime.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { Redactor } from '../../../src/logging/redactor.js';
import { bulkWorkflowId, startBulkTestBed, waitUntil } from '../../support/bulk-test-bed.js';
import { testEnv, type SyncTestBed } from '../../support/sync-test-bed.js';
import { runDcsync } from '../../support/cli-runner.js';

const contacts = 300;

let bed: SyncTestBed;
/** The operator's environment: the bed sets the SFTP password in {@link testEnv}. */
const env = (): NodeJS.ProcessEnv => ({ ...testEnv });

beforeAll(async () => {
  bed = await startBulkTestBed({
    contacts,
    seed: 3,
    profiles: 5,
    importTiming: { msPer1000Rows: 100 },
    signalMinIntervalMs: 0,
    config: {
      // A slow REST lane: what the runner takes before the lane holds the flow stays small.
      campaign: { budget: { callsPerSecond: 40, adaptive: false } },
      engine: { leaseMs: 60_000 },
      workers: { dutyTtlMs: 120_000 },
    },
    bulk: {
      thresholdRecords: 100,
      chunkRows: 1000,
      importTimeoutMs: 60_000,
      signalIntervalMs: 0,
    },
  });
});

afterAll(async () => {
  await bed.close();
});

/** A copy of the test bed's configuration with `edit` applied to `flows.contacts`. */
function configWith(name: string, edit: (contacts: Record<string, unknown>) => void): string {
  const config = parse(readFileSync(bed.configPath, 'utf8')) as {
    flows: { contacts: Record<string, unknown> };
  };
  edit(config.flows.contacts);
  const file = path.join(bed.dir, name);
  writeFileSync(file, stringify(config));
  return file;
}

/** Rows the import workflow has read so far (every file of every run). */
function rowsImported(): number {
  return bed.campaign.admin.workflows
    .history(bulkWorkflowId)
    .flatMap((run) => run.files)
    .reduce((n, file) => n + file.rowsRead, 0);
}

describe('dcsync replay --via', () => {
  it('bulk whatever the threshold, rest whatever the size, the threshold by default; bulk without a lane is a usage error', async () => {
    // The initial load (300 > threshold 100) goes through the lane.
    const load = await runDcsync(['run', '--config', bed.configPath, '--until-idle'], env());
    expect(load.code, load.stderr).toBe(0);
    expect(bed.profilesByExternalId().size).toBe(contacts);
    const afterLoad = rowsImported();
    expect(afterLoad).toBeGreaterThan(contacts / 2);

    // --via rest: no file, every row through REST.
    const rest = await runDcsync(
      ['replay', '--config', bed.configPath, '--table', 'contact', '--via', 'rest'],
      env(),
    );
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stderr).toContain('replay of contacts requested via rest');
    expect(rowsImported()).toBe(afterLoad);

    // Default (no --via): 300 rows pending > 100: the lane.
    const byDefault = await runDcsync(['replay', '--config', bed.configPath, '--table', 'contact'], env());
    expect(byDefault.code, byDefault.stderr).toBe(0);
    const afterDefault = rowsImported();
    expect(afterDefault - afterLoad).toBeGreaterThan(contacts / 2);

    // --via bulk with a threshold above the replay's size: the lane all the same.
    const high = configWith('high-threshold.yaml', (c) => {
      (c.bulk as Record<string, unknown>).thresholdRecords = 100_000;
    });
    const bulk = await runDcsync(['replay', '--config', high, '--table', 'contact', '--via', 'bulk'], env());
    expect(bulk.code, bulk.stderr).toBe(0);
    expect(rowsImported() - afterDefault).toBe(contacts);
    // The choice is forgotten once the replay is done.
    const status = await runDcsync(['status', '--config', high, '--json'], env());
    const lane = (
      JSON.parse(status.stdout) as { flows: { flow: string; bulkLane: { via: unknown; holding: boolean } }[] }
    ).flows.find((f) => f.flow === 'contacts')!.bulkLane;
    expect(lane).toMatchObject({ via: null, holding: false });

    // A flow without a lane: --via bulk is refused before anything runs, saying what to do.
    const none = configWith('no-lane.yaml', (c) => delete c.bulk);
    const refused = await runDcsync(
      ['replay', '--config', none, '--table', 'contact', '--via', 'bulk'],
      env(),
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('flow contacts has no bulk lane');
    expect(refused.stderr).toContain('--via rest');
    const wrong = await runDcsync(['replay', '--config', none, '--table', 'contact', '--via', 'ftp'], env());
    expect(wrong.code).toBe(2);
  }, 240_000);
});

describe('import window', () => {
  it('uploads files outside the window, signals them once it opens, and status shows it', async () => {
    // The window opens at the next whole minute at least two minutes from now (Paris time) and
    // lasts an hour; the clock starts 30 s before it opens and is moved into it by the test.
    const minute = 60_000;
    const opensAt = Math.ceil((Date.now() + 2 * minute) / minute) * minute;
    const paris = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Paris',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    const schedule = {
      from: paris.format(opensAt),
      to: paris.format(opensAt + 60 * minute),
      timeZone: 'Europe/Paris',
    };
    const windowed = configWith('window.yaml', (c) => {
      (c.bulk as Record<string, unknown>).schedule = schedule;
    });
    let offset = opensAt - 30_000 - Date.now();
    const clock: Clock = { now: () => Date.now() + offset };

    const loaded = loadConfig(windowed, { env: env(), redactor: new Redactor() });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.findings));
    const windowRuntime = await openSyncRuntime(loaded.config, new Redactor(), { clock });
    const engine = await createSyncEngine(windowRuntime);
    const before = rowsImported();
    const signals = () => bed.campaign.admin.workflows.history(bulkWorkflowId).length;
    const signalsBefore = signals();
    try {
      await engine.start();
      await engine.requestReplay('contacts');
      // Outside the window: the replay's rows are written to a file and uploaded, not signalled.
      const laneNow = async () => (await engine.flowStatuses()).find((f) => f.flow === 'contacts')!.bulkLane!;
      let lane = await laneNow();
      for (let waited = 0; waited < 60_000 && !lane.files.some((f) => f.state === 'uploaded'); waited += 50) {
        await sleep(50);
        lane = await laneNow();
      }
      expect(lane.files).toMatchObject([{ state: 'uploaded', files: 1 }]);
      const inFile = lane.files[0]!.rows;
      expect(inFile).toBeGreaterThan(contacts / 2);
      // A few more passes of the lane: still not signalled.
      await sleep(1500);
      lane = await laneNow();
      expect(signals()).toBe(signalsBefore);
      expect(lane.holding).toBe(true);
      expect(lane.window).toMatchObject({ ...schedule, open: false, nextStartAt: opensAt });
      expect(lane.nextSignalAt).toBe(opensAt);
      // The import rate is known from the earlier imports: the ETA is after the opening.
      expect(lane.importRowsPerSecond).not.toBeNull();
      expect(lane.etaAt).toBeGreaterThanOrEqual(opensAt);
      const text = formatBulkLane(lane, clock.now()).join('\n');
      expect(text).toContain(`1 uploaded (${inFile} rows)`);
      expect(text).toContain(`import window ${schedule.from}–${schedule.to} Europe/Paris, opens`);
      expect(text).toContain('ETA');

      // The window opens: one signal imports the file.
      offset += 31_000;
      await waitUntil(() => rowsImported() - before >= inFile, 60_000, 50);
      expect(rowsImported() - before).toBe(inFile);
      expect(signals()).toBe(signalsBefore + 1);
      await waitUntil(async () => (await laneNow()).files.length === 0, 30_000, 50);
      lane = await laneNow();
      expect(lane).toMatchObject({ files: [], window: { open: true } });
    } finally {
      await engine.stop();
      await windowRuntime.close();
    }
  }, 180_000);
});
