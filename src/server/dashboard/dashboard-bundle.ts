import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { SyncError } from '../../core/errors.js';

/**
 * Where the dashboard's browser bundle lives: `bundle/` next to this module, so the same lookup
 * finds `dist/src/server/dashboard/bundle/` after `npm run build` and the git-ignored
 * `src/server/dashboard/bundle/` when the TypeScript runs directly (tests, `npm run dcsync`).
 * `scripts/dashboard-bundle.ts` builds it from `client/`.
 */
export const dashboardBundleDir: URL = new URL('./bundle/', import.meta.url);

/** The built browser assets, read once when the server starts. */
export interface DashboardBundle {
  /** `/assets/dashboard.js` */
  script: string;
  /** `/assets/dashboard.css` (no external fonts or assets) */
  styles: string;
}

/**
 * Read the built bundle. A missing or empty file fails the server's start rather than serving a
 * page that stays at "Loading…".
 *
 * @param dir the bundle folder; @default {@link dashboardBundleDir}
 * @throws SyncError `DASHBOARD_BUNDLE_MISSING` naming the file and the command that builds it
 */
export async function readDashboardBundle(dir: URL = dashboardBundleDir): Promise<DashboardBundle> {
  const [script, styles] = await Promise.all([
    readBundleFile(dir, 'dashboard.js'),
    readBundleFile(dir, 'dashboard.css'),
  ]);
  return { script, styles };
}

async function readBundleFile(dir: URL, name: string): Promise<string> {
  const path = fileURLToPath(new URL(name, dir));
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw missing(path, 'is missing', error);
  }
  if (text.trim() === '') throw missing(path, 'is empty');
  return text;
}

function missing(path: string, what: string, cause?: unknown): SyncError {
  return new SyncError(
    'DASHBOARD_BUNDLE_MISSING',
    `the dashboard's browser bundle ${path} ${what}: run \`npm run build\` ` +
      '(to run the TypeScript with tsx, `npm run build:dashboard`)',
    { cause },
  );
}
