/**
 * Picklist modes end to end: a choice column written as its label reaches Campaign as the label
 * Dataverse's option-set metadata gives it, and as its technical value in `value` mode — through
 * both emulators, the production clients and the flow builder's pre-flight.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SyncError } from '../../../src/core/errors.js';
import { createSyncEngine } from '../../../src/cli/runtime/start-sync.js';
import { SyncTestBed } from '../../support/sync-test-bed.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { noteTable, startCustomTableBed } from '../../support/custom-table-fixtures.js';

/** A profile extension that holds the preferred contact method as text. */
const campaignWithMethodField = {
  seedFile: { profile: { extraFields: [{ name: 'cusContactMethod', type: 'string' as const, length: 20 }] } },
};

function contactsConfig(mapping: Record<string, unknown>, picklist?: 'label' | 'value') {
  return { flows: { contacts: { mapping, ...(picklist ? { picklist } : {}) } } };
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (error: unknown) => error,
  );
}

let bed: SyncTestBed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

describe('contact flow: picklist modes', () => {
  it('writes the option label in label mode (the default), and follows label changes of later updates', async () => {
    bed = await SyncTestBed.start({
      campaign: campaignWithMethodField,
      config: contactsConfig({ preferredcontactmethodcode: 'cusContactMethod' }),
    });
    const email = bed.dynamics.admin.createContact(buildContact({ preferredcontactmethodcode: 2 }));
    const mail = bed.dynamics.admin.createContact(buildContact({ preferredcontactmethodcode: 5 }));
    const { engine } = await bed.engine();
    expect(await engine.runUntilIdle({ timeoutMs: 60_000 })).toMatchObject({
      created: 2,
      'dead-lettered': 0,
    });
    let profiles = bed.profilesByExternalId();
    expect(profiles.get(String(email.contactid))!.cusContactMethod).toBe('Email');
    expect(profiles.get(String(mail.contactid))!.cusContactMethod).toBe('Mail');

    bed.dynamics.admin.updateContact(String(email.contactid), { preferredcontactmethodcode: 3 });
    expect(await engine.runUntilIdle({ timeoutMs: 60_000 })).toMatchObject({ updated: 1 });
    profiles = bed.profilesByExternalId();
    expect(profiles.get(String(email.contactid))!.cusContactMethod).toBe('Phone');
  });

  it.each([
    [
      'the flow says picklist: value',
      contactsConfig({ preferredcontactmethodcode: 'cusContactMethod' }, 'value'),
    ],
    [
      'the field overrides a label flow with picklist: value',
      contactsConfig({ preferredcontactmethodcode: { to: 'cusContactMethod', picklist: 'value' } }, 'label'),
    ],
  ])('writes the technical value when %s (as text: the Campaign field is a string)', async (_, config) => {
    bed = await SyncTestBed.start({ campaign: campaignWithMethodField, config });
    const contact = bed.dynamics.admin.createContact(buildContact({ preferredcontactmethodcode: 2 }));
    const { engine } = await bed.engine();
    expect(await engine.runUntilIdle({ timeoutMs: 60_000 })).toMatchObject({
      created: 1,
      'dead-lettered': 0,
    });
    expect(bed.profilesByExternalId().get(String(contact.contactid))!.cusContactMethod).toBe('2');
  });

  it('fails the pre-flight, naming the table, when the labels cannot be read', async () => {
    bed = await SyncTestBed.start({
      campaign: campaignWithMethodField,
      config: contactsConfig({ preferredcontactmethodcode: 'cusContactMethod' }),
    });
    bed.dynamics.admin.configureFaults({ errorRate: 1, pathPattern: 'AttributeMetadata' });
    const runtime = await bed.openRuntime();
    const error = await failureOf(createSyncEngine(runtime));
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({ code: 'PREFLIGHT_FAILED' });
    const message = (error as Error).message;
    expect(message).toContain('Could not read the choice labels of Dynamics table "contact"');
    expect(message).toContain('flows.contacts.mapping writes preferredcontactmethodcode as labels');
    expect(bed.profilesByExternalId().size).toBe(0);
  });
});

/** A Dynamics table with a choice column and the Campaign resource that takes it as text. */
const ticketDynamicsSeed = {
  tables: [
    {
      logicalName: 'new_ticket',
      entitySetName: 'new_tickets',
      changeTracking: true,
      columns: [
        {
          name: 'new_priority',
          type: 'picklist' as const,
          options: [
            { value: 100000000, label: 'Low' },
            { value: 100000001, label: 'Urgent' },
          ],
        },
        {
          name: 'new_channels',
          type: 'multiselectpicklist' as const,
          options: [
            { value: 100000000, label: 'Email' },
            { value: 100000001, label: 'Phone' },
            { value: 100000002, label: 'Post' },
          ],
        },
      ],
      rows: [],
    },
  ],
};
const ticketCampaignSeed = {
  resources: [
    {
      name: 'cusTicket',
      keyField: 'crmId',
      fields: [
        { name: 'crmId', type: 'string' as const, length: 36 },
        { name: 'priority', type: 'string' as const, length: 20 },
        { name: 'channels', type: 'string' as const, length: 60 },
        { name: 'rank', type: 'long' as const },
      ],
    },
  ],
};

