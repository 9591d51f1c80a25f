/**
 * Campaign workflows through the production clients against the emulator, over HTTPS and SFTP:
 * the execution and its signal's trigger URL, commands, the signal's rules (declared parameters,
 * started only, one per 10 minutes on the emulator's clock), and import workflows that load a CSV
 * uploaded by the SFTP writer, reconciling on the key only, with a reject file and a key → PKey
 * export; a custom resource child loaded before its parent stays hidden until the parent lands.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../../src/core/errors.js';
import { CampaignBulkImport } from '../../../src/connectors/campaign/campaign-bulk-import.js';
import { SftpWriter } from '../../../src/connectors/sftp/sftp-writer.js';
import { EmulatorClock } from '../../../emulators/shared/emulator-clock.js';
import { defaultSftpUsers } from '../../../emulators/campaign/sftp/sftp-server.js';
import type { WorkflowDefinitionInput } from '../../../emulators/campaign/campaign-workflow-model.js';
import {
  campaignTestSeed,
  connectorErrorOf,
  RawCampaignCaller,
  startCampaignTestBed,
  type CampaignTestBed,
} from '../../support/campaign-test-bed.js';

const profileImport: WorkflowDefinitionInput = {
  id: 'WKF_BULK_PROFILES',
  label: 'Bulk profiles',
  kind: 'import',
  import: {
    resource: 'profile',
    importDir: 'd365_loads/imports',
    rejectDir: 'd365_loads/rejects',
    exportDir: 'd365_loads/pkeys',
    msPer1000Rows: 600_000,
  },
};
const orderImport: WorkflowDefinitionInput = {
  id: 'WKF_BULK_ORDERS',
  kind: 'import',
  import: { resource: 'cusOrder', importDir: 'd365_loads/imports', rejectDir: 'd365_loads/rejects' },
};
const plainSignal: WorkflowDefinitionInput = {
  id: 'WKF_SIGNAL',
  parameters: [
    { name: 'audience', type: 'string' },
    { name: 'count', type: 'number' },
  ],
};

const tenMinutes = 600_000;
let bed: CampaignTestBed;
let sftp: SftpWriter;
let raw: RawCampaignCaller;
let profiles: CampaignBulkImport;
let orders: CampaignBulkImport;
const keyDir = mkdtempSync(path.join(tmpdir(), 'dcsync-campaign-workflows-test-'));

beforeAll(async () => {
  const clock = new EmulatorClock();
  clock.freeze();
  bed = await startCampaignTestBed({
    emulator: {
      clock,
      seedFile: { ...campaignTestSeed, workflows: [profileImport, orderImport, plainSignal] },
      sftpPort: 0,
      sftp: { hostKeyPath: path.join(keyDir, 'host-key'), workflow: { pollIntervalMs: 0 } },
    },
  });
  const info = bed.emulator.sftp!;
  sftp = new SftpWriter({
    host: info.host,
    port: info.port,
    username: info.username,
    password: defaultSftpUsers[0]!.password!,
    hostKeySha256: info.hostKeySha256,
    timeoutMs: 5000,
  });
  const common = {
    client: bed.client,
    sftp,
    importDir: 'd365_loads/imports',
    rejectDir: 'd365_loads/rejects',
  };
  profiles = new CampaignBulkImport({ ...common, workflowId: 'WKF_BULK_PROFILES' });
  orders = new CampaignBulkImport({ ...common, workflowId: 'WKF_BULK_ORDERS' });
  raw = new RawCampaignCaller(bed.emulator);
});

beforeEach(() => {
  bed.emulator.admin.reset();
});

afterAll(async () => {
  await sftp.close();
  await raw.close();
  await bed.close();
  rmSync(keyDir, { recursive: true, force: true });
});

/** The text as a stream of small chunks (a chunk boundary may fall inside a character or a row). */
function chunksOf(text: string, size = 7): AsyncIterable<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks) as AsyncIterable<Uint8Array>;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Move the emulator's clock through its admin API, as a test of another process would. */
async function advanceClock(ms: number): Promise<void> {
  const answer = await raw.send('POST', `${bed.emulator.adminUrl}/clock`, { body: { advanceMs: ms } });
  expect(answer.status).toBe(200);
}

function localFile(relative: string): string {
  return path.join(bed.emulator.sftp!.rootDir, relative);
}

