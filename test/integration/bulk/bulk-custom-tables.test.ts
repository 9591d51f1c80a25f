/**
 * The bulk lane for custom tables with parents and children (issue 21, "Must show"): contacts,
 * orders (cardinality-1 link to the profile) and order lines (cardinality-1 link to the order)
 * each go through their own import workflow over the real SFTP path. Files of children may be
 * imported before their parents' (they are then hidden in Campaign, as through REST); at the end
 * no child is hidden, each one points at its parent, and nothing was dead-lettered.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSftpUsers } from '../../../emulators/campaign/sftp/sftp-server.js';
import type { WorkflowDefinitionInput } from '../../../emulators/campaign/campaign-workflow-model.js';
import { tableFlowId } from '../../../src/engine/records/record-flow.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { campaignTestSeed, RawCampaignCaller } from '../../support/campaign-test-bed.js';
import type { SyncTestBed } from '../../support/sync-test-bed.js';
import {
  buildOrder,
  buildOrderLine,
  hiddenCounts,
  orderLineTable,
  orderTable,
  recordsByKey,
  startCustomTableBed,
} from '../../support/custom-table-fixtures.js';

const importOf = (id: string, resource: string): WorkflowDefinitionInput => ({
  id,
  kind: 'import',
  import: {
    resource,
    importDir: `d365_loads/imports/${resource}`,
    rejectDir: `d365_loads/rejects/${resource}`,
    exportDir: `d365_loads/pkeys/${resource}`,
    msPer1000Rows: 300,
  },
});

const bulkOf = (workflowId: string, resource: string) => ({
  workflowId,
  thresholdRecords: 50,
  chunkRows: 300,
  importFolder: `d365_loads/imports/${resource}`,
  rejectFolder: `d365_loads/rejects/${resource}`,
  pkeysFolder: `d365_loads/pkeys/${resource}`,
  pollIntervalMs: 20,
  importTimeoutMs: 60_000,
  signalIntervalMs: 0,
});

describe('bulk lane: a custom table with parents and children', () => {
  let bed: SyncTestBed | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'dcsync-bulk-tables-test-'));
  afterAll(async () => {
    await bed?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads parents and children through their import workflows, no child hidden at the end', async () => {
    const passwordFile = path.join(dir, 'sftp-password');
    writeFileSync(passwordFile, defaultSftpUsers[0]!.password!);
    bed = await startCustomTableBed({
      tables: [
        { ...orderTable, bulk: bulkOf('WKF_BULK_ORDERS', 'cusOrder') },
        { ...orderLineTable, bulk: bulkOf('WKF_BULK_LINES', 'cusOrderLine') },
      ],
      campaign: {
        profiles: 5,
        sftpPort: 0,
        sftp: { hostKeyPath: path.join(dir, 'host-key'), workflow: { pollIntervalMs: 20 } },
        seedFile: {
          ...campaignTestSeed,
          workflows: [
            importOf('WKF_BULK_PROFILES', 'profile'),
            importOf('WKF_BULK_ORDERS', 'cusOrder'),
            importOf('WKF_BULK_LINES', 'cusOrderLine'),
          ],
        },
      },
      config: {
        campaign: { budget: { callsPerSecond: 200, adaptive: false } },
        flows: { contacts: { bulk: bulkOf('WKF_BULK_PROFILES', 'profile') } },
      },
      configFor: ({ campaign }) => ({
        campaign: {
          sftp: {
            host: campaign.sftp!.host,
            port: campaign.sftp!.port,
            username: campaign.sftp!.username,
            password: `file:${passwordFile}`,
            hostKeySha256: campaign.sftp!.hostKeySha256,
          },
        },
      }),
    });
    bed.campaign.admin.configure({ signalMinIntervalMs: 0 });
    const dynamics = bed.dynamics.admin;
    const contactIds: string[] = [];
    for (let i = 0; i < 300; i++)
      contactIds.push(String(dynamics.createContact(buildContact({ lastname: `Bulk ${i}` })).contactid));
    const orderParent = new Map<string, string>();
    for (let i = 0; i < 600; i++) {
      const contactId = contactIds[i % contactIds.length]!;
      const order = dynamics.createRow('new_order', buildOrder(contactId, { new_amount: i }));
      orderParent.set(String(order.new_orderid), contactId);
    }
    const orderIds = [...orderParent.keys()];
    const lineParent = new Map<string, string>();
    for (let i = 0; i < 900; i++) {
      const orderId = orderIds[i % orderIds.length]!;
      const line = dynamics.createRow('new_orderline', buildOrderLine(orderId, { new_sku: `S-${i}` }));
      lineParent.set(String(line.new_orderlineid), orderId);
    }

    const { runtime, engine } = await bed.engine();
    const summary = await engine.runUntilIdle({ timeoutMs: 90_000 });
    expect(summary['dead-lettered']).toBe(0);
    expect((await runtime.store.deadLetters.list({}, {})).items).toEqual([]);
    expect(await runtime.store.parked.count(tableFlowId('new_orderline'))).toBe(0);
    expect(await runtime.store.parked.count(tableFlowId('new_order'))).toBe(0);

    // Most rows went through the import workflows (a few may have gone through REST before a
    // lane held its flow).
    const { workflows } = bed.campaign.admin;
    const importedRows = (id: string) =>
      workflows
        .history(id)
        .flatMap((run) => run.files)
        .reduce((n, file) => n + file.inserted + file.updated, 0);
    expect(importedRows('WKF_BULK_ORDERS')).toBeGreaterThan(300);
    expect(importedRows('WKF_BULK_LINES')).toBeGreaterThan(450);

    // No hidden child; every child points at its parent.
    expect(hiddenCounts(bed.campaign)).toEqual({ profile: 0, cusOrder: 0, cusOrderLine: 0, cusNote: 0 });
    const profiles = bed.profilesByExternalId();
    const orders = recordsByKey(bed.campaign, 'cusOrder');
    const lines = recordsByKey(bed.campaign, 'cusOrderLine');
    expect(orders.size).toBe(orderParent.size);
    expect(lines.size).toBe(lineParent.size);
    // A row imported from a file links by the parent's key; one written through REST by its PKey.
    const caller = new RawCampaignCaller(bed.campaign);
    try {
      const expectLinks = async (
        resource: string,
        link: string,
        parents: ReadonlyMap<string, string>,
        parentPKey: (key: string) => string | undefined,
      ) => {
        for (const record of bed!.campaign.admin.listRecords(resource)) {
          const key = String(record.values.crmId);
          const ref = record.links[link];
          expect(ref, `${resource} ${key}: ${link}`).not.toBeNull();
          if (ref!.kind === 'key') {
            expect(ref!.value).toBe(parents.get(key));
          } else {
            const answer = await caller.send('GET', `/profileAndServicesExt/${resource}/${key}`);
            const shown = (answer.json as Record<string, { PKey?: string } | undefined>)[link];
            expect(shown?.PKey).toBe(parentPKey(parents.get(key)!));
          }
        }
      };
      await expectLinks('cusOrder', 'profile', orderParent, (id) => profiles.get(id)?.PKey as string);
      await expectLinks('cusOrderLine', 'order', lineParent, (id) => orders.get(id)?.PKey);
    } finally {
      await caller.close();
    }
  }, 120_000);
});
