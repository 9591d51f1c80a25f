import { runKinds, type RunDetail, type RunListAnswer, type RunView } from '../api-types.js';
import { el, findElement, replaceRows, targetOf } from '../dom.js';
import { createCursorPager } from '../cursor-pager.js';
import { formatDuration, formatError, formatNumber, formatTime } from '../format.js';
import { progressBar } from '../progress.js';
import type { Panel, PanelContext } from './panel.js';

const pageSize = 50;

function runRow(run: RunView): HTMLTableRowElement {
  const ended = run.endedAt === null ? 'running' : formatDuration(run.endedAt - run.startedAt);
  return el(
    'tr',
    { 'data-run': run.id, 'data-flow': run.flow },
    el('td', { text: formatTime(run.startedAt) }),
    el('td', { text: run.flow }),
    el('td', { 'data-field': 'run-kind', text: run.kind }),
    el('td', { text: run.trigger }),
    el('td', { 'data-field': 'run-outcome', className: `state ${run.outcome}`, text: run.outcome }),
    el('td', { className: 'progress-cell' }, progressBar(run)),
    el('td', { text: ended }),
    el(
      'td',
      { className: 'actions' },
      el('button', {
        type: 'button',
        className: 'secondary-light',
        'data-action': 'run-detail',
        'data-run': run.id,
        'aria-label': `Details of run ${run.id}`,
        text: 'Details',
      }),
    ),
  );
}

function countsList(run: RunView): HTMLDListElement {
  const c = run.counts;
  const pairs: [string, number][] = [
    ['Read', c.read],
    ['Created', c.created],
    ['Updated', c.updated],
    ['Adopted', c.adopted],
    ['Deleted', c.deleted],
    ['Unchanged', c.unchanged],
    ...Object.entries(c.skipped).map(([reason, n]): [string, number] => [`Skipped (${reason})`, n]),
    ['Parked', c.parked],
    ['Dead-lettered', c.deadLettered],
    ['Campaign calls', c.campaignCalls],
  ];
  return el(
    'dl',
    { className: 'counts' },
    ...pairs.map(([label, n]) =>
      el('div', null, el('dt', { text: label }), el('dd', { 'data-count': label, text: formatNumber(n) })),
    ),
  );
}

/**
 * "Runs": every initial load, replay, re-baseline, opt-out file, privacy request and bulk import,
 * newest first, by flow and kind; a run's detail shows its counts and events. A server without
 * `/api/runs` shows "not available".
 */
export function createRunsPanel({ api, notify }: PanelContext): Panel {
  const table = findElement('#runs', HTMLTableElement);
  const body = findElement('tbody', HTMLTableSectionElement, table);
  const flowSelect = findElement('#runs-flow', HTMLSelectElement);
  const kindSelect = findElement('#runs-kind', HTMLSelectElement);
  const next = findElement('#runs-next', HTMLButtonElement);
  const first = findElement('#runs-first', HTMLButtonElement);
  const detail = findElement('#run-detail', HTMLElement);
  for (const kind of runKinds) kindSelect.appendChild(el('option', { value: kind, text: kind }));

  const pager = createCursorPager({ first, next, load, notify });
  let openRun: string | null = null;

  async function loadDetail(id: string): Promise<void> {
    const run = await api.get<RunDetail>(`/api/runs/${encodeURIComponent(id)}`);
    detail.hidden = false;
    detail.setAttribute('data-run', run.id);
    detail.replaceChildren(
      el('h3', { text: `Run ${run.id}: ${run.kind} of ${run.flow} — ${run.outcome}` }),
      el('p', {
        text:
          `Started ${formatTime(run.startedAt)} by ${run.trigger}` +
          (run.endedAt === null ? ', running' : `, ended ${formatTime(run.endedAt)}`) +
          ` · phase ${run.phase}`,
      }),
      progressBar(run),
      countsList(run),
      el('h4', { text: 'Events' }),
      run.events.length === 0
        ? el('p', { className: 'hint', text: 'No events.' })
        : el(
            'ol',
            { className: 'events' },
            ...[...run.events]
              .sort((a, b) => b.at - a.at)
              .map((e) =>
                el(
                  'li',
                  null,
                  el('time', { text: formatTime(e.at) }),
                  ' ',
                  el('strong', { text: e.kind }),
                  e.detail ? ` — ${e.detail}` : '',
                ),
              ),
          ),
    );
  }

  async function load(): Promise<void> {
    const page = await api.get<RunListAnswer>('/api/runs', {
      limit: pageSize,
      cursor: pager.cursor,
      flow: flowSelect.value,
      kind: kindSelect.value,
    });
    replaceRows(body, page.items.map(runRow), { columns: 8, text: 'No runs recorded yet.' });
    pager.loaded(page.nextCursor);
    for (const row of body.querySelectorAll('tr[data-run]'))
      row.classList.toggle('selected', row.getAttribute('data-run') === openRun);
    const open = openRun === null ? undefined : page.items.find((r) => r.id === openRun);
    if (openRun !== null && (open === undefined || open.outcome === 'running')) await loadDetail(openRun);
  }

  flowSelect.addEventListener('change', () => pager.restart());
  kindSelect.addEventListener('change', () => pager.restart());
  table.addEventListener('click', (event) => {
    const id = targetOf(event)?.closest('button[data-action="run-detail"]')?.getAttribute('data-run');
    if (!id) return;
    openRun = id;
    loadDetail(id)
      .then(() => detail.scrollIntoView({ block: 'nearest' }))
      .catch((error: unknown) => notify(formatError(error), true));
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
