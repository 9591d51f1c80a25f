import type { RetryingItemView, RetryingListAnswer } from '../api-types.js';
import { el, findElement, replaceRows, setField } from '../dom.js';
import { formatError, formatNumber, formatTime } from '../format.js';
import { recordKeyLink } from '../record-link.js';
import type { Panel, PanelContext } from './panel.js';

const pageSize = 50;

function retryingRow(item: RetryingItemView): HTMLTableRowElement {
  return el(
    'tr',
    { 'data-flow': item.flow, 'data-key': item.recordKey },
    el('td', { text: item.flow }),
    el('td', null, recordKeyLink(item.recordKey)),
    el('td', null, el('code', { 'data-field': 'code', text: item.code })),
    el('td', { className: 'reason', text: item.message }),
    el('td', { className: 'num', 'data-field': 'attempts', text: formatNumber(item.attempts) }),
    el('td', { text: formatTime(item.firstFailedAt) }),
    el('td', {
      'data-field': 'next-attempt',
      text: item.nextAttemptAt === null ? 'trying now' : formatTime(item.nextAttemptAt),
    }),
  );
}

/**
 * "Retrying": each change that failed and waits for its next attempt (`GET /api/retrying`), with
 * its record key (linked to its trace), last error and when it is tried next; by flow, in pages.
 */
export function createRetryingPanel({ api, notify }: PanelContext): Panel {
  const body = findElement('#retrying-items tbody', HTMLTableSectionElement);
  const flowSelect = findElement('#retrying-flow', HTMLSelectElement);
  const next = findElement('#retrying-next', HTMLButtonElement);
  const first = findElement('#retrying-first', HTMLButtonElement);
  let cursor: string | null = null;
  let nextCursor: string | null = null;
  let pageNumber = 1;

  async function load(): Promise<void> {
    const page = await api.get<RetryingListAnswer>('/api/retrying', {
      limit: pageSize,
      cursor,
      flow: flowSelect.value,
    });
    nextCursor = page.nextCursor;
    replaceRows(body, page.items.map(retryingRow), {
      columns: 7,
      text: 'Nothing is waiting for a retry.',
    });
    setField('retrying-page', `Page ${pageNumber} · ${formatNumber(page.total)} retrying`, page.total);
    next.disabled = !nextCursor;
    first.disabled = pageNumber === 1;
  }
  const reload = (): void => {
    load().catch((error: unknown) => notify(formatError(error), true));
  };
  const restart = (): void => {
    cursor = null;
    pageNumber = 1;
    reload();
  };
  flowSelect.addEventListener('change', restart);
  first.addEventListener('click', restart);
  next.addEventListener('click', () => {
    if (!nextCursor) return;
    cursor = nextCursor;
    pageNumber++;
    reload();
  });

  return {
    showStatus(status) {
      const known = new Set([...flowSelect.options].map((o) => o.value));
      for (const flow of status.flows)
        if (!known.has(flow.id)) flowSelect.appendChild(el('option', { value: flow.id, text: flow.id }));
    },
    refresh: () => load(),
  };
}
