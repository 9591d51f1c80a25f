import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privacyCheckpoints } from '../../../src/engine/privacy/privacy-request-runner.js';
import { privacyCrashEnv } from '../../../src/cli/runtime/privacy-runtime.js';
import type { SyncRuntime } from '../../../src/cli/runtime/sync-runtime.js';
import type { SyncTestBed } from '../../support/sync-test-bed.js';
import { bundleCli, spawnCli, type CliBundle, type CliExit } from './support/cli-process.js';
import {
  campaignTraces,
  createPerson,
  startPrivacyBed,
  syncAll,
  type Person,
} from './support/privacy-test-bed.js';

/** Checkpoints inside a step: the killed process still holds the request's lock. */
const insideStep = new Set<string>(['submit:posted', 'delete-dynamics:deleted']);

function expectNoCanary(text: string, person: Person): void {
  expect(text).not.toContain(person.email);
  expect(text).not.toContain(person.firstName);
}

describe('privacy requests survive kill -9 at every point (sqlite, separate processes)', () => {
  let bed: SyncTestBed;
  let bundle: CliBundle;
  let runtime: SyncRuntime;

  beforeAll(async () => {
    bundle = await bundleCli();
    bed = await startPrivacyBed('sqlite', { logLevel: 'info' });
    runtime = await bed.openRuntime();
  }, 60_000);

  afterAll(async () => {
    await bed?.close();
    bundle?.dispose();
  });

  it('completes each request exactly once: one Privacy Service job, one Dynamics delete', async () => {
    const people = privacyCheckpoints.map(() => createPerson(bed, 1));
    await syncAll(bed);
    const deleteArgs = (person: Person) => [
      'privacy',
      'delete',
      '--config',
      bed.configPath,
      '--contact',
      person.contactId,
      '--wait',
    ];

    // Every request crashes at its own checkpoint, all at once.
    const crashed = await Promise.all(
      privacyCheckpoints.map((checkpoint, i) => {
        const child = spawnCli(bundle, deleteArgs(people[i]!), { [privacyCrashEnv]: checkpoint });
        return child.exited.then((exit) => ({ exit, pid: child.pid }));
      }),
    );
    const outputs: CliExit[] = [];
    for (const [i, { exit, pid }] of crashed.entries()) {
      outputs.push(exit);
      expect(exit.signal, `${privacyCheckpoints[i]}: ${exit.stderr}`).toBe('SIGKILL');
      const checkpoint = privacyCheckpoints[i]!;
      const [request] = (await runtime.store.privacy.list({ contactKey: people[i]!.contactId }, {})).items;
      expect(request, checkpoint).toBeDefined();
      if (insideStep.has(checkpoint)) {
        // The dead process's lock would expire after its TTL; release it instead of waiting.
        await runtime.store.locks.release(`privacy-request:${request!.id}`, `${hostname()}:${pid}`);
      }
    }

    // Restart: the same command picks the request up where it stopped.
    const resumed = await Promise.all(people.map((person) => spawnCli(bundle, deleteArgs(person)).exited));
    for (const [i, exit] of resumed.entries()) {
      outputs.push(exit);
      expect(exit.code, `${privacyCheckpoints[i]}: ${exit.stderr}`).toBe(0);
      expect(JSON.parse(exit.stdout)).toMatchObject({ state: 'completed', step: 'done' });
    }

    const jobs = bed.campaign.admin.privacyJobs();
    for (const [i, person] of people.entries()) {
      const checkpoint = privacyCheckpoints[i]!;
      const [request] = (await runtime.store.privacy.list({ contactKey: person.contactId }, {})).items;
      expect(request, checkpoint).toMatchObject({ state: 'completed' });
      const forPerson = jobs.filter((job) => job.userIds.some((id) => id.value === person.contactId));
      expect(forPerson.length, checkpoint).toBe(1);
      expect(campaignTraces(bed, person), checkpoint).toEqual({ profiles: 0, orders: 0 });
      expect(bed.dynamics.admin.getContact(person.contactId), checkpoint).toBeUndefined();
      expect((await runtime.store.privacy.guardOf(person.contactId))?.kind, checkpoint).toBe('tombstone');
      const steps = await runtime.store.privacy.steps(request!.id);
      const succeeded = steps.filter((s) => s.outcome === 'succeeded').map((s) => s.step);
      expect(succeeded, checkpoint).toEqual([
        'hold',
        'submit',
        'poll',
        'verify-campaign',
        'delete-dynamics',
        'verify-gone',
        'tombstone',
      ]);
      for (const exit of [outputs[i]!, outputs[i + people.length]!])
        expectNoCanary(exit.stderr + exit.stdout, person);
    }
    // One delete per contact, never a second attempt.
    const routes = bed.dynamics.admin.stats().byRouteAndStatus;
    expect(routes['DELETE contacts(id) 204']).toBe(people.length);
    expect(routes['DELETE contacts(id) 404']).toBeUndefined();
  }, 240_000);

  it('moves requests on inside dcsync run', async () => {
    const person = createPerson(bed, 1);
    await syncAll(bed);
    const started = await spawnCli(bundle, [
      'privacy',
      'delete',
      '--config',
      bed.configPath,
      '--contact',
      person.contactId,
    ]).exited;
    expect(started.code, started.stderr).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ state: 'in-progress', step: 'hold' });
    const id = (JSON.parse(started.stdout) as { id: string }).id;
    const run = spawnCli(bundle, ['run', '--config', bed.configPath]);
    try {
      await expect
        .poll(async () => (await runtime.store.privacy.get(id))?.state, { timeout: 30_000, interval: 200 })
        .toBe('completed');
    } finally {
      run.kill('SIGTERM');
    }
    const exit = await run.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(campaignTraces(bed, person)).toEqual({ profiles: 0, orders: 0 });
    expectNoCanary(exit.stderr + exit.stdout, person);
  }, 60_000);
});
