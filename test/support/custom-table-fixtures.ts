import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { SyncRuntime } from '../../src/cli/runtime/sync-runtime.js';
import { FlowControl } from '../../src/engine/flow-control.js';
import { tableFlowId } from '../../src/engine/records/record-flow.js';
import type { SyncEngine } from '../../src/engine/sync-engine.js';
import { parseSeedFile, type SeedFile } from '../../emulators/dynamics/schema/seed-file.js';
import type { CampaignEmulator } from '../../emulators/campaign/campaign-emulator.js';
import { campaignTestSeed } from './campaign-test-bed.js';
import { SyncTestBed, type SyncTestBedOptions } from './sync-test-bed.js';

/**
 * Three levels of custom tables in Dynamics, mirroring the Campaign test seed
 * (`campaignTestSeed`): contact → new_order → new_orderline (both lookups cascade deletes, like
 * the Campaign links), and new_note → contact (delete removes the link; Campaign link `0..1`).
 */
export const customTableDynamicsSeed: SeedFile = parseSeedFile(
  JSON.stringify({
    tables: [
      {
        logicalName: 'new_order',
        entitySetName: 'new_orders',
        columns: [
          { name: 'new_amount', type: 'decimal' },
          {
            name: 'new_contactid',
            type: 'lookup',
            target: 'contact',
            navigationProperty: 'new_ContactId',
            onDelete: 'cascade',
          },
        ],
      },
      {
        logicalName: 'new_orderline',
        entitySetName: 'new_orderlines',
        columns: [
          { name: 'new_sku', type: 'string', maxLength: 20 },
          {
            name: 'new_orderid',
            type: 'lookup',
            target: 'new_order',
            navigationProperty: 'new_OrderId',
            onDelete: 'cascade',
          },
        ],
      },
      {
        logicalName: 'new_note',
        entitySetName: 'new_notes',
        columns: [
          { name: 'new_text', type: 'memo' },
          {
            name: 'new_contactid',
            type: 'lookup',
            target: 'contact',
            navigationProperty: 'new_ContactId',
            onDelete: 'removeLink',
          },
        ],
      },
      {
        logicalName: 'new_untracked',
        entitySetName: 'new_untrackeds',
        changeTracking: false,
        columns: [{ name: 'new_code', type: 'string', maxLength: 10 }],
      },
    ],
  }),
  'custom-table test seed',
);

/** One `flows.customTables` entry (YAML shape); each test states only what it changes. */
export type CustomTableEntry = Record<string, unknown>;

export const orderTable: CustomTableEntry = {
  table: 'new_order',
  resource: 'cusOrder',
  keyColumn: 'crmId',
  deletes: true,
  personalData: true,
  mapping: { new_amount: 'amount' },
  links: [{ lookup: 'new_contactid', link: 'profile', target: 'profile' }],
};

export const orderLineTable: CustomTableEntry = {
  table: 'new_orderline',
  resource: 'cusOrderLine',
  keyColumn: 'crmId',
  deletes: true,
  personalData: true,
  mapping: { new_sku: 'sku' },
  links: [{ lookup: 'new_orderid', link: 'order', target: 'cusOrder' }],
};

export const noteTable: CustomTableEntry = {
  table: 'new_note',
  resource: 'cusNote',
  keyColumn: 'crmId',
  deletes: true,
  mapping: { new_text: 'text' },
  links: [{ lookup: 'new_contactid', link: 'profile', target: 'profile' }],
};

/** The three linked tables, parents first in the file (order does not matter to the sync). */
export const customTables: readonly CustomTableEntry[] = [orderTable, orderLineTable, noteTable];

/** A sync test bed with both emulators seeded for custom tables and the three tables configured. */
export function startCustomTableBed(
  options: SyncTestBedOptions & { tables?: readonly CustomTableEntry[] } = {},
): Promise<SyncTestBed> {
  const { tables = customTables, config = {}, ...rest } = options;
  const flows = (config.flows as Record<string, unknown> | undefined) ?? {};
  return SyncTestBed.start({
    ...rest,
    dynamics: { contacts: 0, seedData: customTableDynamicsSeed, ...rest.dynamics },
    campaign: { profiles: 0, seedFile: campaignTestSeed, ...rest.campaign },
    config: { ...config, flows: { ...flows, customTables: tables } },
  });
}

/** Dynamics rows for the admin API, with fresh ids; each test states only what it cares about. */
export function buildOrder(contactId: string | null, overrides: Record<string, unknown> = {}) {
  return { new_orderid: randomUUID(), new_amount: 10, new_contactid: contactId, ...overrides };
}

export function buildOrderLine(orderId: string | null, overrides: Record<string, unknown> = {}) {
  return { new_orderlineid: randomUUID(), new_sku: 'SKU-1', new_orderid: orderId, ...overrides };
}

export function buildNote(contactId: string | null, overrides: Record<string, unknown> = {}) {
  return { new_noteid: randomUUID(), new_text: 'note', new_contactid: contactId, ...overrides };
}

/** Hidden records per Campaign resource (I6: must be zero everywhere). */
export function hiddenCounts(campaign: CampaignEmulator): Record<string, number> {
  const out: Record<string, number> = {};
  for (const resource of ['profile', 'cusOrder', 'cusOrderLine', 'cusNote'])
    out[resource] = campaign.admin.countRecords(resource).hidden;
  return out;
}

/** Visible records of a resource by their key column value. */
export function recordsByKey(
  campaign: CampaignEmulator,
  resource: string,
  keyField = 'crmId',
): Map<string, { PKey: string; values: Record<string, unknown> }> {
  const out = new Map<string, { PKey: string; values: Record<string, unknown> }>();
  for (const record of campaign.admin.listRecords(resource)) {
    const key = record.values[keyField];
    if (typeof key === 'string' && key !== '') out.set(key, { PKey: record.PKey, values: record.values });
  }
  return out;
}

/** The four flows of the custom-table bed. */
export const customTableFlows: readonly string[] = [
  'contacts',
  tableFlowId('new_order'),
  tableFlowId('new_orderline'),
  tableFlowId('new_note'),
];

/** A fresh runtime and engine with `paused` flows paused (the sync reads those tables later). */
export async function engineWithPaused(
  bed: SyncTestBed,
  paused: readonly string[],
): Promise<{ runtime: SyncRuntime; engine: SyncEngine }> {
  const started = await bed.engine();
  const control = new FlowControl(started.runtime.store, started.runtime.clock);
  for (const flow of customTableFlows) {
    if (paused.includes(flow)) await control.pause(flow, 'test: read later');
    else await control.resume(flow);
  }
  return started;
}

/** Run until idle with `paused` flows paused; no record may have been dead-lettered. */
export async function runWithPaused(bed: SyncTestBed, paused: readonly string[] = []): Promise<SyncRuntime> {
  const { runtime, engine } = await engineWithPaused(bed, paused);
  const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });
  expect((await runtime.store.deadLetters.list({}, {})).items).toEqual([]);
  expect(summary['dead-lettered']).toBe(0);
  return runtime;
}
