import type { EmulatorClock } from '../shared/emulator-clock.js';
import type { MalformedRowKind } from './sftp/opt-out-export-format.js';
import type { OptOutExportSource } from './sftp/opt-out-export-source.js';
import {
  OptOutExportWorkflow,
  type OptOutExportRun,
  type OptOutExportSettings,
  type OptOutExportState,
  type OptOutExportWorkflowOptions,
  type SlowWriteSettings,
} from './sftp/opt-out-export-workflow.js';
import { defaultSftpUsers, startSftpServer, type SftpServerOptions } from './sftp/sftp-server.js';
import type { SftpStorage, SftpUsage } from './sftp/sftp-storage.js';

/** Options of the SFTP side (port and host come from the emulator). */
export type CampaignSftpOptions = Omit<SftpServerOptions, 'port' | 'host'> & {
  /** Export workflow options; `autoStart` (default true) starts its daily schedule at once. */
  workflow?: Omit<OptOutExportWorkflowOptions, 'source' | 'storage' | 'clock'> & { autoStart?: boolean };
};

/** What a test or the CLI needs to connect to the emulated SFTP account (no secrets). */
export interface CampaignSftpInfo {
  port: number;
  host: string;
  /** `SHA256:<base64>` host-key fingerprint to pin. */
  hostKeySha256: string;
  /** Directory on disk that clients see as `/`. */
  rootDir: string;
  /** Folder the opt-out export workflow writes to (relative to the root). */
  exportDir: string;
  /** First configured account (default `demo-sftp`). */
  username: string;
}

/** Controls of the SFTP server and its opt-out export workflow, as the admin API exposes them. */
export interface CampaignSftpControls {
  /** Run the export now (outcome `stopped` when the workflow is stopped). */
  runNow(): Promise<OptOutExportRun>;
  /** Stop the schedule (a stopped workflow means missed opt-outs); waits for a file being written. */
  stop(): Promise<void>;
  start(): void;
  /** Write files in `chunks` slices `intervalMs` apart (a growing file); null writes at once. */
  setSlowWrite(slowWrite: SlowWriteSettings | null): OptOutExportState;
  configure(settings: Partial<OptOutExportSettings>): OptOutExportState;
  injectMalformedRows(kinds: readonly MalformedRowKind[]): void;
  status(): OptOutExportState;
  /** Bytes used against the quota. */
  usage(): Promise<SftpUsage>;
  /** Cut every SFTP connection at the TCP level. */
  disconnectAll(): void;
  /** Forget past runs (the next window starts from the beginning). */
  reset(): void;
}

/**
 * Start the SFTP server and the opt-out export workflow built in `./sftp/`, reading opt-out changes
 * from the REST emulator's profile store and running on the emulator's clock.
 */
export async function startCampaignSftp(
  options: CampaignSftpOptions & { port: number; host: string },
  source: OptOutExportSource,
  clock: EmulatorClock,
): Promise<{
  info: CampaignSftpInfo;
  controls: CampaignSftpControls;
  /** The account's disk, shared with the import workflows. */
  storage: SftpStorage;
  close(): Promise<void>;
}> {
  const { workflow: workflowOptions = {}, ...serverOptions } = options;
  const { autoStart = true, ...workflowSettings } = workflowOptions;
  const server = await startSftpServer(serverOptions);
  const workflow = new OptOutExportWorkflow({ ...workflowSettings, source, storage: server.storage, clock });
  if (autoStart) workflow.start();
  return {
    info: {
      port: server.port,
      host: server.host,
      hostKeySha256: server.hostKeySha256,
      rootDir: server.rootDir,
      exportDir: workflowSettings.exportDir ?? 'd365_loads/exports',
      username: (serverOptions.users ?? defaultSftpUsers)[0]?.username ?? '',
    },
    controls: {
      runNow: () => workflow.runOnce(),
      stop: () => workflow.stop(),
      start: () => workflow.start(),
      setSlowWrite: (slowWrite) => {
        workflow.configure({ slowWrite });
        return workflow.state();
      },
      configure: (settings) => {
        workflow.configure(settings);
        return workflow.state();
      },
      injectMalformedRows: (kinds) => workflow.injectMalformedRows(kinds),
      status: () => workflow.state(),
      usage: () => server.usage(),
      disconnectAll: () => server.disconnectAll(),
      reset: () => workflow.reset(),
    },
    storage: server.storage,
    close: async () => {
      await workflow.stop();
      await server.close();
    },
  };
}
