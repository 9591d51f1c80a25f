import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatExportFileName,
  formatOptOutExportHeader,
  formatOptOutExportRow,
} from '../../../emulators/campaign/sftp/opt-out-export-format.js';
import { exitCodes } from '../../../src/cli/exit-codes.js';
import type { OptOutDecision } from '../../../src/core/ports/opt-out-store.js';
import { runDcsync } from '../../support/cli-runner.js';
import { testEnv } from '../../support/sync-test-bed.js';
import { OptOutTestBed } from './support/opt-out-test-bed.js';

/** `dcsync optout ingest | decisions | files`, each in-process through the real CLI. */
describe('dcsync optout commands', () => {
  let bed: OptOutTestBed;
  let optedOut: string;
  let untouched: string;
  let file: string;

  beforeAll(async () => {
    bed = await OptOutTestBed.start({ mode: 'campaign-to-dynamics' });
    optedOut = String(
      bed.dynamics.createContact({ firstname: 'Opt', lastname: 'Out', donotemail: false }).contactid,
    );
    untouched = String(
      bed.dynamics.createContact({ firstname: 'Stay', lastname: 'In', donotemail: false }).contactid,
    );
    const at = Date.now() + 60_000;
    file = join(bed.bed.dir, formatExportFileName(at));
    writeFileSync(
      file,
      formatOptOutExportHeader() +
        formatOptOutExportRow({
          PKey: '@manual-1',
          externalId: optedOut,
          attributes: { blackListEmail: { value: true, lastModified: at } },
        }) +
        formatOptOutExportRow({
          PKey: '@manual-2',
          externalId: untouched,
          attributes: { blackListEmail: { value: false, lastModified: at } },
        }),
    );
  });
  afterAll(async () => {
    await bed?.close();
  });

  const dcsync = (...args: string[]) => runDcsync([...args, '--config', bed.bed.configPath], testEnv);

  it('ingest --file applies a local export file once, and again only with --force', async () => {
    const first = await dcsync('optout', 'ingest', '--file', file, '--json');
    expect(first.code).toBe(exitCodes.ok);
    const report = JSON.parse(first.stdout) as { outcome: string; file: { rowsApplied: number } };
    expect(report).toMatchObject({ outcome: 'processed', file: { rowsApplied: 2 } });
    expect(bed.dynamics.getRow('contact', optedOut)?.donotemail).toBe(true);
    expect(bed.dynamics.getRow('contact', untouched)?.donotemail).toBe(false);

    const again = await dcsync('optout', 'ingest', '--file', file, '--json');
    expect(again.code).toBe(exitCodes.ok);
    expect((JSON.parse(again.stdout) as { outcome: string }).outcome).toBe('already-processed');

    bed.dynamics.updateContact(optedOut, { donotemail: false });
    const forced = await dcsync('optout', 'ingest', '--file', file, '--force', '--json');
    expect((JSON.parse(forced.stdout) as { outcome: string }).outcome).toBe('processed');
    expect(bed.dynamics.getRow('contact', optedOut)?.donotemail).toBe(true);
  });

  it('decisions --contact lists the audit of one contact, newest first, with file and line', async () => {
    const run = await dcsync('optout', 'decisions', '--contact', optedOut, '--json');
    expect(run.code).toBe(exitCodes.ok);
    const page = JSON.parse(run.stdout) as { items: OptOutDecision[] };
    expect(page.items.length).toBeGreaterThanOrEqual(2);
    expect(page.items.every((d) => d.recordKey === optedOut)).toBe(true);
    const newest = page.items[0]!;
    expect(newest).toMatchObject({
      dynamicsColumn: 'donotemail',
      campaignAttribute: 'blackListEmail',
      campaignValue: true,
      winner: true,
      winningSide: 'campaign',
      mode: 'campaign-to-dynamics',
    });
    expect(newest.sourceRef).toMatch(/^optout_\d{8}_\d{6}\.csv:2$/);
    expect(page.items[0]!.at).toBeGreaterThanOrEqual(page.items.at(-1)!.at);

    const text = await dcsync('optout', 'decisions', '--contact', optedOut);
    expect(text.stdout).toContain('donotemail↔blackListEmail');
    const none = await dcsync('optout', 'decisions', '--contact', '00000000-0000-0000-0000-0000000000ff');
    expect(none.stdout).toContain('no opt-out decisions for contact');
  });

  it('files lists the ledger with row counts', async () => {
    const run = await dcsync('optout', 'files', '--json');
    expect(run.code).toBe(exitCodes.ok);
    expect(run.stdout).toContain(basename(file));
    expect(run.stdout).toContain('"rowsApplied"');
  });
});
