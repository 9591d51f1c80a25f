import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../../../src/cli/cli-context.js';
import { exitCodes } from '../../../src/cli/exit-codes.js';
import { exitCodeByArea, reportError } from '../../../src/cli/report-error.js';
import { errorCatalogue } from '../../../src/core/error-catalogue.js';
import { ConfigError, ConnectorError, StoreError, SyncError } from '../../../src/core/errors.js';
import { Redactor } from '../../../src/logging/redactor.js';

function report(error: unknown): { exit: number; stderr: string } {
  const err = new PassThrough();
  const redactor = new Redactor();
  redactor.addSecret('s3cr3t-value');
  const context: CliContext = { redactor, out: new PassThrough(), err, env: {}, setExitCode: () => {} };
  const exit = reportError(error, context);
  return { exit, stderr: String(err.read() ?? '') };
}

describe('CLI exit code from the area', () => {
  it.each<[SyncError, number]>([
    [new ConfigError('flows.contacts: bad'), exitCodes.config],
    [new SyncError('PREFLIGHT_FAILED', 'change tracking disabled'), exitCodes.preflight],
    [new StoreError('STORE_UNAVAILABLE', 'down'), exitCodes.store],
    [new StoreError('STORE_INVALID_INPUT', 'bad lane'), exitCodes.store],
    [new ConnectorError('campaign', 'CAMPAIGN_AUTH', 'refused'), exitCodes.connector],
    [new ConnectorError('ims', 'IMS_TIMEOUT', 'no answer'), exitCodes.connector],
    [new ConnectorError('sftp', 'SFTP_HOST_KEY_MISMATCH', 'pinned key differs'), exitCodes.connector],
    [new ConnectorError('entra', 'ENTRA_INVALID_CLIENT', 'secret expired'), exitCodes.connector],
    [new SyncError('PRIVACY_BAD_RESPONSE', 'no job'), exitCodes.connector],
    [new SyncError('PRIVACY_REQUEST_UNKNOWN', 'no such request'), exitCodes.internal],
    [new SyncError('MAPPING_INVALID', 'bad value'), exitCodes.internal],
  ])('exits %s with %i', (error, exit) => {
    expect(report(error).exit).toBe(exit);
  });

  it('has an exit code for every area, one of the documented ones', () => {
    const documented = new Set<number>(Object.values(exitCodes));
    for (const { area } of errorCatalogue) expect(documented.has(exitCodeByArea[area])).toBe(true);
  });

  it('prints the code and a redacted message, and exits 1 for an error without a code', () => {
    expect(report(new StoreError('STORE_UNAVAILABLE', 'password s3cr3t-value refused'))).toEqual({
      exit: exitCodes.store,
      stderr: 'dcsync: STORE_UNAVAILABLE: password [redacted] refused\n',
    });
    expect(report(new TypeError('boom'))).toEqual({ exit: exitCodes.internal, stderr: 'dcsync: boom\n' });
  });
});
