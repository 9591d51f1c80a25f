import type { ParkedListAnswer } from '../api-types.js';
import { createCursorPager } from '../cursor-pager.js';
import { el, findElement, replaceRows, setField } from '../dom.js';
import { formatNumber, formatTime } from '../format.js';
import { recordKeyLink } from '../record-link.js';
import type { Panel, PanelContext } from './panel.js';

const pageSize = 50;

/** Which parked list a panel shows: children waiting for a parent, or orphans (no parent in Dynamics). */
export type ParkedState = 'waiting' | 'orphan';

/**
 * "Parked children" (`state: 'waiting'`, released automatically) and "Orphans" (`'orphan'`: the
 * lookup is empty or out of scope — needs attention), each with the parent it names, in pages of
 * 50.
 */
export function createParkedPanel({ api, notify }: PanelContext, state: ParkedState): Panel {
  const prefix = state === 'waiting' ? 'parked' : 'orphans';
  const body = findElement(`#${prefix} tbody`, HTMLTableSectionElement);
  const next = findElement(`#${prefix}-next`, HTMLButtonElement);
  const first = findElement(`#${prefix}-first`, HTMLButtonElement);
  const pager = createCursorPager({ first, next, load, notify });

  async function load(): Promise<void> {
    const page = await api.get<ParkedListAnswer>('/api/parked', {
      limit: pageSize,
      cursor: pager.cursor,
      state,
    });
    replaceRows(
      body,
      page.items.map((item) =>
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
    setField(`${prefix}-page`, `Page ${pager.pageNumber} · ${formatNumber(page.total)} ${noun}`, page.total);
    pager.loaded(page.nextCursor);
  }

  return { refresh: () => load() };
}
