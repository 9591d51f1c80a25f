/**
 * The set-up shared by the bulk lane's end-to-end tests (crash, crash order, workers, replay and
 * window): a {@link SyncTestBed} whose Campaign emulator serves SFTP and runs a profile import
 * workflow, and whose configuration gives the contacts flow a bulk lane signalling that workflow
 * over the real SFTP path; plus the probes those tests read the lane with.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { defaultSftpUsers } from '../../emulators/campaign/sftp/sftp-server.js';
import { generateEd25519KeyPair } from '../../emulators/campaign/sftp/sftp-host-key.js';
import type {
  WorkflowDefinitionInput,
  WorkflowFileRun,
} from '../../emulators/campaign/campaign-workflow-model.js';
import type { StateStore } from '../../src/core/ports/state-store.js';
import { openStateStore } from '../../src/store/open-state-store.js';
import {
  SyncChild,
  type SpawnSyncChildOptions,
  type SyncChildExit,
  type SyncChildScript,
} from './sync-process.js';
import { SyncTestBed, testEnv, type StoreKind } from './sync-test-bed.js';

/** The emulator's profile import workflow the contacts' bulk lane signals. */
export const bulkWorkflowId = 'WKF_BULK_PROFILES';

/** The emulator's profile import workflow ({@link bulkWorkflowId}) over the bulk folders. */
export function profileImportWorkflow(
  timing: Pick<NonNullable<WorkflowDefinitionInput['import']>, 'msPer1000Rows' | 'msBeforeWrite'>,
): WorkflowDefinitionInput {
  return {
    id: bulkWorkflowId,
    kind: 'import',
    import: {
      resource: 'profile',
      importDir: 'd365_loads/imports',
      rejectDir: 'd365_loads/rejects',
      exportDir: 'd365_loads/pkeys',
      ...timing,
    },
  };
}

/** `campaign.sftp` of a configuration for the emulator's SFTP account, the password read from `passwordRef`. */
export function bulkSftpConfig(
  sftp: { host: string; port: number; username: string; hostKeySha256: string },
  passwordRef: string,
): Record<string, unknown> {
  return {
    host: sftp.host,
    port: sftp.port,
    username: sftp.username,
    password: passwordRef,
    hostKeySha256: sftp.hostKeySha256,
  };
}

export interface BulkTestBedOptions {
  store?: StoreKind;
  /** Contacts in Dynamics. */
  contacts: number;
  /** Seed of both emulators. */
  seed: number;
  /** Profiles already in Campaign. */
  profiles: number;
  /** How long the import workflow takes (its other settings are the bulk folders). */
  importTiming: Pick<NonNullable<WorkflowDefinitionInput['import']>, 'msPer1000Rows' | 'msBeforeWrite'>;
  /** The emulator's minimum interval between two signals of the workflow (its 10-minute rule). */
  signalMinIntervalMs: number;
  /** Merged over the generated configuration (budget, engine, workers, logging…). */
  config?: Record<string, unknown>;
  /** `flows.contacts.bulk`, besides the workflow id and its 20 ms poll interval. */
  bulk: Record<string, unknown>;
}

/**
 * Start the bed. The SFTP password is set in {@link testEnv} as `BULK_SFTP_PASSWORD` (the
 * configuration reads it from there), so runtimes of the bed and sync children spawned on it get it.
 */
export async function startBulkTestBed(options: BulkTestBedOptions): Promise<SyncTestBed> {
  testEnv.BULK_SFTP_PASSWORD = defaultSftpUsers[0]!.password!;
  const profileImport = profileImportWorkflow(options.importTiming);
  const bed = await SyncTestBed.start({
    ...(options.store ? { store: options.store } : {}),
    dynamics: { contacts: options.contacts, seed: options.seed },
    campaign: {
      seed: options.seed,
      profiles: options.profiles,
      sftpPort: 0,
      sftp: {
        hostKey: generateEd25519KeyPair('dcsync bulk test bed').private,
        workflow: { pollIntervalMs: 20 },
      },
      seedFile: { workflows: [profileImport] },
    },
    ...(options.config ? { config: options.config } : {}),
    configFor: ({ campaign }) => ({
      campaign: { sftp: bulkSftpConfig(campaign.sftp!, 'env:BULK_SFTP_PASSWORD') },
      flows: { contacts: { bulk: { workflowId: bulkWorkflowId, pollIntervalMs: 20, ...options.bulk } } },
    }),
  });
  bed.campaign.admin.configure({ signalMinIntervalMs: options.signalMinIntervalMs });
  return bed;
}

