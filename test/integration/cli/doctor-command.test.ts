/**
 * `dcsync doctor` against both emulators, through the production Campaign client and record sink:
 * a full round trip leaves nothing behind, a foreign profile holding the test externalId is never
 * touched, and a failed update still deletes the test profile.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exitCodes } from '../../../src/cli/exit-codes.js';
import type { DoctorReport } from '../../../src/cli/runtime/doctor-round-trip.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { runDcsync } from '../../support/cli-runner.js';
import { SyncTestBed, testEnv } from '../../support/sync-test-bed.js';

const roundTrip = [
  'profile-metadata',
  'check-free',
  'create',
  'read',
  'update',
  'read-updated',
  'delete',
  'verify-gone',
];

describe('dcsync doctor', () => {
  let bed: SyncTestBed;

  beforeAll(async () => {
    bed = await SyncTestBed.start({ dynamics: { contacts: 2, seed: 5 } });
  });
  afterAll(async () => {
    await bed?.close();
  });
  beforeEach(() => {
    bed.campaign.admin.clearFaults();
  });

  /** Every profile, hidden ones included, that carries `externalId`. */
  function profilesWith(externalId: string): unknown[] {
    return bed.campaign.admin
      .listRecords('profile', { includeHidden: true })
      .filter((p) => p.values.externalId === externalId);
  }

  function doctor(externalId: string, ...extra: string[]): ReturnType<typeof runDcsync> {
    return runDcsync(
      ['doctor', '--config', bed.configPath, '--test-external-id', externalId, ...extra],
      testEnv,
    );
  }

  it('passes a full round trip, one line per step, and leaves nothing in Campaign', async () => {
    const before = bed.campaign.admin.countRecords('profile');
    const run = await doctor('doctor-1');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(exitCodes.ok);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(roundTrip.length + 1);
    roundTrip.forEach((name, i) => {
      expect(lines[i]).toMatch(new RegExp(`^ok {3}${name} +(\\d{3}|-) +\\d+ ms {2}\\S`));
    });
    // Each call's status: 200 metadata, 404 not yet there, 201 created, 200 read/update/delete, 404 gone.
    expect(lines.slice(0, -1).map((l) => /^\S+ +\S+ +(\S+)/.exec(l)?.[1])).toEqual([
      '200',
      '404',
      '201',
      '200',
      '200',
      '200',
      '200',
      '404',
    ]);
    expect(lines[0]).toContain('externalId is the profile identification key');
    expect(lines[2]).toContain('test e-mail dcsync-doctor+<id> at example.invalid');
    expect(lines.at(-1)).toBe('doctor: passed (8/8 step(s) passed); nothing left behind');
    expect(profilesWith('doctor-1')).toEqual([]);
    expect(bed.campaign.admin.countRecords('profile')).toEqual(before);
  });

  it('--json gives the same steps as data, with every call and its duration', async () => {
    const run = await doctor('doctor-json', '--json');
    expect(run.code).toBe(exitCodes.ok);
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report).toMatchObject({ externalId: 'doctor-json', outcome: 'passed', leftBehind: null });
    expect(report.steps.map((s) => s.name)).toEqual(roundTrip);
    expect(report.steps.every((s) => s.ok && s.durationMs >= 0)).toBe(true);
    expect(report.steps[0]!.calls).toEqual([{ target: 'campaign', status: 200 }]);
    expect(report.steps.find((s) => s.name === 'create')).toMatchObject({
      status: 201,
      calls: [{ target: 'campaign', status: 201 }],
    });
    expect(profilesWith('doctor-json')).toEqual([]);
  });

  it('refuses when a profile it did not create holds the externalId, and leaves it untouched', async () => {
    const [pkey] = bed.campaign.admin.seedProfiles({ externalIds: ['doctor-foreign'] });
    const before = bed.campaign.admin.getRecord('profile', pkey!);
    const run = await doctor('doctor-foreign');
    expect(run.code).toBe(exitCodes.preflight);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[1]).toMatch(/^FAIL check-free +200 /);
    expect(lines[1]).toContain(
      `profile ${pkey} already holds externalId doctor-foreign and was not created by dcsync doctor: refused, nothing written`,
    );
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe(
      'doctor: refused (1/2 step(s) passed); a profile not created by dcsync doctor holds externalId doctor-foreign, left untouched',
    );
    expect(bed.campaign.admin.getRecord('profile', pkey!)).toEqual(before);
    expect(profilesWith('doctor-foreign')).toHaveLength(1);
  });

  it('deletes a test profile an earlier run left behind, then runs the round trip', async () => {
    bed.campaign.admin.insertRecord('profile', {
      externalId: 'doctor-leftover',
      email: 'dcsync-doctor+doctor-leftover@example.invalid',
      firstName: 'dcsync-doctor',
      lastName: 'test profile, delete me',
    });
    const run = await doctor('doctor-leftover', '--json');
    expect(run.code).toBe(exitCodes.ok);
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report.steps.map((s) => s.name)).toEqual([
      'profile-metadata',
      'check-free',
      'remove-leftover',
      ...roundTrip.slice(2),
    ]);
    expect(report.steps[1]!.detail).toContain('an earlier doctor run left behind');
    expect(profilesWith('doctor-leftover')).toEqual([]);
  });

  it('reports a failed update with its status and still deletes the created profile', async () => {
    // PATCH goes by PKey (…/profile/@…); the reads go by externalId: only the update is hit.
    bed.campaign.admin.setFaults({ errorNext: 1, errorStatus: 500, pathPattern: '/profile/@' });
    const run = await doctor('doctor-fault');
    expect(run.code).toBe(exitCodes.connector);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/ +/).slice(0, 3).join(' '))).toEqual([
      'ok profile-metadata 200',
      'ok check-free 404',
      'ok create 201',
      'ok read 200',
      'FAIL update 500',
      'ok cleanup 200',
      expect.stringMatching(/^doctor: failed/),
    ]);
    expect(lines[4]).toMatch(/\(CAMPAIGN_\w+\)$/);
    expect(lines[5]).toContain('deleted after the failure');
    expect(lines.at(-1)).toBe('doctor: failed (5/6 step(s) passed); nothing left behind');
    expect(profilesWith('doctor-fault')).toEqual([]);
  });

  it('names a test profile it could not delete', async () => {
    // The update and the clean-up delete both fail: the report says what is left, by PKey.
    bed.campaign.admin.setFaults({ errorNext: 2, errorStatus: 500, pathPattern: '/profile/@' });
    const run = await doctor('doctor-stuck', '--json');
    expect(run.code).toBe(exitCodes.connector);
    const report = JSON.parse(run.stdout) as DoctorReport;
    const [left] = profilesWith('doctor-stuck') as { PKey: string }[];
    expect(report.outcome).toBe('failed');
    expect(report.leftBehind).toBe(left!.PKey);
    expect(report.steps.at(-1)).toMatchObject({ name: 'cleanup', ok: false, status: 500 });
    expect(report.steps.at(-1)!.detail).toContain(
      `test profile ${left!.PKey} is left in Campaign: delete it by hand`,
    );
    bed.campaign.admin.clearFaults();
    expect((await doctor('doctor-stuck')).code).toBe(exitCodes.ok); // the leftover is recognised
    expect(profilesWith('doctor-stuck')).toEqual([]);
  });

  it('reads one Dynamics contact by id (read only) with --test-contact', async () => {
    const id = String(bed.dynamics.admin.createContact(buildContact({ firstname: 'Doctor-Ada' })).contactid);
    const run = await doctor('doctor-contact', '--test-contact', id.toUpperCase());
    expect(run.code).toBe(exitCodes.ok);
    const first = run.stdout.split('\n')[0]!;
    expect(first).toMatch(/^ok {3}dynamics-read-contact +200 /);
    expect(first).toContain(`read contact ${id} from contacts by id (read only`);
    expect(run.stdout).not.toContain('Doctor-Ada');

    const missing = await doctor('doctor-contact', '--test-contact', '00000000-0000-0000-0000-000000000001');
    expect(missing.code).toBe(exitCodes.connector);
    expect(missing.stdout.split('\n')[0]).toMatch(/^FAIL dynamics-read-contact +404 .*not found/);
    // The Campaign round trip still ran and cleaned up.
    expect(missing.stdout).toContain('ok   verify-gone');
    expect(profilesWith('doctor-contact')).toEqual([]);
  });

  it('refuses a test externalId that is not a plain short value (usage, exit 2)', async () => {
    const run = await doctor('@not-a-key');
    expect(run.code).toBe(exitCodes.usage);
    expect(run.stderr).toContain('--test-external-id must be 1 to 64 letters');
  });
});

