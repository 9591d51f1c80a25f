import type { ParkedListAnswer } from '../api-types.js';
import { el, findElement, replaceRows, setField } from '../dom.js';
import { formatError, formatNumber, formatTime } from '../format.js';
import type { Panel, PanelContext } from './panel.js';

const pageSize = 50;

/** "Parked children": each with its state (waiting, or orphan) and the parent it waits for, in pages of 50. */
export function createParkedPanel({ api, notify }: PanelContext): Panel {
  const body = findElement('#parked tbody', HTMLTableSectionElement);
  const next = findElement('#parked-next', HTMLButtonElement);
  const first = findElement('#parked-first', HTMLButtonElement);
  let cursor: string | null = null;
  let nextCursor: string | null = null;
  let pageNumber = 1;

  async function load(): Promise<void> {
    const page = await api.get<ParkedListAnswer>('/api/parked', { limit: pageSize, cursor });
    nextCursor = page.nextCursor;
    replaceRows(
      body,
      page.items.map((item) =>
        el(
          'tr',
          null,
          el('td', { text: item.flow }),
          el('td', null, el('code', { text: item.recordKey })),
          el('td', {
            className: `state ${item.state}`,
            text: item.state === 'orphan' ? 'orphan — no parent in Dynamics' : 'waiting',
          }),
          el('td', null, el('code', { text: `${item.parent.flow} / ${item.parent.recordKey}` })),
          el('td', { className: 'reason', text: item.reason }),
          el('td', { text: formatTime(item.parkedAt) }),
        ),
      ),
      { columns: 6, text: 'Nothing parked.' },
    );
    setField('parked-page', `Page ${pageNumber} · ${formatNumber(page.total)} parked`, page.total);
    next.disabled = !nextCursor;
    first.disabled = pageNumber === 1;
  }

  const reload = (): void => {
    load().catch((error: unknown) => notify(formatError(error), true));
  };
  next.addEventListener('click', () => {
    if (!nextCursor) return;
    cursor = nextCursor;
    pageNumber++;
    reload();
  });
  first.addEventListener('click', () => {
    cursor = null;
    pageNumber = 1;
    reload();
  });

  return { refresh: () => load() };
}
