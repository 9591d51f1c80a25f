/**
 * `tsx scripts/build-dashboard.ts dist|source`: build the dashboard's browser bundle (see
 * `dashboard-bundle.ts`). `npm run build` runs it for `dist`, `npm run build:dashboard` for `source`.
 */
import { relative } from 'node:path';
import {
  buildDashboardBundle,
  dashboardBundleDirOf,
  dashboardBundleTargets,
  type DashboardBundleTarget,
} from './dashboard-bundle.js';

const target = process.argv[2];
if (!dashboardBundleTargets.includes(target as DashboardBundleTarget)) {
  console.error(`usage: tsx scripts/build-dashboard.ts ${dashboardBundleTargets.join('|')}`);
  process.exit(2);
}
try {
  const built = await buildDashboardBundle(dashboardBundleDirOf(target as DashboardBundleTarget));
  const files = built.files.map((file) => relative(process.cwd(), file)).join(', ');
  // stderr: `npm run dcsync` builds first, and its stdout belongs to the command.
  console.error(`dashboard bundle: ${files} (${(built.bytes / 1024).toFixed(1)} KiB)`);
} catch (error) {
  console.error(`dashboard bundle: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