describe('workflow execution, commands and the signal', () => {
  it('reads the execution with its External signal activity, declared parameters and trigger URL', async () => {
    const execution = await bed.client.getWorkflowExecution('WKF_BULK_PROFILES');
    expect(execution).toMatchObject({ id: 'WKF_BULK_PROFILES', state: 'started' });
    expect(execution.pkey).toMatch(/^@/);
    const signal = execution.activities.find((a) => a.name === 'signal1')!;
    expect(signal.parameters).toEqual([{ name: 'fileName', type: 'string' }]);
    expect(signal.triggerHref).toBe(
      `${bed.emulator.url}/campaign/workflow/execution/${execution.pkey}/activities/activity/${signal.raw.PKey as string}/trigger/`,
    );
    expect(execution.activities.find((a) => a.name === 'import1')).toMatchObject({
      type: 'import',
      state: 'idle',
    });
    expect(await bed.client.getSignalTriggerUrl('WKF_BULK_PROFILES')).toBe(signal.triggerHref);
    expect(
      (await connectorErrorOf(bed.client.getSignalTriggerUrl('WKF_BULK_PROFILES', 'signal9'))).code,
    ).toBe('CAMPAIGN_SIGNAL_NOT_FOUND');
    expect((await connectorErrorOf(bed.client.getWorkflowExecution('WKF_NONE'))).code).toBe(
      'CAMPAIGN_NOT_FOUND',
    );
  });

  it('refuses undeclared parameters and wrong types with the documented error text, and a missing source', async () => {
    const url = await bed.client.getSignalTriggerUrl('WKF_SIGNAL');
    const undeclared = await connectorErrorOf(
      bed.client.triggerSignal(url, { source: 'test', parameters: { contentURL: 'x' } }),
    );
    expect(undeclared.code).toBe('CAMPAIGN_SIGNAL_PARAMETERS');
    expect(undeclared.message).toContain('parameter contentURL');
    expect(undeclared.retryable).toBe(false);
    const wrongType = await connectorErrorOf(
      bed.client.triggerSignal(url, { source: 'test', parameters: { count: 'three' } }),
    );
    expect(wrongType.code).toBe('CAMPAIGN_SIGNAL_PARAMETERS');
    expect((await connectorErrorOf(bed.client.triggerSignal(url, { source: ' ' }))).code).toBe(
      'CAMPAIGN_SIGNAL_PARAMETERS',
    );

    const noSource = await raw.send('POST', url, { body: { parameters: { audience: 'a' } } });
    expect(noSource.status).toBe(500);
    expect((noSource.json as { message: string }).message).toMatch(
      /^RST-360011 An error has occurred - please contact your administrator\.\nThe 'source' attribute is mandatory/,
    );
    const documented = await raw.send('POST', url, {
      body: { source: 'API', parameters: { contentURL: 'x' } },
    });
    expect((documented.json as { message: string }).message).toContain(
      "'contentURL' parameter isn't defined in signal activity.\nXTK-170006 Unable to parse expression 'HandleTrigger(@name, $(source), $({parameters}))'.",
    );
    const tooBig = await raw.send('POST', url, {
      body: { source: 'API', parameters: { audience: 'x'.repeat(70_000) } },
    });
    expect((tooBig.json as { message: string }).message).toContain('64Ko');

    await bed.client.triggerSignal(url, { source: 'test', parameters: { audience: 'all', count: 3 } });
    expect(bed.emulator.admin.workflows.history('WKF_SIGNAL')).toMatchObject([
      { run: 1, source: 'test', parameters: { audience: 'all', count: 3 }, state: 'done' },
    ]);
  });

  it('refuses a signal while the workflow is stopped or paused, and accepts it once started', async () => {
    const url = await bed.client.getSignalTriggerUrl('WKF_SIGNAL');
    await bed.client.controlWorkflow('WKF_SIGNAL', 'stop');
    expect((await bed.client.getWorkflowExecution('WKF_SIGNAL')).state).toBe('stopped');
    const stopped = await connectorErrorOf(bed.client.triggerSignal(url, { source: 'test' }));
    expect(stopped.code).toBe('CAMPAIGN_WORKFLOW_NOT_STARTED');
    await bed.client.controlWorkflow('WKF_SIGNAL', 'start');
    await bed.client.controlWorkflow('WKF_SIGNAL', 'pause');
    expect((await bed.client.getWorkflowExecution('WKF_SIGNAL')).state).toBe('paused');
    expect((await connectorErrorOf(bed.client.triggerSignal(url, { source: 'test' }))).code).toBe(
      'CAMPAIGN_WORKFLOW_NOT_STARTED',
    );
    await bed.client.controlWorkflow('WKF_SIGNAL', 'resume');
    await bed.client.triggerSignal(url, { source: 'test' });
    expect(bed.emulator.admin.workflows.history('WKF_SIGNAL')).toHaveLength(1);
  });

  it('accepts one signal per 10 minutes of emulated time per workflow (configurable)', async () => {
    const url = await bed.client.getSignalTriggerUrl('WKF_SIGNAL');
    await bed.client.triggerSignal(url, { source: 'test' });
    const tooSoon = await connectorErrorOf(bed.client.triggerSignal(url, { source: 'test' }));
    expect(tooSoon).toBeInstanceOf(RateLimitedError);
    expect(tooSoon.code).toBe('CAMPAIGN_SIGNAL_TOO_SOON');
    expect(tooSoon.retryable).toBe(true);
    await advanceClock(tenMinutes - 1);
    expect((await connectorErrorOf(bed.client.triggerSignal(url, { source: 'test' }))).code).toBe(
      'CAMPAIGN_SIGNAL_TOO_SOON',
    );
    await advanceClock(1);
    await bed.client.triggerSignal(url, { source: 'test' });
    // Another workflow has its own interval.
    await bed.client.triggerSignal(await bed.client.getSignalTriggerUrl('WKF_BULK_ORDERS'), {
      source: 'test',
      parameters: { fileName: 'none.csv' },
    });

    const settings = await raw.send('PUT', `${bed.emulator.adminUrl}/settings`, {
      body: { signalMinIntervalMs: 0 },
    });
    expect(settings.status).toBe(200);
    await bed.client.triggerSignal(url, { source: 'test' });
    expect(bed.emulator.admin.workflows.history('WKF_SIGNAL')).toHaveLength(3);
  });
});