/** Both emulators with the ticket table and resource, syncing `new_ticket` → `cusTicket` with `mapping`. */
function startTicketBed(mapping: Record<string, string>, picklist?: 'label' | 'value'): Promise<SyncTestBed> {
  return SyncTestBed.start({
    dynamics: { seedData: ticketDynamicsSeed },
    campaign: { seedFile: ticketCampaignSeed },
    config: {
      flows: {
        customTables: [
          {
            table: 'new_ticket',
            resource: 'cusTicket',
            keyColumn: 'crmId',
            ...(picklist ? { picklist } : {}),
            mapping,
          },
        ],
      },
    },
  });
}

describe('custom table flow: picklist labels and entitySet', () => {
  it('writes the label of a custom choice column, and the value where the table says picklist: value', async () => {
    for (const [picklist, expected] of [
      ['label', 'Urgent'],
      ['value', '100000001'],
    ] as const) {
      bed = await startTicketBed({ new_priority: 'priority' }, picklist);
      const ticket = bed.dynamics.admin.createRow('new_ticket', { new_priority: 100000001 });
      const { engine } = await bed.engine();
      expect(await engine.runUntilIdle({ timeoutMs: 60_000 })).toMatchObject({ 'dead-lettered': 0 });
      const records = bed.campaign.admin.listRecords('cusTicket');
      expect(records.map((r) => [r.values.crmId, r.values.priority])).toEqual([
        [ticket.new_ticketid, expected],
      ]);
      await bed.close();
      bed = undefined;
    }
  });

  it('writes a multi-select column as its labels joined by "; ", as raw values in value mode, and follows changes', async () => {
    for (const [picklist, first, second] of [
      ['label', 'Email; Post', 'Phone'],
      ['value', '100000000,100000002', '100000001'],
    ] as const) {
      bed = await startTicketBed({ new_channels: 'channels' }, picklist);
      const ticket = bed.dynamics.admin.createRow('new_ticket', { new_channels: '100000000,100000002' });
      const { engine } = await bed.engine();
      expect(await engine.runUntilIdle({ timeoutMs: 60_000 })).toMatchObject({
        created: 1,
        'dead-lettered': 0,
      });
      const channels = (): unknown => bed!.campaign.admin.listRecords('cusTicket')[0]!.values.channels;
      expect(channels()).toBe(first);
      bed.dynamics.admin.updateRow('new_ticket', String(ticket.new_ticketid), { new_channels: '100000001' });
      expect(await engine.runUntilIdle({ timeoutMs: 60_000 })).toMatchObject({
        updated: 1,
        'dead-lettered': 0,
      });
      expect(channels()).toBe(second);
      await bed.close();
      bed = undefined;
    }
  });

  it('fails the pre-flight when a multi-select column is mapped to a field that cannot hold text', async () => {
    bed = await startTicketBed({ new_channels: 'rank' });
    const runtime = await bed.openRuntime();
    const error = await failureOf(createSyncEngine(runtime));
    expect(error).toMatchObject({ code: 'PREFLIGHT_FAILED' });
    expect((error as Error).message).toMatch(/new_channels[^\n]*MultiSelectPicklist[^\n]*rank/);
  });

  it('fails the pre-flight when a configured entitySet is not the table’s, naming the path and both names', async () => {
    bed = await startCustomTableBed({ tables: [{ ...noteTable, entitySet: 'new_notez' }] });
    const runtime = await bed.openRuntime();
    const error = await failureOf(createSyncEngine(runtime));
    expect(error).toMatchObject({ code: 'PREFLIGHT_FAILED' });
    expect((error as Error).message).toContain(
      'error PREFLIGHT_ENTITY_SET flows.customTables[0].entitySet: custom table new_note → cusNote: "new_notez" is not the entity set of Dynamics table new_note; its metadata reports "new_notes".',
    );
  });

  it('starts when the configured entitySet is the one the metadata reports', async () => {
    bed = await startCustomTableBed({ tables: [{ ...noteTable, entitySet: 'new_notes' }] });
    const { engine } = await bed.engine();
    expect(await engine.runUntilIdle({ timeoutMs: 60_000 })).toMatchObject({ 'dead-lettered': 0 });
  });
});
