import { el, findElement, replaceRows } from '../dom.js';
import { formatNumber, formatTime } from '../format.js';
import type { Panel } from './panel.js';

/** A right-aligned count with its value for tests and sorting. */
function countCell(count: number): HTMLTableCellElement {
  return el('td', {
    className: 'num',
    'data-field': 'count',
    'data-value': count,
    text: formatNumber(count),
  });
}

/** "Errors by code": dead letters per flow and code, and the changes still retrying per last code. */
export function createErrorCodesPanel(): Panel {
  const codes = findElement('#codes tbody', HTMLTableSectionElement);
  const retrying = findElement('#retrying tbody', HTMLTableSectionElement);
  return {
    showStatus(status) {
      replaceRows(
        codes,
        status.deadLetters.byCode.map((row) =>
          el(
            'tr',
            { 'data-flow': row.flow, 'data-code': row.code },
            el('td', { text: row.flow }),
            el('td', null, el('code', { text: row.code })),
            countCell(row.count),
          ),
        ),
        { columns: 3, text: 'No dead letters.' },
      );
      replaceRows(
        retrying,
        status.retrying.byCode.map((row) =>
          el(
            'tr',
            { 'data-flow': row.flow, 'data-code': row.code },
            el('td', { text: row.flow }),
            el('td', null, el('code', { text: row.code })),
            countCell(row.count),
            el('td', {
              'data-field': 'oldest',
              text: row.oldestFailedAt === null ? '—' : formatTime(row.oldestFailedAt),
            }),
          ),
        ),
        { columns: 4, text: 'Nothing is waiting for a retry.' },
      );
    },
  };
}