describe('import workflows', () => {
  it('inserts and updates by externalId only, rejects bad rows with reasons, exports PKeys, takes its time', async () => {
    const { admin } = bed.emulator;
    const [foreignPKey] = admin.seedProfiles({ foreign: 1 });
    const foreignBefore = admin.getRecord('profile', foreignPKey!)!;
    admin.seedProfiles({ records: [{ externalId: 'c-2', email: 'old@example.com', firstName: 'Old' }] });
    const csv = [
      'externalId,email,firstName,gender',
      'c-1,new@example.com,Ann,female',
      'c-2,two@example.com,,male',
      'c-3,not-an-email,Bob,male',
      ',nobody@example.com,Nobody,male',
      'c-4,four@example.com,Cy,robot',
      `c-5,five@example.com,${'x'.repeat(31)},male`,
    ].join('\n');
    const upload = await profiles.upload('run1_0001.csv', chunksOf(csv));
    expect(upload).toEqual({
      fileName: 'run1_0001.csv',
      bytes: Buffer.byteLength(csv),
      sha256: createHash('sha256').update(csv).digest('hex'),
    });
    expect(await profiles.isUploaded('run1_0001.csv')).toBe(true);

    await profiles.signal('run1_0001.csv');
    await admin.workflows.settled('WKF_BULK_PROFILES');
    // 6 rows at 600 s per 1,000 rows: 3.6 s of emulated time.
    expect(await profiles.importState()).toEqual({ workflowState: 'started', importing: true });
    expect(await profiles.readRejects('run1_0001.csv')).toBeNull();
    await advanceClock(3599);
    expect((await profiles.importState()).importing).toBe(true);
    await advanceClock(1);
    expect(await profiles.importState()).toEqual({ workflowState: 'started', importing: false });

    const rejects = (await profiles.readRejects('run1_0001.csv'))!;
    expect(rejects.map((r) => [r.row, r.key])).toEqual([
      [3, 'c-3'],
      [4, ''],
      [5, 'c-4'],
      [6, 'c-5'],
    ]);
    expect(rejects[0]!.reason).toMatch(/the 'email' property does not follow/);
    expect(rejects[1]!.reason).toMatch(/the 'externalId' field is empty: it is the reconciliation key/);
    expect(rejects[2]!.reason).toMatch(/enumeration of the '@gender' field/);
    expect(rejects[2]!.reason).not.toContain('robot');
    expect(rejects[3]!.reason).toMatch(/value too long for type character varying\(30\)/);

    expect(admin.getRecord('profile', 'c-1')!.values).toMatchObject({
      email: 'new@example.com',
      gender: 'female',
    });
    // An empty cell clears the field (emptyCells: 'clear').
    expect(admin.getRecord('profile', 'c-2')!.values).toMatchObject({
      email: 'two@example.com',
      firstName: '',
    });
    expect(admin.getRecord('profile', 'c-3')).toBeUndefined();
    expect(admin.getRecord('profile', foreignPKey!)).toEqual(foreignBefore);
    expect(admin.countRecords('profile').total).toBe(3);

    const history = admin.workflows.history('WKF_BULK_PROFILES');
    expect(history).toMatchObject([
      {
        fileName: 'run1_0001.csv',
        state: 'done',
        rowsRead: 6,
        inserted: 1,
        updated: 1,
        rejected: 4,
        rejectPath: 'd365_loads/rejects/run1_0001.rejects.csv',
        exportPath: 'd365_loads/pkeys/run1_0001.pkeys.csv',
      },
    ]);
    expect(readFileSync(localFile('d365_loads/pkeys/run1_0001.pkeys.csv'), 'utf8')).toBe(
      `externalId,PKey\nc-1,${admin.getRecord('profile', 'c-1')!.PKey}\nc-2,${admin.getRecord('profile', 'c-2')!.PKey}\n`,
    );
    const imports = await raw.send('GET', `${bed.emulator.adminUrl}/workflows/WKF_BULK_PROFILES/imports`);
    expect((imports.json as Array<{ fileName: string }>).map((r) => r.fileName)).toEqual(['run1_0001.csv']);
    const body = await bed.client.getWorkflowExecution('WKF_BULK_PROFILES');
    const shown = body.activities.find((a) => a.name === 'import1')!.raw.history as Array<
      Record<string, unknown>
    >;
    expect(shown).toMatchObject([{ fileName: 'run1_0001.csv', state: 'done', rejected: 4 }]);
  });

  it('imports every file a manifest lists with one signal, each ending at its own time, never a file twice', async () => {
    const { admin } = bed.emulator;
    await profiles.upload('m_0001.csv', chunksOf('externalId,firstName\nm-1,One\nm-2,Two\n'));
    await profiles.upload('m_0002.csv', chunksOf('externalId,firstName\nm-3,Three\nm-4,\n'));
    await profiles.upload('m_s0001.manifest', chunksOf('m_0001.csv\n\nm_0002.csv\nm_0001.csv\n'));
    await profiles.signal('m_s0001.manifest');
    await admin.workflows.settled('WKF_BULK_PROFILES');
    expect(admin.countRecords('profile').total).toBe(4);
    // 2 rows at 600 s per 1,000 rows: the first file ends after 1.2 s, the second 1.2 s later.
    await advanceClock(1199);
    expect(await profiles.readRejects('m_0001.csv')).toBeNull();
    await advanceClock(1);
    expect(await profiles.readRejects('m_0001.csv')).toEqual([]);
    expect(await profiles.readRejects('m_0002.csv')).toBeNull();
    expect(await profiles.readRejects('m_s0001.manifest')).toBeNull();
    await advanceClock(1200);
    expect(await profiles.readRejects('m_0002.csv')).toEqual([]);
    // The manifest's own reject file marks the end of the run (empty: the list was read).
    expect(await profiles.readRejects('m_s0001.manifest')).toEqual([]);

    // A later manifest naming an imported file again: that file is skipped, the new one imported.
    admin.configure({ signalMinIntervalMs: 0 });
    admin.editProfileAsOperator('m-1', { firstName: 'Changed in Campaign' });
    await profiles.upload('m_0003.csv', chunksOf('externalId,firstName\nm-5,Five\n'));
    await profiles.upload('m_s0002.manifest', chunksOf('m_0001.csv\nm_0003.csv\n'));
    await profiles.signal('m_s0002.manifest');
    await admin.workflows.settled('WKF_BULK_PROFILES');
    await advanceClock(600);
    expect(await profiles.readRejects('m_s0002.manifest')).toEqual([]);
    expect(admin.getRecord('profile', 'm-1')!.values.firstName).toBe('Changed in Campaign');
    expect(admin.getRecord('profile', 'm-5')!.values.firstName).toBe('Five');
    const history = admin.workflows.history('WKF_BULK_PROFILES');
    expect(history).toMatchObject([
      {
        fileName: 'm_s0001.manifest',
        state: 'done',
        rowsRead: 4,
        inserted: 4,
        rejectPath: 'd365_loads/rejects/m_s0001.rejects.csv',
        files: [
          {
            fileName: 'm_0001.csv',
            state: 'done',
            rowsRead: 2,
            rejectPath: 'd365_loads/rejects/m_0001.rejects.csv',
          },
          { fileName: 'm_0002.csv', state: 'done', rowsRead: 2 },
        ],
      },
      {
        fileName: 'm_s0002.manifest',
        state: 'done',
        rowsRead: 1,
        files: [
          { fileName: 'm_0001.csv', state: 'skipped', rowsRead: 0 },
          { fileName: 'm_0003.csv', state: 'done', rowsRead: 1 },
        ],
      },
    ]);
    const body = await bed.client.getWorkflowExecution('WKF_BULK_PROFILES');
    const shown = body.activities.find((a) => a.name === 'import1')!.raw.history as Array<{
      files: Array<{ fileName: string; state: string }>;
    }>;
    expect(shown[1]!.files.map((f) => [f.fileName, f.state])).toEqual([
      ['m_0001.csv', 'skipped'],
      ['m_0003.csv', 'done'],
    ]);
  });

  it('fails a manifest it cannot read with one row-0 reject and imports none of its files', async () => {
    const { admin } = bed.emulator;
    admin.configure({ signalMinIntervalMs: 0 });
    await profiles.signal('absent.manifest');
    await admin.workflows.settled('WKF_BULK_PROFILES');
    expect((await profiles.readRejects('absent.manifest'))![0]!.reason).toMatch(
      /manifest .* not found in d365_loads\/imports/,
    );
    await profiles.upload('x_0001.csv', chunksOf('externalId\nx-1\n'));
    await profiles.upload('bad.manifest', chunksOf('x_0001.csv\n../etc/passwd\n'));
    await profiles.signal('bad.manifest');
    await admin.workflows.settled('WKF_BULK_PROFILES');
    expect((await profiles.readRejects('bad.manifest'))![0]!.reason).toMatch(
      /line 2 of the manifest is not a data file name in d365_loads\/imports/,
    );
    expect(admin.countRecords('profile').total).toBe(0);
    expect(admin.workflows.history('WKF_BULK_PROFILES').map((r) => r.state)).toEqual(['failed', 'failed']);
  });

  it('fails a file it cannot import with one row-0 reject: missing file, unknown column, no key column', async () => {
    const { admin } = bed.emulator;
    bed.emulator.admin.configure({ signalMinIntervalMs: 0 });
    await profiles.signal('missing.csv');
    await admin.workflows.settled('WKF_BULK_PROFILES');
    const missing = (await profiles.readRejects('missing.csv'))!;
    expect(missing).toMatchObject([{ row: 0, key: '' }]);
    expect(missing[0]!.reason).toMatch(/not found in d365_loads\/imports/);
    await profiles.upload('odd.csv', chunksOf('externalId,shoeSize\nc-9,44\n'));
    await profiles.signal('odd.csv');
    await admin.workflows.settled('WKF_BULK_PROFILES');
    expect((await profiles.readRejects('odd.csv'))![0]!.reason).toMatch(
      /the 'shoeSize' field is neither a field nor a link of resource 'profile'/,
    );
    expect(admin.getRecord('profile', 'c-9')).toBeUndefined();
    await profiles.upload('nokey.csv', chunksOf('email\nx@example.com\n'));
    await profiles.signal('nokey.csv');
    await admin.workflows.settled('WKF_BULK_PROFILES');
    expect((await profiles.readRejects('nokey.csv'))![0]!.reason).toMatch(
      /the 'externalId' field is missing from the header/,
    );
    expect(admin.countRecords('profile').total).toBe(0);
    expect(admin.workflows.history('WKF_BULK_PROFILES').map((r) => r.state)).toEqual([
      'failed',
      'failed',
      'failed',
    ]);
  });

  it('hides a cardinality-1 child loaded before its parent, and shows it once the parent is imported', async () => {
    const { admin } = bed.emulator;
    await profiles.upload(
      'orders_1.csv',
      chunksOf('crmId,amount,status,profile\no-1,10,open,p-1\no-2,20,paid,\n'),
    );
    await orders.signal('orders_1.csv');
    await admin.workflows.settled('WKF_BULK_ORDERS');
    expect(await orders.readRejects('orders_1.csv')).toEqual([]);
    expect(admin.countRecords('cusOrder')).toEqual({ visible: 0, hidden: 2, total: 2 });
    expect(await bed.client.findByKey('cusOrder', 'o-1')).toBeNull();

    await profiles.upload('parents_1.csv', chunksOf('externalId,email\np-1,p1@example.com\n'));
    await profiles.signal('parents_1.csv');
    await admin.workflows.settled('WKF_BULK_PROFILES');
    await advanceClock(1000);
    expect(await profiles.readRejects('parents_1.csv')).toEqual([]);
    expect(admin.countRecords('cusOrder')).toEqual({ visible: 1, hidden: 1, total: 2 });
    const order = (await bed.client.findByKey('cusOrder', 'o-1'))!;
    expect((order.profile as { PKey: string }).PKey).toBe(admin.getRecord('profile', 'p-1')!.PKey);
  });

  it('cancels the import in progress on stop: no reject file, the run shows cancelled', async () => {
    const { admin } = bed.emulator;
    await profiles.upload('slow.csv', chunksOf('externalId\ns-1\ns-2\n'));
    await profiles.signal('slow.csv');
    await admin.workflows.settled('WKF_BULK_PROFILES');
    expect((await profiles.importState()).importing).toBe(true);
    await bed.client.controlWorkflow('WKF_BULK_PROFILES', 'stop');
    await advanceClock(tenMinutes);
    expect(await profiles.readRejects('slow.csv')).toBeNull();
    expect(admin.workflows.history('WKF_BULK_PROFILES')).toMatchObject([{ state: 'cancelled' }]);
    expect(await profiles.importState()).toEqual({ workflowState: 'stopped', importing: false });
  });
});

