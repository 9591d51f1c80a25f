/**
 * The operator dashboard in the browser, bundled by `scripts/dashboard-bundle.ts` into
 * `/assets/dashboard.js` and `/assets/dashboard.css`. It fills the page the server renders
 * (`dashboard-page.ts`) from the same JSON API an operator's scripts use, and renders with
 * `textContent` only.
 */
import './dashboard.css';
import { DashboardActions } from './actions.js';
import { ApiClient } from './api-client.js';
import { createNotice } from './notice.js';
import { createOverallHeader } from './panels/overall-header.js';
import type { PanelContext } from './panels/panel.js';
import { RefreshLoop } from './refresh-loop.js';
import { StatusFeed } from './status-feed.js';
import { createOverviewView } from './views/overview-view.js';

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
const api = new ApiClient({ csrfToken, onSignedOut: () => window.location.assign('/login') });
const context: PanelContext = {
  api,
  actions: new DashboardActions(api),
  status: new StatusFeed(api),
  notify: createNotice(),
};
new RefreshLoop({
  status: context.status,
  frame: [createOverallHeader(context)],
  view: createOverviewView(context),
  notify: context.notify,
}).start();
