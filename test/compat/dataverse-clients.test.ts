/**
 * `dynamics-web-api` and `@azure/msal-node` (pinned) against the Dataverse emulator, used as their
 * users would. They run in their own Node process (`dataverse-client-scenario.ts`) started with
 * `NODE_EXTRA_CA_CERTS` = the emulator's CA: dynamics-web-api builds its own `https.Agent` and
 * msal-node uses the global `fetch`, so the environment variable `docs/emulators.md` recommends
 * is also the one way to trust the CA that covers both.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamicsEmulator, type DynamicsEmulator } from '../../emulators/dynamics/dynamics-emulator.js';

const scenario = fileURLToPath(new URL('./dataverse-client-scenario.ts', import.meta.url));

let emulator: DynamicsEmulator;
let dir: string;
let seen: Record<string, unknown>;

beforeAll(async () => {
  emulator = await startDynamicsEmulator({ contacts: 20, seed: 1 });
  dir = mkdtempSync(join(tmpdir(), 'dcsync-compat-'));
  const caFile = join(dir, 'dataverse-ca.pem');
  writeFileSync(caFile, emulator.caCert!);
  // Asynchronous on purpose: the emulator answers from this process's event loop.
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', scenario], {
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: caFile,
      DATAVERSE_URL: emulator.url,
      AUTHORITY_HOST: emulator.authorityHost,
      TENANT_ID: emulator.tenantId,
      CLIENT_ID: emulator.clientId,
      CLIENT_SECRET: 'demo-secret',
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  seen = JSON.parse(stdout) as Record<string, unknown>;
});

afterAll(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('dynamics-web-api with @azure/msal-node tokens', () => {
  it('gets a token by client credentials from the emulated Entra ID, and calls WhoAmI', () => {
    expect(seen.token).toEqual({ length: expect.any(Number) as number, parts: 3 });
    expect(seen.whoAmI).toEqual({ hasUserId: true });
  });

  it('creates, retrieves, updates, upserts and deletes contacts', () => {
    expect(seen.create).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/) as string });
    expect(seen.createReturning).toEqual({ firstname: 'Bo', hasId: true });
    expect(seen.retrieve).toMatchObject({ firstname: 'Ann', email: 'ann.compat@example.com' });
    expect((seen.retrieve as { etag: string }).etag).toMatch(/^W\/"\d+"$/);
    expect(seen.formattedValues).toEqual({ donotemail: false, formatted: 'Allow' });
    expect(seen.update).toEqual({ done: true, lastname: 'Updated' });
    expect(seen.updateSingleProperty).toEqual({ jobtitle: 'Tester' });
    expect(seen.upsert).toEqual({ firstname: 'Cy', lastname: 'Upserted' });
    expect(seen.delete).toEqual({ deleted: true, gone: true });
  });

  it('reads with filters, order, pages and counts', () => {
    expect(seen.filtered).toEqual({ names: ['Ann', 'Bo'] });
    // 20 seeded + Ann + Bo + Cy.
    expect(seen.paged).toEqual({ firstPage: 7, count: 23, hasNextLink: true, all: 23 });
    expect(seen.count).toEqual({ total: 23, filtered: 1 });
  });

  it('tracks changes through the delta link', () => {
    expect(seen.changeTracking).toEqual({ initial: 23, hasDeltaLink: true, changed: ['Annie'] });
  });

  it('reads entity and attribute metadata', () => {
    expect(seen.metadata).toEqual({ entitySetName: 'contacts', primaryId: 'contactid', hasEmail: true });
  });

  it('runs a $batch of a read, a create and an update', () => {
    expect(seen.batch).toEqual({ responses: 3, firstRows: 2, jobtitle: 'Batched' });
  });

  it('served every call with one token from the MSAL cache', () => {
    expect(emulator.admin.stats().tokensIssued).toBe(1);
  });
});
