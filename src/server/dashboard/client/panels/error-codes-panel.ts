import { el, findElement, replaceRows } from '../dom.js';
import { formatNumber, formatTime } from '../format.js';
import type { Panel } from './panel.js';

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
            el('td', {
              className: 'num',
              'data-field': 'count',
              'data-value': row.count,
              text: formatNumber(row.count),
            }),
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
            el('td', {
              className: 'num',
              'data-field': 'count',
              'data-value': row.count,
              text: formatNumber(row.count),
            }),
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
