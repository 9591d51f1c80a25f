/**
 * I5 across lanes after a crash (issue 21): the sync is killed (`kill -9`) while a file it
 * signalled is still importing, and a contact of that file changes in Dynamics. The next process
 * must not apply the live change through REST before the dead process's import has ended: the
 * import's rows land late (the workflow's Update data comes after its Load file and
 * Reconciliation), and the older bulk row would then overwrite the newer live one. The hold of the
 * flow's bulk lane is in the store (checkpoint `bulk:contacts`, kept while files are in flight), so
 * the new process's runner leaves the file's keys alone until its lane has waited the import out.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BulkLaneProbe,
  bulkWorkflowId,
  importedFiles,
  runChildUntilIdle,
  spawnRunningChild,
  startBulkTestBed,
} from '../../support/bulk-test-bed.js';
import type { SyncTestBed } from '../../support/sync-test-bed.js';
import { bundleSyncChild, type SyncChildScript } from '../../support/sync-process.js';

const contacts = 1200;

let script: SyncChildScript;
beforeAll(async () => {
  script = await bundleSyncChild();
});
afterAll(() => {
  script?.dispose();
});

describe('a live change after a crash, while the dead process’s file imports', () => {
  let bed: SyncTestBed | undefined;
  let probe: BulkLaneProbe | undefined;
  afterAll(async () => {
    await probe?.close();
    await bed?.close();
  });

  it('is applied after the import, never overwritten by the older bulk row', async () => {
    bed = await startBulkTestBed({
      contacts,
      seed: 5,
      profiles: 5,
      // The rows land 15 s after the signal: long after the killed process's leases lapsed (1 s)
      // and the next process started.
      importTiming: { msPer1000Rows: 500, msBeforeWrite: 15_000 },
      signalMinIntervalMs: 0,
      config: {
        campaign: { budget: { callsPerSecond: 100, adaptive: false } },
        engine: { leaseMs: 1000, pollIntervalMs: 300 },
        workers: { dutyTtlMs: 1000 },
        logging: { level: 'info' },
      },
      bulk: {
        thresholdRecords: 50,
        chunkRows: 5000,
        importTimeoutMs: 120_000,
        signalIntervalMs: 0,
      },
    });
    const dynamics = bed.dynamics.admin;
    const campaign = bed.campaign.admin;
    probe = new BulkLaneProbe(bed);

    // Process A: the initial load goes to a file; wait until it is signalled (rows not landed yet).
    const first = await spawnRunningChild(script, bed);
    let signalled: string | null = null;
    for (let waited = 0; waited < 60_000 && signalled === null; waited += 20) {
      const lane = await probe.lane();
      signalled = lane?.files?.find((f) => f.state === 'signalled')?.name ?? null;
      if (signalled === null) await sleep(20);
    }
    if (process.env.CRASH_DEBUG) console.error('signalled', signalled, Date.now());
    expect(signalled, 'a file was signalled').not.toBeNull();

    // Contacts of that file change in Dynamics, then A dies before the import lands.
    const root = campaign.workflows.storage!.rootDir;
    const lines = readFileSync(path.join(root, 'd365_loads/imports', signalled!), 'utf8')
      .split('\n')
      .slice(1)
      .filter((l) => l !== '');
    const inFile = lines.map((l) => l.split(',')[0]!);
    expect(inFile.length).toBeGreaterThan(100);
    const changed = [inFile[0]!, inFile[Math.floor(inFile.length / 2)]!, inFile[inFile.length - 1]!];
    for (const [i, id] of changed.entries())
      dynamics.updateContact(id, { lastname: `Live${i}`, emailaddress1: `live${i}@example.org` });
    await sleep(600);
    const killed = await first.kill('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const importsBefore = campaign.workflows.history(bulkWorkflowId).length;

    // Process B runs until idle.
    const exit = await runChildUntilIdle(script, bed, 120_000);
    if (process.env.CRASH_DEBUG) {
      console.error('B exit', exit.code, exit.signal, Date.now());
      console.error(exit.stdout.split('\n').slice(-30).join('\n'));
    }
    expect(exit.code, exit.stderr.slice(-3000)).toBe(0);

    // The live change won: the dead process's import landed first, the live change after it.
    const profiles = bed.profilesByExternalId();
    for (const [i, id] of changed.entries()) {
      expect(profiles.get(id)?.lastName, `contact ${id}`).toBe(`Live${i}`);
      expect(profiles.get(id)?.email, `contact ${id}`).toBe(`live${i}@example.org`);
    }
    // And the rest is the projection of Dynamics; the file was imported once.
    const wrong = dynamics
      .listRows('contact')
      .filter((c) => profiles.get(String(c.contactid))?.lastName !== (c.lastname ?? ''))
      .map((c) => String(c.contactid));
    expect(wrong).toEqual([]);
    const imported = importedFiles(bed).map((file) => file.fileName);
    expect(imported.length).toBe(new Set(imported).size);
    expect(importsBefore).toBeGreaterThan(0);
  }, 240_000);
});
