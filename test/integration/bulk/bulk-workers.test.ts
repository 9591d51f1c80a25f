/**
 * The bulk lane with several workers on one PostgreSQL (issue 21): while one worker's bulk lane
 * holds the contacts' bulk work, the other workers' runners must not send those items through
 * REST. The hold is in the store (checkpoint `bulk:contacts`), not in the memory of the worker
 * that runs the lane; each worker reads it with its flow control. Both workers are built by the
 * production composition code from one configuration file; Campaign is the emulator over HTTPS and
 * the real SFTP path.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { SyncEngine } from '../../../src/engine/sync-engine.js';
import { importedFiles, readBulkLane, startBulkTestBed, waitUntil } from '../../support/bulk-test-bed.js';
import type { SyncTestBed } from '../../support/sync-test-bed.js';

const contacts = 4000;

describe('bulk lane with two workers on PostgreSQL', () => {
  let bed: SyncTestBed | undefined;
  const engines: SyncEngine[] = [];
  afterAll(async () => {
    for (const engine of engines) await engine.stop().catch(() => undefined);
    await bed?.close();
  });

  it("the other worker's runner leaves the held flow's bulk items alone", async () => {
    bed = await startBulkTestBed({
      store: 'postgres',
      contacts,
      seed: 8,
      profiles: 5,
      importTiming: { msPer1000Rows: 200 },
      signalMinIntervalMs: 0,
      config: {
        dynamics: { pageSize: 100 },
        campaign: { budget: { callsPerSecond: 200, adaptive: false } },
        engine: { leaseMs: 5000, pollIntervalMs: 300 },
        workers: { dutyTtlMs: 3000 },
      },
      bulk: {
        thresholdRecords: 50,
        // Whole chunks while the source is read: the read's bulk items wait in the queue
        // until it ends (a chunk is larger than the table).
        chunkRows: 10_000,
        importTimeoutMs: 120_000,
        signalIntervalMs: 0,
      },
    });

    // Worker A starts alone and takes the poller and the bulk lane of contacts.
    const a = await bed.engine();
    engines.push(a.engine);
    const held = async (): Promise<boolean> => (await readBulkLane(a.runtime.store))?.holding === true;
    await a.engine.start();
    await waitUntil(held, 60_000, 20);
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
    await waitUntil(done, 180_000, 100);
    expect(await done(), 'all contacts loaded').toBe(true);

    expect(byB.bulk, 'bulk items worker B sent through REST').toBe(0);
    const imported = importedFiles(bed).reduce((n, file) => n + file.rowsRead, 0);
    expect(imported).toBeGreaterThan(contacts / 2);
  }, 300_000);
});
