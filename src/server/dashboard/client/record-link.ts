import { el } from './dom.js';

/** The Records view's address for a search by `key`. */
export function traceHref(key: string): string {
  return `#/records?key=${encodeURIComponent(key)}`;
}

/** A record key as code, linked to its trace in the Records view. */
export function recordKeyLink(key: string, field = 'record-key'): HTMLAnchorElement {
  return el(
    'a',
    { href: traceHref(key), title: `Trace record ${key}` },
    el('code', { 'data-field': field, text: key }),
  );
}
