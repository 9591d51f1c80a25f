import type { ParkedItemWithState, ParkedListAnswer } from '../api-types.js';
import { el, findElement, replaceRows, setField } from '../dom.js';
import { formatError, formatNumber, formatTime } from '../format.js';
import { recordKeyLink } from '../record-link.js';
import type { Panel, PanelContext } from './panel.js';

const pageSize = 50;

/** Which parked list a panel shows: children waiting for a parent, or orphans (no parent in Dynamics). */
export type ParkedState = 'waiting' | 'orphan';

/**
 * "Parked children" (`state: 'waiting'`, released automatically) and "Orphans" (`'orphan'`: the
 * lookup is empty or out of scope — needs attention), each with the parent it names, in pages of
 * 50. A server whose `/api/parked` does not know `state` yet lists every parked child as waiting
 * and shows the orphan list as not available.
 */
export function createParkedPanel({ api, notify }: PanelContext, state: ParkedState): Panel {
  const prefix = state === 'waiting' ? 'parked' : 'orphans';
  const section = findElement(`#${prefix}-panel`, HTMLElement);
  const body = findElement(`#${prefix} tbody`, HTMLTableSectionElement);
  const next = findElement(`#${prefix}-next`, HTMLButtonElement);
  const first = findElement(`#${prefix}-first`, HTMLButtonElement);
  let cursor: string | null = null;
  let nextCursor: string | null = null;
  let pageNumber = 1;

  async function load(): Promise<void> {
    const page = await api.get<ParkedListAnswer>('/api/parked', { limit: pageSize, cursor, state });
    const items: ParkedItemWithState[] = page.items;
    const knowsState = items.length === 0 || items.some((item) => item.state !== undefined);
    section.classList.toggle('unavailable', state === 'orphan' && !knowsState);
    nextCursor = page.nextCursor;
    replaceRows(
      body,
      items
        .filter((item) => (item.state ?? 'waiting') === state)
        .map((item) =>
          el(
            'tr',
            { 'data-flow': item.flow, 'data-key': item.recordKey },
            el('td', { text: item.flow }),
            el('td', null, recordKeyLink(item.recordKey)),
            el('td', null, el('code', { text: `${item.parent.flow} / ${item.parent.recordKey}` })),
            el('td', { className: 'reason', text: item.reason }),
            el('td', { text: formatTime(item.parkedAt) }),
          ),
        ),
      { columns: 5, text: state === 'waiting' ? 'Nothing parked.' : 'No orphans.' },
    );
    const noun = state === 'waiting' ? 'parked' : 'orphans';
    setField(`${prefix}-page`, `Page ${pageNumber} · ${formatNumber(page.total)} ${noun}`, page.total);
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
