/**
 * The bulk lane under `kill -9` (issue 21, "Must show"): the sync runs as a child process — the
 * `dcsync run` command function over the production runtime — with the contacts' bulk lane on,
 * and is killed with SIGKILL at each state of its files in turn (writing, uploaded, signalled /
 * importing, rejects read), while contacts change in Dynamics between runs. A final
 * `--until-idle` run must leave Campaign equal to the projection of Dynamics, every row Campaign
 * rejects a dead letter, no row lost, and the import workflow's history must show that no file was
 * ever imported twice.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../emulators/shared/seeded-random.js';
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
import { foreignProfiles, profilesByKey } from '../engine/fixtures/sync-convergence.js';

const contacts = 3000;
const kills = Number(process.env.BULK_KILLS ?? 30);
/** The states a kill aims at, in turn (`signalling`: the signal's answer unknown; `signalled`: importing). */
const targets = ['writing', 'uploaded', 'signalling', 'signalled', 'rejects-read'] as const;

let script: SyncChildScript;
beforeAll(async () => {
  script = await bundleSyncChild();
});
afterAll(() => {
  script?.dispose();
});

describe('kill -9 at every state of the bulk lane', () => {
  let bed: SyncTestBed | undefined;
  let probe: BulkLaneProbe | undefined;
  afterAll(async () => {
    await probe?.close();
    await bed?.close();
  });

  it('never imports a file twice and loses no row', async () => {
    bed = await startBulkTestBed({
      contacts,
      seed: 21,
      profiles: 10,
      // 250 rows take 0.4 s: a file stays `signalled` long enough to be killed in.
      importTiming: { msPer1000Rows: 1600 },
      // The emulator's 10-minute rule, shortened through its settings.
      signalMinIntervalMs: 200,
      config: {
        dynamics: { pageSize: 500 },
        // A slow REST lane: what the runner takes before the bulk lane holds the flow stays small.
        campaign: { budget: { callsPerSecond: 20, adaptive: false } },
        engine: { leaseMs: 1000, pollIntervalMs: 60_000 },
        workers: { dutyTtlMs: 1000 },
        logging: { level: 'info' },
      },
      bulk: {
        thresholdRecords: 50,
        chunkRows: 250,
        maxRowsInFlight: 1000,
        importTimeoutMs: 60_000,
        signalIntervalMs: 200,
      },
    });
    const dynamics = bed.dynamics.admin;
    const campaign = bed.campaign.admin;
    const random = new SeededRandom(21);
    const ids = dynamics.listIds('contact');
    // Campaign refuses these e-mail addresses: the contacts are rejected by the import (or by REST).
    const rejected = new Set(ids.filter(() => random.chance(0.01)));
    for (const id of rejected) dynamics.updateContact(id, { emailaddress1: 'not-an-email' });
    const foreignBefore = foreignProfiles(bed);
    let serial = 0;
    const liveChanges = (): void => {
      for (let i = random.int(1, 5); i > 0; i--) {
        const id = random.pick(ids);
        if (rejected.has(id)) continue;
        const n = ++serial;
        dynamics.updateContact(id, { lastname: `Upd${n}`, emailaddress1: `u${n}@example.org` });
      }
    };

    const lane = new BulkLaneProbe(bed);
    probe = lane;
    const statesNow = async (): Promise<string[]> => ((await lane.lane())?.files ?? []).map((f) => f.state);

    const hits = new Map<string, number>();
    const t0 = Date.now();
    for (let run = 0; run < kills; run++) {
      const child = await spawnRunningChild(script, bed, { startTimeoutMs: 20_000 });
      const target = targets[run % targets.length]!;
      let seen: string[] = [];
      for (let waited = 0; waited < 8000; waited += 2) {
        seen = await statesNow();
        if (seen.includes(target)) break;
        await sleep(2);
      }
      const exit = await child.kill('SIGKILL');
      expect(exit.signal, `run ${run} ended by itself: ${exit.stderr.slice(-1000)}`).toBe('SIGKILL');
      if (seen.includes(target)) hits.set(target, (hits.get(target) ?? 0) + 1);
      if (process.env.CRASH_DEBUG)
        console.error(
          `t=${Date.now() - t0} run ${run} target=${target} seen=${seen.join(',')} profiles=${campaign.countRecords('profile').total}`,
        );
      liveChanges();
    }

    const final = await runChildUntilIdle(script, bed, Number(process.env.BULK_FINAL_MS ?? 120_000));
    if (process.env.CRASH_DEBUG) {
      console.error(
        final.stdout
          .split('\n')
          .filter((l) => !l.includes('"level":40'))
          .slice(-25)
          .join('\n'),
      );
      console.error(
        await lane.store?.checkpoints.get('bulk:contacts'),
        JSON.stringify(await lane.store?.queue.backlog()),
      );
      console.error(JSON.stringify(campaign.workflows.history(bulkWorkflowId).slice(-4)));
    }
    expect(final.code, final.stderr.slice(-3000)).toBe(0);

    // Every state was killed in, several times.
    for (const target of targets)
      expect(hits.get(target) ?? 0, `kills in ${target}`).toBeGreaterThanOrEqual(3);

    // No file imported twice: each file name appears once among the imports the workflow ran.
    const imported = importedFiles(bed).map((file) => file.fileName);
    expect(imported.length).toBeGreaterThan(kills / 4);
    expect(imported.length).toBe(new Set(imported).size);

    // No row lost: Campaign is the projection of Dynamics; each rejected contact is a dead letter.
    const byKey = profilesByKey(bed);
    expect([...byKey].filter(([, list]) => list.length > 1).map(([key]) => key)).toEqual([]);
    const wrong: string[] = [];
    for (const contact of dynamics.listRows('contact')) {
      const id = String(contact.contactid);
      const profile = byKey.get(id)?.[0];
      if (rejected.has(id)) {
        if (profile) wrong.push(`${id}: rejected but in Campaign`);
        continue;
      }
      if (
        !profile ||
        (profile.firstName ?? '') !== (contact.firstname ?? '') ||
        (profile.lastName ?? '') !== (contact.lastname ?? '') ||
        (profile.email ?? '') !== (contact.emailaddress1 ?? '')
      )
        wrong.push(`${id}: ${profile ? 'differs' : 'missing'}`);
    }
    expect(wrong).toEqual([]);
    expect(foreignProfiles(bed)).toEqual(foreignBefore);
    const store = await lane.reopen();
    const dead = (await store.deadLetters.list({ flow: 'contacts' }, { limit: 1000 })).items;
    expect(dead.map((d) => d.recordKey).sort()).toEqual([...rejected].sort());
    const backlog = await store.queue.backlog();
    expect(backlog.reduce((n, b) => n + b.queued + b.leased, 0)).toBe(0);
  }, 300_000);
});
