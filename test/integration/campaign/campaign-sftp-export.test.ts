/**
 * The emulator started with an SFTP port: opt-out changes made through the REST API (and by an
 * operator in the UI) reach the daily export file, read back over SSH with the production reader
 * pinned to the emulator's host key; the workflow is driven through the admin API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SftpReader } from '../../../src/connectors/sftp/sftp-reader.js';
import { defaultSftpUsers } from '../../../emulators/campaign/sftp/sftp-server.js';
import { CampaignOptOutExportSource } from '../../../emulators/campaign/campaign-opt-out-export-source.js';
import {
  startCampaignTestBed,
  RawCampaignCaller,
  type CampaignTestBed,
} from '../../support/campaign-test-bed.js';

let bed: CampaignTestBed;
let reader: SftpReader;
let admin: RawCampaignCaller;
const keyDir = mkdtempSync(path.join(tmpdir(), 'dcsync-campaign-sftp-test-'));

beforeAll(async () => {
  bed = await startCampaignTestBed({
    emulator: {
      sftpPort: 0,
      sftp: { hostKeyPath: path.join(keyDir, 'host-key'), workflow: { pollIntervalMs: 0 } },
    },
  });
  const info = bed.emulator.sftp!;
  reader = new SftpReader({
    host: info.host,
    port: info.port,
    username: info.username,
    password: defaultSftpUsers[0]!.password!,
    hostKeySha256: info.hostKeySha256,
    timeoutMs: 5000,
  });
  admin = new RawCampaignCaller(bed.emulator);
});

afterAll(async () => {
  await reader.close();
  await admin.close();
  await bed.close();
  rmSync(keyDir, { recursive: true, force: true });
});

async function readFile(filePath: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of reader.download(filePath)) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

describe('opt-out export over SFTP', () => {
  it('exports profiles whose opt-outs changed, with attribute-level times, and only once', async () => {
    const { client, emulator } = bed;
    expect(emulator.sftp?.hostKeySha256).toMatch(/^SHA256:/);
    const optedOut = await client.createProfile({ externalId: 'contact-opt', blackListEmail: true });
    await client.createProfile({ externalId: 'contact-quiet' });
    emulator.admin.advanceClock(60_000);
    emulator.admin.editProfileAsOperator('contact-quiet', { ccpaOptOut: true });

    const run = (await admin.send('POST', `${emulator.adminUrl}/sftp/workflow/run`)).json as {
      outcome: string;
      path: string;
      rowCount: number;
    };
    expect(run).toMatchObject({ outcome: 'written', rowCount: 2 });
    const lines = (await readFile(run.path)).trim().split('\n');
    expect(lines[0]!.split(';').slice(0, 4)).toEqual([
      'PKey',
      'externalId',
      'blackList',
      'blackListLastModified',
    ]);
    const rows = lines.slice(1).map((line) => line.split(';'));
    expect(rows.map((cells) => cells[1])).toEqual(['contact-opt', 'contact-quiet']);
    expect(rows[0]![0]).toBe(optedOut.PKey);
    expect(rows[0]![4]).toBe('1');
    expect(rows[0]![5]).toBe(optedOut.blackListEmailLastModified);
    expect(rows[1]![16]).toBe('1');
    expect(rows[1]![4]).toBe('0');
    expect(rows[1]![5]).toBe('');

    const again = (await admin.send('POST', `${emulator.adminUrl}/sftp/workflow/run`)).json as {
      outcome: string;
      rowCount: number;
    };
    expect(again).toMatchObject({ outcome: 'no-changes', rowCount: 0 });
    const usage = (await admin.send('GET', `${emulator.adminUrl}/sftp/usage`)).json as { usedBytes: number };
    expect(usage.usedBytes).toBeGreaterThan(0);
  });

  it('writes nothing while the workflow is stopped, then catches up after start', async () => {
    const { client, emulator } = bed;
    await admin.send('POST', `${emulator.adminUrl}/sftp/workflow/stop`);
    await client.updateRecord('profile', 'contact-opt', { blackListEmail: false });
    const stopped = (await admin.send('POST', `${emulator.adminUrl}/sftp/workflow/run`)).json as {
      outcome: string;
    };
    expect(stopped.outcome).toBe('stopped');
    await admin.send('POST', `${emulator.adminUrl}/sftp/workflow/start`);
    const resumed = (await admin.send('POST', `${emulator.adminUrl}/sftp/workflow/run`)).json as {
      outcome: string;
      rowCount: number;
    };
    expect(resumed).toMatchObject({ outcome: 'written', rowCount: 1 });
    const state = (await admin.send('GET', `${emulator.adminUrl}/sftp/workflow`)).json as {
      status: string;
      filesWritten: number;
    };
    expect(state.status).toBe('running');
  });
});

describe('CampaignOptOutExportSource', () => {
  it('lists profiles with a change in [since, until), all attributes, ordered by latest change', async () => {
    const { client, emulator } = bed;
    emulator.admin.reset();
    const source = emulator.admin.optOutExportSource;
    expect(source).toBeInstanceOf(CampaignOptOutExportSource);
    const start = emulator.admin.clock.now();
    const a = await client.createProfile({ externalId: 'src-a' });
    emulator.admin.advanceClock(1000);
    await client.updateProfile(a.PKey, { blackListPhone: true });
    const changedAt = emulator.admin.getRecord('profile', a.PKey)!.attributeModified.blackListPhone!;
    emulator.admin.advanceClock(1000);
    const b = await client.createProfile({ blackListMobile: true });
    const rows = source.listOptOutChangesSince(start, emulator.admin.clock.now() + 1);
    expect(rows.map((r) => r.PKey)).toEqual([a.PKey, b.PKey]);
    expect(rows[0]!.externalId).toBe('src-a');
    expect(rows[1]!.externalId).toBeNull();
    expect(rows[0]!.attributes.blackListPhone).toEqual({ value: true, lastModified: changedAt });
    expect(rows[0]!.attributes.blackListEmail).toEqual({ value: false, lastModified: 0 });
    expect(Object.keys(rows[0]!.attributes)).toHaveLength(8);
    expect(source.listOptOutChangesSince(changedAt + 1, changedAt + 2)).toEqual([]);
    expect(source.listOptOutChangesSince(0, changedAt).map((r) => r.PKey)).toEqual([]);
  });
});
