import { buildDashboardBundle, dashboardBundleDirOf } from '../../scripts/dashboard-bundle.js';

/**
 * Vitest global setup: the server reads the dashboard's browser bundle when it starts, so every run
 * builds it first (into the git-ignored `src/server/dashboard/bundle/`) from the current client code.
 */
export default async function setup(): Promise<void> {
  await buildDashboardBundle(dashboardBundleDirOf('source'));
}
