import { CampaignBulkImport } from '../../connectors/campaign/campaign-bulk-import.js';
import { SftpWriter } from '../../connectors/sftp/sftp-writer.js';
import type { BulkLaneSettings } from '../../engine/records/bulk-loader.js';
import type { RecordFlowSettings } from '../../engine/records/record-flow.js';
import { tableFlowId } from '../../engine/records/record-flow.js';
import type { SyncRuntime } from './sync-runtime.js';
import { BulkHeapGrowth } from './bulk-heap.js';

/**
 * The bulk lanes (F7) of the record flows whose configuration has `bulk`: one import workflow
 * client per flow over one SFTP writer each. Empty when no flow has one (the default).
 */
export function buildBulkLanes(
  runtime: SyncRuntime,
  records: readonly RecordFlowSettings[],
): BulkLaneSettings[] {
  const { config } = runtime;
  const sftp = config.campaign.sftp;
  const configured = [
    { id: 'contacts', bulk: config.flows.contacts.bulk },
    ...config.flows.customTables.map((t) => ({ id: tableFlowId(t.table), bulk: t.bulk })),
  ];
  const lanes: BulkLaneSettings[] = [];
  // Process-wide (a V8 flag): one for every lane.
  const heap = new BulkHeapGrowth();
  for (const { id, bulk } of configured) {
    const flow = records.find((r) => r.id === id);
    if (!bulk || !flow || !sftp) continue;
    const writer = new SftpWriter({
      host: sftp.host,
      port: sftp.port,
      username: sftp.username,
      hostKeySha256: sftp.hostKeySha256,
      clock: runtime.clock,
      ...(sftp.privateKey ? { privateKey: sftp.privateKey.reveal() } : {}),
      ...(sftp.passphrase ? { passphrase: sftp.passphrase.reveal() } : {}),
      ...(sftp.password ? { password: sftp.password.reveal() } : {}),
    });
    lanes.push({
      flow,
      port: new CampaignBulkImport({
        client: runtime.campaign.client,
        sftp: writer,
        workflowId: bulk.workflowId,
        ...(bulk.signalActivity ? { signalActivity: bulk.signalActivity } : {}),
        fileParameter: bulk.fileParameter,
        importDir: bulk.importFolder,
        rejectDir: bulk.rejectFolder,
        exportDir: bulk.pkeysFolder,
        delimiter: bulk.delimiter,
      }),
      thresholdRecords: bulk.thresholdRecords,
      chunkRows: bulk.chunkRows,
      delimiter: bulk.delimiter,
      pollIntervalMs: bulk.pollIntervalMs,
      importTimeoutMs: bulk.importTimeoutMs,
      signalIntervalMs: bulk.signalIntervalMs,
      maxRowsInFlight: bulk.maxRowsInFlight,
      schedule: bulk.schedule,
      guard: runtime.store.privacy,
      work: heap.hooks(bulk.heapGrowthPercent),
    });
  }
  return lanes;
}
