/**
 * The operator dashboard in the browser, bundled by `scripts/dashboard-bundle.ts` into
 * `/assets/dashboard.js` and `/assets/dashboard.css`. It fills the page the server renders
 * (`dashboard-page.ts`) from the same JSON API an operator's scripts use, and renders with
 * `textContent` only. Views are hash routes (`#/runs`), so each can be linked and reloaded.
 */
import './dashboard.css';
import { DashboardActions } from './actions.js';
import { ApiClient } from './api-client.js';
import { createConfirm } from './confirm-dialog.js';
import { createNotice } from './notice.js';
import { createOverallHeader } from './panels/overall-header.js';
import type { PanelContext } from './panels/panel.js';
import { RefreshLoop } from './refresh-loop.js';
import { Router } from './router.js';
import { StatusFeed } from './status-feed.js';
import { createViews } from './views/views.js';

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
const api = new ApiClient({ csrfToken, onSignedOut: () => window.location.assign('/login') });
const context: PanelContext = {
  api,
  actions: new DashboardActions(api),
  status: new StatusFeed(api),
  notify: createNotice(),
  confirm: createConfirm(),
};
const views = createViews(context);
let loop: RefreshLoop | null = null;
const router = new Router(views, () => void loop?.refresh());
loop = new RefreshLoop({
  status: context.status,
  frame: [createOverallHeader(context)],
  views,
  current: () => router.current,
  notify: context.notify,
});
router.start();
loop.start();
