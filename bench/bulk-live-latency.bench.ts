/**
 * `npm run bench -- bulk-live-latency`
 *
 * Does a large load need Campaign activity stopped (the seed's advice)? One `dcsync run` process
 * with the contacts' bulk lane, after its initial load, measured in three phases of the same run:
 * - quiet: live contact updates only;
 * - bulk replay: the same live updates while a replay of every contact goes through the bulk lane
 *   (`dcsync replay --request-only --via bulk`, read, written to files, imported by the workflow);
 * - REST replay: the same live updates while a replay goes through REST (`--via rest`), for
 *   comparison (its first `PHASE_MS` only: at 50 calls/s it lasts contacts/50 seconds).
 * For each: live latency (update in the Dynamics emulator → new value visible in Campaign, checked
 * in the emulator process) and the Campaign API requests the emulator received during the phase.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSftpUsers } from '../emulators/campaign/sftp/sftp-server.js';
import { bulkSftpConfig, bulkWorkflowId, profileImportWorkflow } from '../test/support/bulk-test-bed.js';
import { runDcsync } from '../test/support/cli-runner.js';
import { testEnv } from '../test/support/sync-test-bed.js';
import { bundleSyncChild, EmulatorHost, SyncChild, writeSyncConfig } from '../test/support/sync-process.js';
import { latencySummary, sleep, type LatencySummary } from './support/samples.js';
import { writeBenchResult } from './support/write-result.js';

const contacts = Number(process.env.BULK_LATENCY_CONTACTS ?? 50_000);
const changesPerSecond = Number(process.env.BULK_LATENCY_RATE ?? 5);
const phaseMs = Number(process.env.PHASE_MS ?? 60_000);
const msPer1000Rows = 600;
const budget = 50;

interface PhaseResult extends LatencySummary {
  campaignRequests: number;
  campaignRequestsPerSecond: number;
  rowsImported: number;
}

interface ImportRun {
  files: { rowsRead: number }[];
}

export async function run(): Promise<void> {
  const script = await bundleSyncChild();
  const dir = mkdtempSync(join(tmpdir(), 'dcsync-bench-bulk-latency-'));
  const host = await EmulatorHost.start({
    dynamics: { contacts, seed: 23 },
    campaign: {
      seed: 23,
      retryAfterSec: null,
      sftpPort: 0,
      sftp: { hostKeyPath: join(dir, 'host-key'), quotaBytes: 8 * 2 ** 30 },
      seedFile: { workflows: [profileImportWorkflow({ msPer1000Rows })] },
    },
  });
  const env = { BENCH_SFTP_PASSWORD: defaultSftpUsers[0]!.password! };
  let child: SyncChild | null = null;
  try {
    const sftp = host.endpoints.campaign.sftp!;
    const configPath = writeSyncConfig(
      dir,
      host.endpoints,
      { url: `sqlite:${join(dir, 'state.db')}` },
      {
        dynamics: { pageSize: 5000 },
        campaign: {
          budget: { callsPerSecond: budget, callsPerDay: 10_000_000, adaptive: false },
          sftp: bulkSftpConfig(sftp, 'env:BENCH_SFTP_PASSWORD'),
        },
        engine: { workers: 16, pollIntervalMs: 1000 },
        // info: the child reports it runs through its log.
        logging: { level: 'info' },
        flows: {
          contacts: {
            bulk: {
              workflowId: bulkWorkflowId,
              thresholdRecords: 5000,
              chunkRows: 25_000,
              pollIntervalMs: 1000,
              // The emulator's 10-minute rule is shortened below: the phases last a minute.
              signalIntervalMs: 0,
            },
          },
        },
      },
    );
    await host.call('campaignSettings', { signalMinIntervalMs: 0 });
    const imported = async (): Promise<number> =>
      (await host.call<ImportRun[]>('workflowHistory', { id: bulkWorkflowId }))
        .flatMap((r) => r.files)
        .reduce((n, f) => n + f.rowsRead, 0);

    child = SyncChild.spawn(script, configPath, { env, captureOutput: true });
    await child.running;
    // The initial load (through the lane), then a steady state.
    const loadStarted = performance.now();
    for (;;) {
      const profiles = await host.call<{ total: number }>('countProfiles');
      if (profiles.total >= contacts) break;
      if (performance.now() - loadStarted > 1_800_000) throw new Error('initial load did not end');
      await sleep(500);
    }
    const loadSeconds = Math.round((performance.now() - loadStarted) / 1000);
    await sleep(5000);

    const phase = async (seed: number, during?: () => Promise<void>): Promise<PhaseResult> => {
      await host.call('resetStats');
      const rowsBefore = await imported();
      const started = performance.now();
      await during?.();
      const latency = await host.call<{ latenciesMs: number[]; lost: number }>('latencyRun', {
        changesPerSecond,
        durationMs: phaseMs,
        seed,
        giveUpMs: 300_000,
      });
      const seconds = (performance.now() - started) / 1000;
      const stats = await host.call<{ campaign: { requests: number } }>('stats');
      return {
        ...latencySummary(latency.latenciesMs, latency.lost),
        campaignRequests: stats.campaign.requests,
        campaignRequestsPerSecond: Math.round((stats.campaign.requests / seconds) * 10) / 10,
        rowsImported: (await imported()) - rowsBefore,
      };
    };
    const replay = (via: 'bulk' | 'rest') => async (): Promise<void> => {
      const asked = await runDcsync(
        ['replay', '--config', configPath, '--table', 'contact', '--request-only', '--via', via],
        { ...testEnv, ...env },
      );
      if (asked.code !== 0) throw new Error(`replay --via ${via} failed: ${asked.stderr}`);
    };

    const quiet = await phase(1);
    console.log(JSON.stringify({ quiet }));
    const bulkReplay = await phase(2, replay('bulk'));
    console.log(JSON.stringify({ bulkReplay }));
    // The bulk replay has ended (its phase waited for every live change, which waited for the import).
    await sleep(5000);
    const restReplay = await phase(3, replay('rest'));
    console.log(JSON.stringify({ restReplay }));
    writeBenchResult('bulk-live-latency', {
      setup: `${contacts} contacts loaded first (through the bulk lane, ${loadSeconds} s); one dcsync run process (polling every 1 s, Campaign budget ${budget} calls/s); the emulators in another process (import ${msPer1000Rows} ms per 1,000 rows); live contact updates at ${changesPerSecond}/s for ${phaseMs / 1000} s per phase; latency = update in the Dynamics emulator until the new value is visible in Campaign; requests = every Campaign API request the emulator received during the phase (the sync's live writes, its replay writes, token, signals)`,
      conditions: '2-core AMD EPYC, shared, noisy (another agent ran a benchmark part of the time); one run',
      quiet,
      bulkReplay,
      restReplay,
    });
  } finally {
    await child?.kill('SIGTERM');
    await host.close();
    rmSync(dir, { recursive: true, force: true });
    script.dispose();
  }
}
