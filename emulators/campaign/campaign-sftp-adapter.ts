import type { EmulatorClock } from '../shared/emulator-clock.js';
import type { OptOutExportSource } from './sftp/opt-out-export-source.js';
import { defaultSftpUsers, startSftpServer, type SftpServerOptions } from './sftp/sftp-server.js';
import type { SftpUsage } from './sftp/sftp-storage.js';

/** Options for the SFTP side of the Campaign emulator (server options; port and host come from the factory). */
export type CampaignSftpOptions = Omit<SftpServerOptions, 'port' | 'host'>;

/** What a test or the CLI needs to connect to the emulated SFTP account. */
export interface CampaignSftpInfo {
  port: number;
  host: string;
  /** `SHA256:<base64>` host-key fingerprint to pin. */
  hostKeySha256: string;
  /** Directory on disk that clients see as `/`. */
  rootDir: string;
  /** Folder the opt-out export workflow writes to. */
  exportDir: string;
  username: string;
}

/** Controls of the server and the opt-out export workflow, as the admin API exposes them. */
export interface CampaignSftpControls {
  /** Run the export workflow now; resolves with what it wrote. */
  runNow(): Promise<unknown>;
  /** Stop the daily schedule (a stopped workflow means missed opt-outs). */
  stop(): unknown;
  start(): unknown;
  /** Write export files at this rate (a growing file), or at full speed with null. */
  setSlowWrite(bytesPerSecond: number | null): unknown;
  status(): unknown;
  usage(): Promise<SftpUsage>;
}

/**
 * Start the SFTP server built in `./sftp/` next to the REST emulator and wire its opt-out export
 * workflow to the profile store.
 *
 * ADAPTER (pending): the export workflow module is not in `./sftp/` yet; until it lands the
 * workflow controls answer with an error and only the server runs. The REST emulator already
 * provides the workflow's data through {@link OptOutExportSource}.
 */
export async function startCampaignSftp(
  options: CampaignSftpOptions & { port: number; host: string },
  source: OptOutExportSource,
  clock: EmulatorClock,
): Promise<{ info: CampaignSftpInfo; controls: CampaignSftpControls; close(): Promise<void> }> {
  void source;
  void clock;
  const server = await startSftpServer(options);
  const unavailable = (): never => {
    throw new Error('the opt-out export workflow is not wired into this emulator build yet');
  };
  return {
    info: {
      port: server.port,
      host: server.host,
      hostKeySha256: server.hostKeySha256,
      rootDir: server.rootDir,
      exportDir: '/d365_loads/exports',
      username: (options.users ?? defaultSftpUsers)[0]?.username ?? '',
    },
    controls: {
      runNow: () =>
        Promise.reject(new Error('the opt-out export workflow is not wired into this emulator build yet')),
      stop: unavailable,
      start: unavailable,
      setSlowWrite: unavailable,
      status: unavailable,
      usage: () => server.usage(),
    },
    close: () => server.close(),
  };
}