/** The contacts' bulk lane as its checkpoint (`bulk:contacts`) keeps it, the parts tests read. */
export interface BulkLaneCheckpoint {
  holding?: boolean;
  files?: { name: string; state: string }[];
}

/** The contacts' bulk lane checkpoint in `store`, or null when there is none yet. */
export async function readBulkLane(store: StateStore): Promise<BulkLaneCheckpoint | null> {
  const text = await store.checkpoints.get('bulk:contacts');
  return text ? (JSON.parse(text) as BulkLaneCheckpoint) : null;
}

/**
 * Reads the bulk lane of a sync that runs in a child process on the bed's SQLite store: the store
 * is opened once the child has created it; until then, and while a read fails, the lane reads as
 * null.
 */
export class BulkLaneProbe {
  /** The store, once opened. */
  store: StateStore | undefined;
  readonly storeUrl: string;

  constructor(bed: SyncTestBed) {
    this.storeUrl = `sqlite:${join(bed.dir, 'state.db')}`;
  }

  /** Open the store (again) now; it must exist. */
  async reopen(): Promise<StateStore> {
    await this.close();
    this.store = await openStateStore(this.storeUrl, { migrate: false });
    return this.store;
  }

  async lane(): Promise<BulkLaneCheckpoint | null> {
    if (!this.store)
      this.store = await openStateStore(this.storeUrl, { migrate: false }).catch(() => undefined);
    if (!this.store) return null;
    return readBulkLane(this.store).catch(() => null);
  }

  async close(): Promise<void> {
    await this.store?.close();
    this.store = undefined;
  }
}

/** The files the import workflow imported (skipped ones, imported before, left out), every run. */
export function importedFiles(bed: SyncTestBed): WorkflowFileRun[] {
  return bed.campaign.admin.workflows
    .history(bulkWorkflowId)
    .flatMap((run) => run.files)
    .filter((file) => file.state !== 'skipped');
}

/** Spawn a sync child and wait until its engine runs; throw with its output if it does not start. */
export async function spawnRunningChild(
  script: SyncChildScript,
  bed: SyncTestBed,
  options: SpawnSyncChildOptions & { startTimeoutMs?: number } = {},
): Promise<SyncChild> {
  const { startTimeoutMs, ...spawnOptions } = options;
  const child = SyncChild.spawn(script, bed.configPath, spawnOptions);
  const outcome = await Promise.race([
    child.running.then(() => 'running' as const),
    child.exited.then(() => 'exited' as const),
    ...(startTimeoutMs === undefined ? [] : [sleep(startTimeoutMs).then(() => 'slow' as const)]),
  ]);
  if (outcome !== 'running') {
    const exit = await child.kill();
    throw new Error(
      `sync child did not start (${outcome}): ${exit.stderr.slice(-2000)} ${exit.stdout.slice(-2000)}`,
    );
  }
  return child;
}

/** Run a sync child `--until-idle` to its end; it is killed (SIGKILL) after `timeoutMs`. */
export async function runChildUntilIdle(
  script: SyncChildScript,
  bed: SyncTestBed,
  timeoutMs: number,
): Promise<SyncChildExit> {
  const child = SyncChild.spawn(script, bed.configPath, { untilIdle: true });
  const timeout = setTimeout(() => void child.kill('SIGKILL'), timeoutMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timeout);
  }
}

/** Poll `done` every `stepMs` until it holds or `timeoutMs` of steps have passed. */
export async function waitUntil(
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  stepMs: number,
): Promise<void> {
  for (let waited = 0; waited < timeoutMs && !(await done()); waited += stepMs) await sleep(stepMs);
}
