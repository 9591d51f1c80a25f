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
  view: View;
  notify: Notify;
  /** @default 3000 */
  intervalMs?: number;
}

/**
 * Re-reads the status and every panel's data on a timer. A refresh still running when the next is
 * due is not doubled; a failed refresh is reported in the notice line and the next one tries again.
 */
export class RefreshLoop {
  private refreshing = false;

  constructor(private readonly options: RefreshLoopOptions) {
    options.status.onStatus((status, history) => {
      for (const panel of this.panels()) panel.showStatus?.(status, history);
    });
  }

  /** Refresh now, then every `intervalMs`. */
  start(): void {
    void this.refresh();
    window.setInterval(() => void this.refresh(), this.options.intervalMs ?? 3000);
  }

  async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const status = this.options.status.refresh();
      await Promise.all([status, ...this.panels().map((panel) => panel.refresh?.(status))]);
    } catch (error) {
      if (!(error instanceof SignedOutError))
        this.options.notify(`Refresh failed: ${formatError(error)}`, true);
    } finally {
      this.refreshing = false;
    }
  }

  private panels(): readonly Panel[] {
    return [...this.options.frame, ...this.options.view.panels];
  }
}
