import type { AlertSink } from '../../core/ports/alert-sink.js';
import type { OptOutDynamicsWriter } from '../../core/ports/opt-out-dynamics-writer.js';
import type { OptOutFileSource } from '../../core/ports/opt-out-file-source.js';
import type { RecordSink } from '../../core/ports/record-sink.js';
import { CampaignRecordSink } from '../../connectors/campaign/campaign-record-sink.js';
import { DynamicsOptOutWriter } from '../../connectors/dynamics/dynamics-opt-out-writer.js';
import { SftpOptOutFileSource } from '../../connectors/sftp/sftp-opt-out-file-source.js';
import { openSftpReader } from './tenant-clients.js';
import type { Flow } from '../../engine/flow.js';
import type { RecordFlowSettings } from '../../engine/records/record-flow.js';
import { OptOutContactHook } from '../../engine/opt-out/opt-out-contact-hook.js';
import { OptOutFileIngestor } from '../../engine/opt-out/opt-out-file-ingestor.js';
import { OptOutStatusProvider } from '../../engine/opt-out/opt-out-provider.js';
import { toOptOutPairs, type OptOutSettings } from '../../engine/opt-out/opt-out-settings.js';
import { OptOutWorkApplier } from '../../engine/opt-out/opt-out-work-applier.js';
import type { SourceService } from '../../engine/sync-engine.js';
import type { SyncRuntime } from './sync-runtime.js';

/** The opt-out parts of a running sync (flow F4), wired from the configuration. */
export interface OptOutRuntime {
  settings: OptOutSettings;
  /** The durable write flows `optout:dynamics` and `optout:campaign`. */
  flows: Flow<unknown>[];
  /** The file ingestor as a source service (empty without SFTP or in `dynamics-to-campaign`). */
  services: SourceService[];
  /** Null when the mode reads no files or `campaign.sftp` is not configured. */
  ingestor: OptOutFileIngestor | null;
  /** What the operator server shows (decisions, files, usage, freshness). */
  provider: OptOutStatusProvider;
  close(): Promise<void>;
}

export interface OptOutRuntimeOptions {
  /** Run the SFTP ingestor in this process (`dcsync run --no-poll` leaves it to another). @default true */
  ingest?: boolean;
  /** Build the SFTP source even in a mode without file ingest (for `dcsync optout files`). @default false */
  alwaysSftp?: boolean;
}

/** The Campaign SFTP client from `campaign.sftp` (null when not configured). */
export function openOptOutFileSource(runtime: SyncRuntime): SftpOptOutFileSource | null {
  const sftp = runtime.config.campaign.sftp;
  if (!sftp) return null;
  const reader = openSftpReader(sftp, { clock: runtime.clock });
  return new SftpOptOutFileSource(reader, { exportDir: sftp.exportDir, archiveDir: sftp.archiveDir });
}

/** The batch reader/writer of Dynamics opt-out columns on the contact table. */
export async function createOptOutWriter(runtime: SyncRuntime): Promise<DynamicsOptOutWriter> {
  const table = await runtime.dynamics.metadata.getTableMetadata(runtime.config.flows.contacts.table);
  return new DynamicsOptOutWriter(runtime.dynamics.client, runtime.dynamics.writer, {
    entitySetName: table.entitySetName,
    primaryIdAttribute: table.primaryIdAttribute,
    batchSize: runtime.config.flows.optOut.file.batchSize,
  });
}

/** The file ingestor over any source (the SFTP folder, or a local file for `dcsync optout ingest`). */
export function createOptOutIngestor(
  runtime: SyncRuntime,
  settings: OptOutSettings,
  source: OptOutFileSource,
  writer: OptOutDynamicsWriter,
  alerts: AlertSink,
  options: { duty?: boolean } = {},
): OptOutFileIngestor {
  return new OptOutFileIngestor({
    settings,
    file: runtime.config.flows.optOut.file,
    source,
    writer,
    store: runtime.store,
    clock: runtime.clock,
    logger: runtime.logger,
    alerts,
    quotaBytes: runtime.config.campaign.sftp?.quotaBytes ?? null,
    owner: runtime.worker.identity.id,
    ...(options.duty ? { duty: runtime.worker.duties.duty('optout:ingest') } : {}),
  });
}

/** The opt-out settings, or null when the mode is `disabled`. */
export function readOptOutSettings(runtime: SyncRuntime): OptOutSettings | null {
  const optOut = runtime.config.flows.optOut;
  return optOut.mode === 'disabled' ? null : { mode: optOut.mode, pairs: toOptOutPairs(optOut.mapping) };
}

/**
 * Wire F4 for a runtime: in `bidirectional` and `dynamics-to-campaign` the contact flow gets the
 * opt-out hook; the durable write flows get their applier; in `campaign-to-dynamics` and
 * `bidirectional` with `campaign.sftp`, the file ingestor runs as an engine companion. Null when
 * the mode is `disabled`.
 */
export async function createOptOutRuntime(
  runtime: SyncRuntime,
  flows: readonly RecordFlowSettings[],
  alerts: AlertSink,
  options: OptOutRuntimeOptions = {},
): Promise<OptOutRuntime | null> {
  const { config } = runtime;
  const optOut = config.flows.optOut;
  const settings = readOptOutSettings(runtime);
  if (settings === null) return null;
  const contacts = flows.find((f) => f.id === 'contacts');
  const profiles: RecordSink =
    contacts?.sink ??
    new CampaignRecordSink(runtime.campaign.client, { resource: 'profile', keyField: 'externalId' });
  const writer = await createOptOutWriter(runtime);
  if (contacts && settings.mode !== 'campaign-to-dynamics') {
    contacts.upsertHook = new OptOutContactHook({
      settings,
      store: runtime.store,
      profiles,
      clock: runtime.clock,
    });
  }
  const applier = new OptOutWorkApplier({
    store: runtime.store,
    writer,
    profiles,
    clock: runtime.clock,
    guard: runtime.store.privacy,
  });

  const readsFiles = settings.mode !== 'dynamics-to-campaign';
  const source = readsFiles || options.alwaysSftp ? openOptOutFileSource(runtime) : null;
  const ingestor =
    source && readsFiles
      ? createOptOutIngestor(runtime, settings, source, writer, alerts, { duty: options.ingest !== false })
      : null;
  const services: SourceService[] =
    ingestor && options.ingest !== false
      ? [
          {
            start: () => ingestor.start(),
            isIdle: () => ingestor.isIdle(),
            stop: async () => {
              await ingestor.stop();
              await source?.close();
            },
          },
        ]
      : [];
  return {
    settings,
    flows: applier.flows(),
    services,
    ingestor,
    provider: new OptOutStatusProvider({
      store: runtime.store,
      source,
      ingestor,
      quotaBytes: config.campaign.sftp?.quotaBytes ?? null,
      stalenessHours: optOut.file.stalenessHours,
      problems: optOut.file,
      clock: runtime.clock,
    }),
    close: async () => {
      await source?.close();
    },
  };
}
