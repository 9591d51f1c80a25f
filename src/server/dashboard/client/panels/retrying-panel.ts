import type { RetryingItemView, RetryingListAnswer } from '../api-types.js';
import { el, findElement, replaceRows, setField } from '../dom.js';
import { createCursorPager } from '../cursor-pager.js';
import { formatNumber, formatTime } from '../format.js';
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
  const pager = createCursorPager({ first, next, load, notify });

  async function load(): Promise<void> {
    const page = await api.get<RetryingListAnswer>('/api/retrying', {
      limit: pageSize,
      cursor: pager.cursor,
      flow: flowSelect.value,
    });
    replaceRows(body, page.items.map(retryingRow), {
      columns: 7,
      text: 'Nothing is waiting for a retry.',
    });
    setField('retrying-page', `Page ${pager.pageNumber} · ${formatNumber(page.total)} retrying`, page.total);
    pager.loaded(page.nextCursor);
  }
  flowSelect.addEventListener('change', () => pager.restart());

  return {
    showStatus(status) {
      const known = new Set([...flowSelect.options].map((o) => o.value));
      for (const flow of status.flows)
        if (!known.has(flow.id)) flowSelect.appendChild(el('option', { value: flow.id, text: flow.id }));
    },
    refresh: () => load(),
  };
}
