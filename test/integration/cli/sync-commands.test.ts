import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncTestBed, testEnv } from '../../support/sync-test-bed.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { runDcsync, type CliResult } from '../../support/cli-runner.js';

const dcsync = (args: string[]): Promise<CliResult> => runDcsync(args, testEnv);

const exec = promisify(execFile);

/** The real binary, for the commands whose process behaviour matters. */
async function spawnDcsync(args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await exec('npx', ['tsx', 'src/cli/main.ts', ...args], {
      env: { ...process.env, ...testEnv },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('dcsync plan, run, status, dlq, replay, flow (as a user runs them)', () => {
  let bed: SyncTestBed;
  let contactIds: string[];
  let badId: string;
  let emailOfCandidate: string;

  beforeAll(async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 20, seed: 11 },
      campaign: { profiles: 3, seed: 5 },
    });
    contactIds = bed.dynamics.admin.listIds('contact');
    // One profile already carries a contact id (adopted); one has no externalId but the e-mail of a
    // contact (an adoption candidate the plan must point out).
    bed.campaign.admin.seedProfiles({ records: [{ externalId: contactIds[0]!, lastName: 'Pre' }] });
    emailOfCandidate = String(bed.dynamics.admin.getContact(contactIds[1]!)!.emailaddress1);
    bed.campaign.admin.seedProfiles({ records: [{ email: emailOfCandidate, lastName: 'NoExternalId' }] });
    // Dynamics allows a 50-character first name; Campaign's firstName holds 30: a dead letter.
    badId = String(
      bed.dynamics.admin.createContact(
        buildContact({ firstname: 'Bartholomew-Maximilian-Alexander-Fitzgerald' }),
      ).contactid,
    );
  });
  afterAll(async () => {
    await bed.close();
  });

  it('plan shows what would happen and writes nothing', async () => {
    bed.campaign.admin.resetStats();
    const result = await dcsync(['plan', '--config', bed.configPath, '--json']);
    expect(result.code).toBe(0);
    const [plan] = JSON.parse(result.stdout) as {
      counts: Record<string, number>;
      samples: { adoptionCandidates: { contactId: string }[] };
    }[];
    expect(plan!.counts).toMatchObject({
      create: 20,
      adopt: 1,
      update: 0,
      delete: 0,
      leftAlone: 4,
      adoptionCandidates: 1,
    });
    expect(plan!.samples.adoptionCandidates[0]!.contactId).toBe(contactIds[1]);
    const stats = bed.campaign.admin.stats();
    expect(stats.requests).toBeGreaterThan(0);
    expect(stats.engineCalls).toMatchObject({ insert: 0, update: 0, delete: 0 });
    expect(result.stdout).not.toContain(emailOfCandidate);
  });

  it('run --until-idle syncs and prints a JSON summary; status reports it', async () => {
    const run = await spawnDcsync(['run', '--config', bed.configPath, '--until-idle']);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    expect(summary).toMatchObject({ created: 19, adopted: 1, 'dead-lettered': 1 });
    const status = await dcsync(['status', '--config', bed.configPath]);
    expect(status.code).toBe(0);
    // `run --until-idle` has exited: no sync process reports.
    expect(status.stdout).toContain('flow contacts (table contact): stopped (no sync process reporting');
    expect(status.stdout).toContain('synced 20; retrying 0; dead letters 1; parked 0');
    const json = JSON.parse((await dcsync(['status', '--config', bed.configPath, '--json'])).stdout) as {
      flows: { synced: number; cursor: { phase: string } }[];
    };
    expect(json.flows[0]).toMatchObject({ synced: 20, cursor: { phase: 'delta' } });
  });

  it('dlq lists the dead letter with code and reason, retries it after the fix, and discards', async () => {
    const list = JSON.parse((await dcsync(['dlq', 'list', '--config', bed.configPath, '--json'])).stdout) as {
      total: number;
      items: { id: string; recordKey: string; code: string; attempts: number; payload?: unknown }[];
    };
    expect(list.total).toBe(1);
    expect(list.items[0]).toMatchObject({ recordKey: badId, code: 'MAPPING_INVALID' });
    expect(list.items[0]!.payload).toBeUndefined();
    // The operator fixes the record in Dynamics, then retries the dead letter.
    bed.dynamics.admin.updateContact(badId, { firstname: 'Bart' });
    const retry = await dcsync(['dlq', 'retry', '--config', bed.configPath, '--id', list.items[0]!.id]);
    expect(retry.stdout).toContain('1 dead letter(s) queued again');
    expect((await dcsync(['run', '--config', bed.configPath, '--until-idle'])).code).toBe(0);
    expect(bed.profilesByExternalId().get(badId)?.firstName).toBe('Bart');
    // Applying the newer state resolved the dead letter.
    expect((await dcsync(['dlq', 'list', '--config', bed.configPath])).stdout).toContain('0 dead letter(s)');
    const none = await dcsync(['dlq', 'discard', '--config', bed.configPath, '--all']);
    expect(none.stdout).toContain('0 dead letter(s) discarded');
  });

  it('flow pause stops a flow; resume lets it continue', async () => {
    expect(
      (
        await dcsync([
          'flow',
          'pause',
          '--config',
          bed.configPath,
          '--flow',
          'contact',
          '--reason',
          'maintenance',
        ])
      ).stdout,
    ).toContain('flow contacts paused');
    expect((await dcsync(['status', '--config', bed.configPath])).stdout).toContain('PAUSED (maintenance)');
    bed.dynamics.admin.updateContact(contactIds[5]!, { lastname: 'WhilePaused' });
    const paused = JSON.parse(
      (await dcsync(['run', '--config', bed.configPath, '--until-idle'])).stdout.trim(),
    ) as Record<string, number>;
    expect(paused.updated).toBe(0);
    expect(bed.profilesByExternalId().get(contactIds[5]!)?.lastName).not.toBe('WhilePaused');
    await dcsync(['flow', 'resume', '--config', bed.configPath, '--flow', 'contacts']);
    const resumed = JSON.parse(
      (await dcsync(['run', '--config', bed.configPath, '--until-idle'])).stdout.trim(),
    ) as Record<string, number>;
    expect(resumed.updated).toBe(1);
    expect(bed.profilesByExternalId().get(contactIds[5]!)?.lastName).toBe('WhilePaused');
  });

  it('replay rewrites every row, overwriting edits made in Campaign', async () => {
    const target = bed.profilesByExternalId().get(contactIds[3]!)!;
    bed.campaign.admin.editProfileAsOperator(String(target.PKey), { lastName: 'EditedInCampaign' });
    const result = await dcsync(['replay', '--config', bed.configPath, '--table', 'contact']);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout.trim()) as Record<string, number>;
    expect(summary.updated).toBe(21);
    expect(bed.profilesByExternalId().get(contactIds[3]!)?.lastName).toBe(
      bed.dynamics.admin.getContact(contactIds[3]!)!.lastname,
    );
  });

  it('reports configuration errors with exit code 3', async () => {
    const result = await spawnDcsync(['status', '--config', '/nonexistent/sync.yaml']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('/nonexistent/sync.yaml');
  });
});
