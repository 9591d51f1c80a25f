import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { parse, stringify } from 'yaml';
import { campaignTestSeed } from '../../../support/campaign-test-bed.js';
import { SyncTestBed, testEnv, type StoreKind } from '../../../support/sync-test-bed.js';
import type { CliContext } from '../../../../src/cli/cli-context.js';
import { Redactor } from '../../../../src/logging/redactor.js';
import type { SeedFile } from '../../../../emulators/dynamics/schema/seed-file.js';
import type { CampaignEmulatorOptions } from '../../../../emulators/campaign/campaign-emulator.js';

/** Orders hang off the contact (Dynamics lookup → Campaign link `profile`, cascade delete). */
export const orderSeed: SeedFile = {
  tables: [
    {
      logicalName: 'new_order',
      entitySetName: 'new_orders',
      changeTracking: true,
      columns: [
        { name: 'new_amount', type: 'double' },
        { name: 'new_contactid', type: 'lookup', target: 'contact', navigationProperty: 'new_ContactId' },
      ],
      rows: [],
    },
  ],
};

/**
 * Both emulators with fast privacy timings, orders synced as a linked custom resource, and a
 * `privacy` section pointing at the Campaign emulator's Privacy Service.
 */
export async function startPrivacyBed(
  store: StoreKind,
  options: {
    logLevel?: string;
    /** Campaign emulator options over the fast privacy timings (a clock, other timings). */
    campaign?: CampaignEmulatorOptions;
    /** Over the `privacy` section (e.g. `{ pollIntervalMs: undefined }` for the defaults). */
    privacy?: Record<string, unknown>;
  } = {},
): Promise<SyncTestBed> {
  const bed = await SyncTestBed.start({
    store,
    dynamics: { seedData: orderSeed },
    campaign: {
      seedFile: campaignTestSeed,
      privacyServiceTiming: { toProcessingMs: 50 },
      privacyToolTiming: { toProcessingMs: 50, toCompleteMs: 150 },
      ...options.campaign,
    },
    config: {
      flows: {
        customTables: [
          {
            table: 'new_order',
            resource: 'cusOrder',
            keyColumn: 'crmId',
            personalData: true,
            mapping: { new_amount: 'amount' },
            links: [{ lookup: 'new_contactid', link: 'profile', target: 'profile' }],
          },
        ],
      },
      logging: { level: options.logLevel ?? 'silent' },
    },
  });
  const config = parse(readFileSync(bed.configPath, 'utf8')) as Record<string, unknown>;
  config.privacy = {
    serviceUrl: bed.campaign.privacyServiceUrl,
    imsOrgId: bed.campaign.imsOrgId,
    namespaces: [
      { namespace: 'email', type: 'standard', source: 'email' },
      { namespace: 'crmId', type: 'custom', source: 'externalId' },
    ],
    pollIntervalMs: 100,
    ...options.privacy,
  };
  writeFileSync(bed.configPath, stringify(config));
  return bed;
}

/** A person in Dynamics with an order; the canary values must never appear in logs or history. */
export interface Person {
  contactId: string;
  orderIds: string[];
  email: string;
  firstName: string;
}

let people = 0;

export function createPerson(bed: SyncTestBed, orders = 2): Person {
  const n = ++people;
  const person: Person = {
    contactId: randomUUID(),
    orderIds: [],
    email: `canary.person${n}.${randomUUID().slice(0, 8)}@privacy.example`,
    firstName: `Canaryfirst${n}x${randomUUID().slice(0, 6)}`,
  };
  bed.dynamics.admin.createContact({
    contactid: person.contactId,
    firstname: person.firstName,
    lastname: 'Subject',
    emailaddress1: person.email,
  });
  for (let i = 0; i < orders; i++) {
    const row = bed.dynamics.admin.createRow('new_order', {
      new_amount: 10 + i,
      new_contactid: person.contactId,
    });
    person.orderIds.push(String(row.new_orderid));
  }
  return person;
}

/** Sync everything in Dynamics to Campaign and stop. */
export async function syncAll(bed: SyncTestBed): Promise<void> {
  const { engine } = await bed.engine();
  await engine.runUntilIdle({ timeoutMs: 30_000 });
}

/** A CLI context that keeps everything written to stdout and stderr. */
export function captureContext(env: NodeJS.ProcessEnv = testEnv): CliContext & {
  stdout(): string;
  stderr(): string;
  exitCode(): number | undefined;
} {
  let out = '';
  let err = '';
  let code: number | undefined;
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        append(chunk.toString());
        callback();
      },
    });
  return {
    redactor: new Redactor(),
    out: sink((t) => (out += t)),
    err: sink((t) => (err += t)),
    env,
    setExitCode: (c) => (code = c),
    stdout: () => out,
    stderr: () => err,
    exitCode: () => code,
  };
}

/** Everything the Campaign emulator holds that belongs to `person` (hidden records included). */
export function campaignTraces(bed: SyncTestBed, person: Person): { profiles: number; orders: number } {
  const profiles = bed.campaign.admin
    .listRecords('profile', { includeHidden: true })
    .filter((p) => p.values.externalId === person.contactId || p.values.email === person.email).length;
  const orders = bed.campaign.admin
    .listRecords('cusOrder', { includeHidden: true })
    .filter((o) => person.orderIds.includes(String(o.values.crmId))).length;
  return { profiles, orders };
}
