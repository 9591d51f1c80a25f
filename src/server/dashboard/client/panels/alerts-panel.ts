import type { AlertsAnswer } from '../api-types.js';
import { el, findElement, replaceRows } from '../dom.js';
import { formatTime } from '../format.js';
import type { Panel, PanelContext } from './panel.js';

const shown = 20;

/** "Recent alerts": the latest 20 alerts and how each was delivered. */
export function createAlertsPanel({ api }: PanelContext): Panel {
  const body = findElement('#alerts tbody', HTMLTableSectionElement);
  return {
    async refresh() {
      const answer = await api.get<AlertsAnswer>('/api/alerts');
      replaceRows(
        body,
        answer.items
          .slice(0, shown)
          .map((a) =>
            el(
              'tr',
              null,
              el('td', { text: formatTime(a.at) }),
              el('td', { className: `severity ${a.severity}`, text: a.severity }),
              el('td', { text: a.kind }),
              el('td', { text: a.subject }),
              el('td', { className: 'reason', text: a.message }),
              el('td', { text: a.delivery }),
            ),
          ),
        { columns: 6, text: 'No alerts since start.' },
      );
    },
  };
}