describe('dcsync doctor, externalId not declared as the identification key', () => {
  let bed: SyncTestBed;

  beforeAll(async () => {
    bed = await SyncTestBed.start({ campaign: { seedFile: { profile: { customKey: null } } } });
  });
  afterAll(async () => {
    await bed?.close();
  });

  it('says so and goes through the byExternalId filter, as the contact flow would', async () => {
    const run = await runDcsync(
      ['doctor', '--config', bed.configPath, '--test-external-id', 'doctor-filter', '--json'],
      testEnv,
    );
    expect(run.code).toBe(exitCodes.ok);
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report.outcome).toBe('passed');
    expect(report.steps[0]!.detail).toBe(
      'externalId is not declared as an identification key (keys: none): profiles are looked up through the custom filter byExternalId (externalId_parameter)',
    );
    // The look-ups are collection reads through the filter: 200 even when nothing matches.
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ['profile-metadata', 200],
      ['check-free', 200],
      ['create', 201],
      ['read', 200],
      ['update', 200],
      ['read-updated', 200],
      ['delete', 200],
      ['verify-gone', 200],
    ]);
    expect(
      bed.campaign.admin
        .listRecords('profile', { includeHidden: true })
        .filter((p) => p.values.externalId === 'doctor-filter'),
    ).toEqual([]);
  });
});
