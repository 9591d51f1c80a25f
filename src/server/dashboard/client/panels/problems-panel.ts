import { el, findElement } from '../dom.js';
import { formatTime } from '../format.js';
import type { Panel } from './panel.js';

/** "Problems": each problem of the health model — what, how bad, since when, what to do. */
export function createProblemsPanel(): Panel {
  const list = findElement('#problems', HTMLUListElement);
  return {
    showStatus(status) {
      const details = status.overall.details;
      list.replaceChildren(
        ...(details.length === 0
          ? [el('li', { className: 'none', text: 'No problems: every check passes.' })]
          : details.map((p) =>
              el(
                'li',
                { className: `problem ${p.severity}`, 'data-kind': p.kind, 'data-subject': p.subject },
                el('strong', { className: `severity ${p.severity}`, text: p.severity }),
                ' ',
                el('span', { className: 'summary', text: p.summary }),
                el('small', { text: ` since ${formatTime(p.since)}` }),
                el('p', { className: 'detail', text: p.detail }),
              ),
            )),
      );
    },
  };
}
