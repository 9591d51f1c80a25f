/**
 * The change reader where the public documentation is silent (issue 18), against the emulator set
 * up both ways: the HTTP status Dataverse uses with ExpiredVersionStamp (400 / 410 / 422), a delta
 * link refused with an undocumented 4xx, and a paged delta whose later pages lack the `/$delta`
 * context suffix.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DynamicsChangeReader,
  type DynamicsChangePage,
} from '../../../src/connectors/dynamics/dynamics-change-reader.js';
import {
  DeltaLinkRefusedError,
  DeltaTokenExpiredError,
} from '../../../src/connectors/dynamics/dynamics-errors.js';
import { buildContact } from '../../support/dynamics-builders.js';
import {
  collectPages,
  contactRead,
  expectConnectorRejection,
  RawDataverseApi,
  startDynamicsTestBed,
  type DynamicsTestBed,
} from '../../support/dynamics-test-bed.js';

let bed: DynamicsTestBed;

async function deltaLink(reader: DynamicsChangeReader): Promise<string> {
  return (await collectPages(reader.readChanges(contactRead))).at(-1)!.resumeLink;
}

beforeAll(async () => {
  bed = await startDynamicsTestBed({ contacts: 30, seed: 18 });
});

afterAll(async () => {
  await bed.close();
});

beforeEach(() => {
  const settings = bed.emulator.admin.settings;
  settings.expiredTokenStatus = 400;
  settings.deltaLinkRefusal = null;
  settings.laterDeltaPagesContext = 'delta';
});

describe('expired delta link, whatever the status', () => {
  it.each([400, 410, 422])('recognises ExpiredVersionStamp answered with %i by its code', async (status) => {
    bed.emulator.admin.settings.expiredTokenStatus = status;
    const client = bed.createClient();
    const reader = new DynamicsChangeReader(client);
    const link = await deltaLink(reader);
    bed.emulator.admin.expireDeltaTokens();
    const error = await expectConnectorRejection(
      collectPages(reader.readChanges({ ...contactRead, resumeLink: link })),
    );
    expect(error).toBeInstanceOf(DeltaTokenExpiredError);
    expect(error.code).toBe('DYNAMICS_DELTA_EXPIRED');
    expect(error.status).toBe(status);
    expect(client.stats().retries).toBe(0);
  });
});

describe('delta link refused with an undocumented 4xx', () => {
  it.each([
    [422, '0x80040203'],
    [410, ''],
    [404, '0x80040217'],
    [400, '0x80048d19'],
  ])('gives the link up on %i (code %s): DeltaLinkRefusedError, not retried', async (status, code) => {
    const client = bed.createClient();
    const reader = new DynamicsChangeReader(client);
    const link = await deltaLink(reader);
    bed.emulator.admin.settings.deltaLinkRefusal = { status, code, message: 'Refused for the test.' };
    const error = await expectConnectorRejection(
      collectPages(reader.readChanges({ ...contactRead, resumeLink: link })),
    );
    expect(error).toBeInstanceOf(DeltaLinkRefusedError);
    expect(error.code).toBe('DYNAMICS_DELTA_LINK_REFUSED');
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(`HTTP ${status}`);
    expect(client.stats().retries).toBe(0);
  });

  it('keeps the meaning of a privilege refusal (403) and of an error on a full read', async () => {
    const reader = new DynamicsChangeReader(bed.createClient());
    const link = await deltaLink(reader);
    bed.emulator.admin.settings.deltaLinkRefusal = { status: 403, code: '0x80040220', message: 'No.' };
    const forbidden = await expectConnectorRejection(
      collectPages(reader.readChanges({ ...contactRead, resumeLink: link })),
    );
    expect(forbidden.code).toBe('DYNAMICS_FORBIDDEN');
    // A full read is never given up as a refused delta (re-reading would meet the same answer).
    const fullRead = await expectConnectorRejection(
      collectPages(reader.readChanges({ ...contactRead, select: ['no_such_column'] })),
    );
    expect(fullRead).not.toBeInstanceOf(DeltaLinkRefusedError);
    expect(fullRead.code).toBe('DYNAMICS_BAD_REQUEST');
  });
});

describe('paged delta whose later pages lack the /$delta suffix', () => {
  async function pagedDelta(): Promise<{ reader: DynamicsChangeReader; link: string; changed: string[] }> {
    bed.emulator.admin.settings.laterDeltaPagesContext = 'plain';
    const reader = new DynamicsChangeReader(bed.createClient());
    const link = await deltaLink(reader);
    const ids = bed.emulator.admin.listIds('contact');
    const changed = ids.slice(0, 12);
    for (const id of changed) bed.emulator.admin.updateContact(id, { donotemail: true });
    for (let i = 0; i < 5; i++)
      changed.push(String(bed.emulator.admin.createContact(buildContact()).contactid));
    return { reader, link, changed };
  }

  it('reads every page of a delta link as a delta page', async () => {
    const { reader, link, changed } = await pagedDelta();
    const pages = await collectPages(reader.readChanges({ ...contactRead, resumeLink: link, pageSize: 5 }));
    expect(pages.length).toBe(4);
    expect(pages.map((p) => p.isInitialSync)).toEqual([false, false, false, false]);
    expect(pages.flatMap((p) => p.upserts.map((r) => r.id)).sort()).toEqual([...changed].sort());
  });

  it('reads a saved next link of a delta read as delta when the caller says so', async () => {
    const { reader, link } = await pagedDelta();
    const first: DynamicsChangePage[] = [];
    for await (const page of reader.readChanges({ ...contactRead, resumeLink: link, pageSize: 5 })) {
      first.push(page);
      break;
    }
    const rest = await collectPages(
      reader.readChanges({
        ...contactRead,
        resumeLink: first[0]!.resumeLink,
        resumeIsDelta: true,
        pageSize: 5,
      }),
    );
    expect(rest.length).toBe(3);
    expect(rest.every((p) => !p.isInitialSync)).toBe(true);
  });
});

describe('emulator settings over the admin API', () => {
  it('sets and clears deltaLinkRefusal and laterDeltaPagesContext; refuses a non-4xx refusal', async () => {
    const api = new RawDataverseApi(bed.emulator);
    const put = (body: unknown) =>
      api.send('PUT', '/_emulator/settings', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    try {
      const set = await put({
        laterDeltaPagesContext: 'plain',
        deltaLinkRefusal: { status: 422, code: '0x80040203' },
      });
      expect(set.status).toBe(200);
      expect(bed.emulator.admin.settings).toMatchObject({
        laterDeltaPagesContext: 'plain',
        deltaLinkRefusal: { status: 422, code: '0x80040203', message: 'The request is invalid.' },
      });
      expect((await put({ deltaLinkRefusal: { status: 500, code: 'x' } })).status).toBe(400);
      expect((await put({ deltaLinkRefusal: null })).status).toBe(200);
      expect(bed.emulator.admin.settings.deltaLinkRefusal).toBeNull();
    } finally {
      await api.close();
    }
  });
});
