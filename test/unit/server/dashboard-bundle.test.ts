import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncError } from '../../../src/core/errors.js';
import { dashboardBundleDir, readDashboardBundle } from '../../../src/server/dashboard/dashboard-bundle.js';

const dirs: string[] = [];

function bundleDir(files: Record<string, string>): URL {
  const dir = mkdtempSync(join(tmpdir(), 'dcsync-bundle-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'bundle'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'bundle', name), text);
  return pathToFileURL(join(dir, 'bundle/'));
}

async function failureOf(dir: URL): Promise<SyncError> {
  const error: unknown = await readDashboardBundle(dir).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof SyncError)) throw new Error(`expected a SyncError, got ${String(error)}`);
  return error;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the dashboard bundle', () => {
  it('is read from the bundle folder', async () => {
    const files = { 'dashboard.js': 'console.log(1);\n', 'dashboard.css': 'p{margin:0}\n' };
    expect(await readDashboardBundle(bundleDir(files))).toEqual({
      script: 'console.log(1);\n',
      styles: 'p{margin:0}\n',
    });
  });

  it('fails with a clear error naming the file and `npm run build` when missing', async () => {
    const error = await failureOf(bundleDir({ 'dashboard.css': 'p{margin:0}\n' }));
    expect(error.code).toBe('DASHBOARD_BUNDLE_MISSING');
    expect(error.message).toMatch(/bundle\/dashboard\.js is missing: run `npm run build`/);
  });

  it('fails rather than serve an empty page when the file is empty', async () => {
    const error = await failureOf(bundleDir({ 'dashboard.js': ' \n', 'dashboard.css': 'p{margin:0}\n' }));
    expect(error.code).toBe('DASHBOARD_BUNDLE_MISSING');
    expect(error.message).toMatch(/dashboard\.js is empty: run `npm run build`/);
  });

  it('exists next to the server module once the test setup built it from the client code', async () => {
    expect(dashboardBundleDir.pathname).toMatch(/\/src\/server\/dashboard\/bundle\/$/);
    const { script, styles } = await readDashboardBundle();
    // The entry's code and style sheet are there, and nothing of the server's is.
    expect(script).toContain('/api/status');
    expect(script).not.toMatch(/from ["'](node:|fastify|pg)/);
    expect(styles).toContain('.panel.unavailable');
  });
});
