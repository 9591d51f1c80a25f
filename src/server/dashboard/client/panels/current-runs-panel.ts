import { el, findElement, replaceRows } from '../dom.js';
import { formatTime } from '../format.js';
import { progressBar } from '../progress.js';
import type { Panel } from './panel.js';

/**
 * "Runs now": the run of each flow that has one (initial load, replay, re-baseline…) with its
 * progress bar, percent and ETA, from `flows[].run` of the status.
 */
export function createCurrentRunsPanel(): Panel {
  const body = findElement('#current-runs tbody', HTMLTableSectionElement);
  return {
    showStatus(status) {
      const rows = status.flows.flatMap((flow) =>
        flow.run
          ? [
              el(
                'tr',
                { 'data-flow': flow.id, 'data-run': flow.run.id },
                el('th', { scope: 'row', text: flow.id }),
                el('td', { text: flow.run.kind }),
                el('td', { text: `${flow.phase} · ${flow.run.phase}` }),
                el('td', { text: formatTime(flow.run.startedAt) }),
                el('td', { className: 'progress-cell' }, progressBar(flow.run)),
              ),
            ]
          : [],
      );
      replaceRows(body, rows, { columns: 5, text: 'No run in progress: every flow is live.' });
    },
  };
}
