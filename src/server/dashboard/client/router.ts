import { findElements } from './dom.js';
import { isViewName, type View } from './views/view.js';

/** `#/records?key=abc` → the view's name and its parameters; anything else is the overview. */
export function parseRoute(hash: string): { name: string; params: URLSearchParams } {
  const match = /^#\/([a-z-]+)(?:\?(.*))?$/.exec(hash);
  return match
    ? { name: match[1]!, params: new URLSearchParams(match[2] ?? '') }
    : { name: 'overview', params: new URLSearchParams() };
}

/**
 * Shows the view the address names (`#/runs`), so a view can be linked and reloaded: its
 * `<section data-view>` shown and the others hidden, its link in the navigation marked current.
 */
export class Router {
  private view: View;

  constructor(
    private readonly views: readonly View[],
    private readonly onChange: (view: View) => void,
  ) {
    this.view = views[0]!;
  }

  get current(): View {
    return this.view;
  }

  /** Show the view of the address now (without `onChange`), and follow the address from now on. */
  start(): void {
    window.addEventListener('hashchange', () => this.apply(true));
    this.apply(false);
  }

  private apply(announce: boolean): void {
    const route = parseRoute(window.location.hash);
    const name = isViewName(route.name) ? route.name : 'overview';
    this.view = this.views.find((v) => v.name === name) ?? this.views[0]!;
    for (const section of findElements('[data-view]', HTMLElement))
      section.hidden = section.getAttribute('data-view') !== this.view.name;
    for (const link of findElements('nav.views a[data-nav]', HTMLAnchorElement)) {
      if (link.getAttribute('data-nav') === this.view.name) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    document.title = `${this.view.title} — dcsync`;
    this.view.enter?.(route.params);
    if (announce) this.onChange(this.view);
  }
}
