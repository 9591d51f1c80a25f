/**
 * Both emulators (Campaign with its SFTP account and export workflow) on one shared emulated
 * clock, a real configuration with `campaign.sftp` and `flows.optOut`, and the production
 * composition (`createSyncEngine`) with access to the opt-out parts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { defaultSftpUsers } from '../../../../emulators/campaign/sftp/sftp-server.js';
import { EmulatorClock } from '../../../../emulators/shared/emulator-clock.js';
import { ManualClock, type Clock } from '../../../../src/core/clock.js';
import type { Alert, AlertSink } from '../../../../src/core/ports/alert-sink.js';
import type { OptOutMode } from '../../../../src/core/opt-out-resolver.js';
import { Redactor } from '../../../../src/logging/redactor.js';
import { buildContact } from '../../../support/dynamics-builders.js';
import { runDcsync, type CliResult } from '../../../support/cli-runner.js';
import type { OptOutRuntime } from '../../../../src/cli/runtime/opt-out-runtime.js';
import { createSyncEngine } from '../../../../src/cli/runtime/start-sync.js';
import { openSyncRuntime, type SyncRuntime } from '../../../../src/cli/runtime/sync-runtime.js';
import type { SyncEngine } from '../../../../src/engine/sync-engine.js';
import { SyncTestBed, testEnv, type StoreKind } from '../../../support/sync-test-bed.js';

export interface OptOutBedOptions {
  store?: StoreKind;
  mode: OptOutMode;
  /** @default { donotemail: 'blackListEmail' } */
  mapping?: Record<string, string>;
  file?: Record<string, unknown>;
  quotaBytes?: number;
  /** Extra configuration, deep-merged by the sync test bed. */
  config?: Record<string, unknown>;
}

/** Alerts kept in memory. */
export class RecordingAlerts implements AlertSink {
  readonly alerts: Alert[] = [];
  raise(alert: Alert): Promise<void> {
    this.alerts.push(alert);
    return Promise.resolve();
  }
  kinds(): string[] {
    return this.alerts.map((a) => `${a.kind}:${a.subject}`);
  }
}

export interface OptOutEngine {
  runtime: SyncRuntime;
  engine: SyncEngine;
  optOut: OptOutRuntime;
  alerts: RecordingAlerts;
}

export class OptOutTestBed {
  private constructor(
    readonly bed: SyncTestBed,
    /** The emulated time both emulators share. */
    readonly emulatedClock: EmulatorClock,
  ) {}

  static async start(options: OptOutBedOptions): Promise<OptOutTestBed> {
    const emulatedClock = new EmulatorClock();
    const bed = await SyncTestBed.start({
      ...(options.store ? { store: options.store } : {}),
      dynamics: { clock: emulatedClock },
      campaign: {
        clock: emulatedClock,
        sftpPort: 0,
        sftp: { workflow: { pollIntervalMs: 0 }, quotaBytes: 50_000 },
      },
      config: {
        ...options.config,
        flows: {
          optOut: {
            mode: options.mode,
            mapping: options.mapping ?? { donotemail: 'blackListEmail' },
            file: { pollIntervalMs: 50, stableChecks: 2, batchSize: 50, ...options.file },
          },
        },
      },
    });
    const info = bed.campaign.sftp!;
    const passwordFile = join(bed.dir, 'sftp-password');
    writeFileSync(passwordFile, defaultSftpUsers[0]!.password!);
    const config = parse(readFileSync(bed.configPath, 'utf8')) as Record<string, Record<string, unknown>>;
    config.campaign!.sftp = {
      host: info.host,
      port: info.port,
      username: info.username,
      password: `file:${passwordFile}`,
      hostKeySha256: info.hostKeySha256,
      exportDir: info.exportDir,
      archiveDir: 'd365_loads/archive',
      ...(options.quotaBytes ? { quotaBytes: options.quotaBytes } : {}),
    };
    writeFileSync(bed.configPath, stringify(config));
    return new OptOutTestBed(bed, emulatedClock);
  }

  get dynamics() {
    return this.bed.dynamics.admin;
  }

  get campaign() {
    return this.bed.campaign.admin;
  }

  get sftp() {
    return this.bed.campaign.admin.sftp!;
  }

  /** A runtime (optionally on a manual clock) and its engine, with the opt-out parts. */
  async engine(clock?: Clock): Promise<OptOutEngine> {
    const runtime = await openSyncRuntime(this.bed.loadConfig(), new Redactor(), clock ? { clock } : {});
    this.bed.runtimes.push(runtime);
    const alerts = new RecordingAlerts();
    let optOut: OptOutRuntime | undefined;
    const engine = await createSyncEngine(runtime, { alerts, onOptOut: (o) => (optOut = o) });
    if (!optOut) throw new Error('opt-outs are not configured');
    return { runtime, engine, optOut, alerts };
  }

  /** A contact's profile in Campaign (by external id). */
  profile(contactId: string): Record<string, unknown> | undefined {
    return this.bed.profilesByExternalId().get(contactId);
  }

  /** Campaign writes so far (engine calls: inserts and updates, unchanged ones included). */
  campaignWrites(): number {
    const calls = this.bed.campaign.admin.stats().engineCalls;
    return calls.insert + calls.update + calls.unchangedUpdate;
  }

  /** Contacts synced to Campaign, each opted out there (so the next export holds one row each). */
  async optedOutInCampaign(n: number): Promise<string[]> {
    const ids = Array.from({ length: n }, () =>
      String(this.dynamics.createContact(buildContact()).contactid),
    );
    await (await this.bed.engine()).engine.runUntilIdle({ timeoutMs: 30_000 });
    for (const id of ids) this.campaign.editProfileAsOperator(id, { blackListEmail: true });
    return ids;
  }

  /** `donotemail` of each contact in Dynamics. */
  donotemail(ids: readonly string[]): unknown[] {
    return ids.map((id) => this.dynamics.getContact(id)!.donotemail);
  }

  /** Where a path of the SFTP account (`d365_loads/exports/…`) is on disk. */
  onDisk(sftpPath: string): string {
    return join(this.bed.campaign.sftp!.rootDir, sftpPath);
  }

  /** `dcsync …` in this process, with this bed's configuration. */
  dcsync(...args: string[]): Promise<CliResult> {
    return runDcsync([...args, '--config', this.bed.configPath], testEnv);
  }

  /** Run the export workflow now (a moment later, so changes made just before are inside its window). */
  async exportNow(): Promise<{
    outcome: string;
    path: string;
    rowCount: number;
    fileName: string;
    malformedRows: { line: number; kind: string }[];
  }> {
    this.emulatedClock.advance(1000);
    const run = await this.sftp.runNow();
    this.emulatedClock.advance(1000);
    return run as unknown as {
      outcome: string;
      path: string;
      rowCount: number;
      fileName: string;
      malformedRows: { line: number; kind: string }[];
    };
  }

  close(): Promise<void> {
    return this.bed.close();
  }
}

export { ManualClock };
