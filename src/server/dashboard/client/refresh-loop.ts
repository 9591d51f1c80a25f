import { SignedOutError } from './api-client.js';
import { formatError } from './format.js';
import type { Notify } from './notice.js';
import type { Panel } from './panels/panel.js';
import type { StatusFeed } from './status-feed.js';
import type { View } from './views/view.js';

export interface RefreshLoopOptions {
  status: StatusFeed;
  /** Panels shown whatever the view (the header). */
  frame: readonly Panel[];
  /** Every view; each panel draws from every status read (no extra request). */
  views: readonly View[];
  /** The view shown now: only its panels re-read their own data. */
  current: () => View;
  notify: Notify;
  /** @default 3000 */
  intervalMs?: number;
}

/**
 * Re-reads the status (with `/api/history` when the view charts it) and the current view's data
 * on a timer. A refresh still running when the next is due is not doubled (one asked for meanwhile,
 * on a change of view, runs right after it); a failed refresh is reported in the notice line and
 * the next one tries again.
 */
export class RefreshLoop {
  private refreshing = false;
  private again = false;

  constructor(private readonly options: RefreshLoopOptions) {
    options.status.onStatus((status, history) => {
      for (const panel of this.allPanels()) panel.showStatus?.(status, history);
    });
  }

  /** Refresh now, then every `intervalMs`. */
  start(): void {
    void this.refresh();
    window.setInterval(() => void this.refresh(), this.options.intervalMs ?? 3000);
  }

  /** Refresh now (after the one running, if any). */
  async refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = true;
    try {
      const view = this.options.current();
      const status = this.options.status.refresh({ history: view.needsHistory ?? false });
      await Promise.all([
        status,
        ...[...this.options.frame, ...view.panels].map((panel) => panel.refresh?.(status)),
      ]);
    } catch (error) {
      if (!(error instanceof SignedOutError))
        this.options.notify(`Refresh failed: ${formatError(error)}`, true);
    } finally {
      this.refreshing = false;
    }
    if (this.again) {
      this.again = false;
      await this.refresh();
    }
  }

  private allPanels(): readonly Panel[] {
    return [...this.options.frame, ...this.options.views.flatMap((view) => view.panels)];
  }
}
