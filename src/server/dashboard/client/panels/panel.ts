import type { ApiClient } from '../api-client.js';
import type { DashboardActions } from '../actions.js';
import type { Confirm } from '../confirm-dialog.js';
import type { StatusSample, StatusSnapshot } from '../api-types.js';
import type { Notify } from '../notice.js';
import type { StatusFeed } from '../status-feed.js';

/**
 * One part of a view, bound to its section of the page. A panel draws what the status carries in
 * {@link Panel.showStatus}, and re-reads the lists it shows itself in {@link Panel.refresh}.
 */
export interface Panel {
  /** Draw from a status read (every refresh, and after an action re-reads the status). */
  showStatus?(status: StatusSnapshot, history: readonly StatusSample[]): void;
  /**
   * Re-read the panel's own data on each refresh. `status` settles once this refresh's status is
   * drawn: a panel that depends on it awaits it, the others start at once.
   */
  refresh?(status: Promise<StatusSnapshot>): Promise<void>;
}

/** What panels are built with. */
export interface PanelContext {
  api: ApiClient;
  actions: DashboardActions;
  status: StatusFeed;
  notify: Notify;
  /** Asks before a destructive action (replay, discard, privacy delete). */
  confirm: Confirm;
}

/** Grey out a panel whose feature is not configured (its routes answer 404 NOT_CONFIGURED). */
export function showAvailability(section: HTMLElement, available: boolean): void {
  section.classList.toggle('unavailable', !available);
  for (const part of section.querySelectorAll('.available'))
    part.setAttribute('aria-hidden', available ? 'false' : 'true');
}
