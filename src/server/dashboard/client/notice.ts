import { findElement } from './dom.js';

/** Tells the operator what an action did, or why it failed. */
export type Notify = (text: string, isError?: boolean) => void;

/** A {@link Notify} writing into the page's `#notice` line (a polite live region). */
export function createNotice(): Notify {
  const node = findElement('#notice', HTMLElement);
  return (text, isError = false) => {
    node.textContent = text;
    node.className = isError ? 'notice error' : 'notice';
  };
}
