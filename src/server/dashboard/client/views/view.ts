import type { Panel } from '../panels/panel.js';

/** The dashboard's views, in the order of the navigation bar; each is at `#/<name>`. */
export const viewNames = [
  'overview',
  'flows',
  'runs',
  'records',
  'dead-letters',
  'parked',
  'opt-outs',
  'privacy',
  'alerts',
] as const;
export type ViewName = (typeof viewNames)[number];

export function isViewName(value: string): value is ViewName {
  return viewNames.some((name) => name === value);
}

/**
 * What the dashboard shows at one time: the panels inside the page's `<section data-view="name">`.
 * Only the current view's panels re-read their data; all draw from the status the header polls.
 */
export interface View {
  readonly name: ViewName;
  /** The navigation label and the page title. */
  readonly title: string;
  readonly panels: readonly Panel[];
  /** Reads `/api/history` with the status (the charts). @default false */
  readonly needsHistory?: boolean;
  /** Called each time the view is shown, with the address's parameters (`#/records?key=…`). */
  enter?(params: URLSearchParams): void;
}
