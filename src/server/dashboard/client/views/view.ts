import type { Panel } from '../panels/panel.js';

/**
 * What the dashboard shows at one time: a set of panels refreshed together. Today there is one
 * view, the overview; another view is one more module building its panels.
 */
export interface View {
  readonly panels: readonly Panel[];
}
