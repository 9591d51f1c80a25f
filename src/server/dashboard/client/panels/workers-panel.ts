import { el, findElement, replaceRows } from '../dom.js';
import { formatNumber, formatTime } from '../format.js';
import type { StatusSnapshot } from '../api-types.js';
import type { Panel } from './panel.js';

type WorkerRow = StatusSnapshot['workers']['workers'][number];

function stateOf(worker: WorkerRow): string {
  if (worker.alive) return worker.state;
  return worker.state === 'stopped' ? 'stopped' : 'dead (no heartbeat)';
}

function budgetOf(worker: WorkerRow): string {
  const b = worker.budget?.campaignBudget;
  if (!b || typeof b !== 'object' || Array.isArray(b)) return '—';
  const rate = 'callsPerSecondLimit' in b ? b.callsPerSecondLimit : null;
  const today = 'callsToday' in b ? b.callsToday : null;
  return `${typeof rate === 'number' ? `${formatNumber(rate)}/s` : '—'} · ${typeof today === 'number' ? formatNumber(today) : '—'} today`;
}

/** "Workers": every `dcsync run` process on the store (dead ones marked), and who holds each duty. */
export function createWorkersPanel(): Panel {
  const workers = findElement('#workers tbody', HTMLTableSectionElement);
  const duties = findElement('#duties tbody', HTMLTableSectionElement);
  return {
    showStatus(status) {
      replaceRows(
        workers,
        status.workers.workers.map((w) =>
          el(
            'tr',
            { 'data-worker': w.id, 'data-state': stateOf(w), className: w.alive ? '' : 'dead' },
            el('td', null, el('code', { text: w.id }), el('small', { text: ` ${w.host}, pid ${w.pid}` })),
            el('td', { text: w.version }),
            el('td', { 'data-field': 'state', text: stateOf(w) }),
            el('td', { text: formatTime(w.startedAt) }),
            el('td', { text: formatTime(w.heartbeatAt) }),
            el('td', { 'data-field': 'duties', text: w.duties.length === 0 ? '—' : w.duties.join(', ') }),
            el('td', { className: 'num', 'data-field': 'leased', text: formatNumber(w.itemsLeased) }),
            el('td', { text: budgetOf(w) }),
          ),
        ),
        { columns: 8, text: 'No worker has reported to this store.' },
      );
      replaceRows(
        duties,
        status.workers.duties.map((d) =>
          el(
            'tr',
            { 'data-duty': d.name },
            el('td', null, el('code', { text: d.name })),
            el('td', {
              'data-field': 'holder',
              text: d.holder === null ? 'free' : `${d.holder}${d.holderAlive ? '' : ' (not reporting)'}`,
            }),
            el('td', { className: 'num', text: formatNumber(d.epoch) }),
          ),
        ),
        { columns: 3, text: 'No duty taken yet.' },
      );
    },
  };
}
