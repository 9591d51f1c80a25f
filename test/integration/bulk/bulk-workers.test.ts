/**
 * The bulk lane with several workers on one PostgreSQL (issue 21): while one worker's bulk lane
 * holds the contacts' bulk work, the other workers' runners must not send those items through
 * REST. The hold is in the store (checkpoint `bulk:contacts`), not in the memory of the worker
 * that runs the lane; each worker reads it with its flow control. Both workers are built by the
 * production composition code from one configuration file; Campaign is the emulator over HTTPS and
 * the real SFTP path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSftpUsers } from '../../../emulators/campaign/sftp/sftp-server.js';
import type { WorkflowDefinitionInput } from '../../../emulators/campaign/campaign-workflow-model.js';
import type { SyncEngine } from '../../../src/engine/sync-engine.js';
import { SyncTestBed, testEnv } from '../../support/sync-test-bed.js';

const contacts = 4000;

const profileImport: WorkflowDefinitionInput = {
  id: 'WKF_BULK_PROFILES',
  kind: 'import',
  import: {
    resource: 'profile',
    importDir: 'd365_loads/imports',
    rejectDir: 'd365_loads/rejects',
    exportDir: 'd365_loads/pkeys',
    msPer1000Rows: 200,
  },
};

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const keyDir = mkdtempSync(path.join(tmpdir(), 'dcsync-bulk-workers-test-'));

describe('bulk lane with two workers on PostgreSQL', () => {
  let bed: SyncTestBed | undefined;
  const engines: SyncEngine[] = [];
  afterAll(async () => {
    for (const engine of engines) await engine.stop().catch(() => undefined);
    await bed?.close();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it("the other worker's runner leaves the held flow's bulk items alone", async () => {
    testEnv.BULK_SFTP_PASSWORD = defaultSftpUsers[0]!.password!;
    bed = await SyncTestBed.start({
      store: 'postgres',
      dynamics: { contacts, seed: 8 },
      campaign: {
        seed: 8,
        profiles: 5,
        sftpPort: 0,
        sftp: { hostKeyPath: path.join(keyDir, 'host-key'), workflow: { pollIntervalMs: 20 } },
        seedFile: { workflows: [profileImport] },
      },
      config: {
        dynamics: { pageSize: 100 },
        campaign: { budget: { callsPerSecond: 200, adaptive: false } },
        engine: { leaseMs: 5000, pollIntervalMs: 300 },
        workers: { dutyTtlMs: 3000 },
      },
      configFor: ({ campaign }) => ({
        campaign: {
          sftp: {
            host: campaign.sftp!.host,
            port: campaign.sftp!.port,
            username: campaign.sftp!.username,
            password: 'env:BULK_SFTP_PASSWORD',
            hostKeySha256: campaign.sftp!.hostKeySha256,
          },
        },
        flows: {
          contacts: {
            bulk: {
              workflowId: 'WKF_BULK_PROFILES',
              thresholdRecords: 50,
              // Whole chunks while the source is read: the read's bulk items wait in the queue
              // until it ends (a chunk is larger than the table).
              chunkRows: 10_000,
              pollIntervalMs: 20,
              importTimeoutMs: 120_000,
              signalIntervalMs: 0,
            },
          },
        },
      }),
    });
    const campaign = bed.campaign.admin;
    campaign.configure({ signalMinIntervalMs: 0 });

    // Worker A starts alone and takes the poller and the bulk lane of contacts.
    const a = await bed.engine();
    engines.push(a.engine);
    const held = async (): Promise<boolean> => {
      const text = await a.runtime.store.checkpoints.get('bulk:contacts');
      return text !== null && (JSON.parse(text) as { holding?: boolean }).holding === true;
    };
    await a.engine.start();
    for (let waited = 0; waited < 60_000 && !(await held()); waited += 20) await sleep(20);
    expect(await held(), 'worker A holds the bulk lane').toBe(true);

    // Worker B joins while A's lane holds the flow: B's runner may take live items only.
    const b = await bed.engine();
    engines.push(b.engine);
    const byB = { bulk: 0, live: 0 };
    b.engine.events.on('item.applied', (e) => {
      if (e.flow === 'contacts') byB[e.lane]++;
    });
    await b.engine.start();
    expect(b.engine.duties.duty('bulk:contacts').held).toBe(false);

    // Until every contact is in Campaign and nothing is left to do.
    const done = async (): Promise<boolean> => {
      const backlog = await a.runtime.store.queue.backlog();
      return (
        bed!.profilesByExternalId().size >= contacts &&
        backlog.reduce((n, e) => n + e.queued + e.leased, 0) === 0
      );
    };
    for (let waited = 0; waited < 180_000 && !(await done()); waited += 100) await sleep(100);
    expect(await done(), 'all contacts loaded').toBe(true);

    expect(byB.bulk, 'bulk items worker B sent through REST').toBe(0);
    const imported = campaign.workflows
      .history('WKF_BULK_PROFILES')
      .flatMap((run) => run.files)
      .filter((file) => file.state !== 'skipped')
      .reduce((n, file) => n + file.rowsRead, 0);
    expect(imported).toBeGreaterThan(contacts / 2);
  }, 300_000);
});