describe('SFTP writer', () => {
  it('uploads under a temporary name, renames when complete, and never overwrites', async () => {
    const finalLocal = localFile('d365_loads/imports/atomic.csv');
    const partLocal = localFile('d365_loads/imports/.atomic.csv.part');
    const seenDuringUpload: boolean[] = [];
    async function* slowly(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 50; i++) {
        yield Buffer.from(`row-${i}\n`.repeat(2000));
        await nextTurn();
        seenDuringUpload.push(existsSync(finalLocal));
      }
    }
    const result = await sftp.upload(slowly(), 'd365_loads/imports/atomic.csv');
    expect(seenDuringUpload.every((seen) => !seen)).toBe(true);
    const onDisk = readFileSync(finalLocal);
    expect(result).toEqual({
      path: 'd365_loads/imports/atomic.csv',
      bytes: onDisk.length,
      sha256: createHash('sha256').update(onDisk).digest('hex'),
    });
    expect(existsSync(partLocal)).toBe(false);
    expect(await sftp.readText('d365_loads/imports/atomic.csv')).toBe(onDisk.toString('utf8'));

    const again = await connectorErrorOf(sftp.upload(chunksOf('x'), 'd365_loads/imports/atomic.csv'));
    expect(again.code).toBe('SFTP_ALREADY_EXISTS');
    const replaced = await sftp.upload(chunksOf('new\n'), 'd365_loads/imports/atomic.csv', {
      overwrite: true,
    });
    expect(replaced.bytes).toBe(4);
  });

  it('leaves neither the file nor its temporary name when the source fails', async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('externalId\nc-1\n');
      await nextTurn();
      throw new Error('source broke');
    }
    await expect(sftp.upload(broken(), 'd365_loads/imports/broken.csv')).rejects.toThrow('source broke');
    expect(existsSync(localFile('d365_loads/imports/broken.csv'))).toBe(false);
    expect(existsSync(localFile('d365_loads/imports/.broken.csv.part'))).toBe(false);
    expect(await sftp.statIfExists('d365_loads/imports/broken.csv')).toBeNull();
  });
});
