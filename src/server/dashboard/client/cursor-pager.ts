import { formatError } from './format.js';

/**
 * The paging state of a list read by cursor (`?cursor=…&limit=…`, answered with `nextCursor`):
 * "First page" and "Next page" buttons, the page number, and the reload that follows a filter
 * change. One per list panel.
 */
export interface CursorPager {
  /** The cursor of the page to read (null: the first page). */
  readonly cursor: string | null;
  readonly pageNumber: number;
  /** After a page was read: remember where the next one starts, and enable the buttons. */
  loaded(nextCursor: string | null): void;
  /** Read the current page again (errors go to the notice). */
  reload(): void;
  /** Back to the first page, and read it (a filter changed). */
  restart(): void;
}

export function createCursorPager(options: {
  first: HTMLButtonElement;
  next: HTMLButtonElement;
  load: () => Promise<void>;
  notify: (message: string, isError?: boolean) => void;
}): CursorPager {
  let cursor: string | null = null;
  let nextCursor: string | null = null;
  let pageNumber = 1;
  const pager: CursorPager = {
    get cursor() {
      return cursor;
    },
    get pageNumber() {
      return pageNumber;
    },
    loaded(next) {
      nextCursor = next;
      options.next.disabled = !nextCursor;
      options.first.disabled = pageNumber === 1;
    },
    reload() {
      options.load().catch((error: unknown) => options.notify(formatError(error), true));
    },
    restart() {
      cursor = null;
      pageNumber = 1;
      pager.reload();
    },
  };
  options.first.addEventListener('click', () => pager.restart());
  options.next.addEventListener('click', () => {
    if (!nextCursor) return;
    cursor = nextCursor;
    pageNumber++;
    pager.reload();
  });
  return pager;
}
