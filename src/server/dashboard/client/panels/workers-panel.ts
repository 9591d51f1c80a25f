import { el, findElement, replaceRows } from '../dom.js';
import { formatNumber, formatTime } from '../format.js';
import type { StatusSnapshot } from '../api-types.js';
import type { Panel } from './panel.js';

type WorkerRow = StatusSnapshot['workers']['workers'][number];

function stateOf(worker: WorkerRow): string {
  if (worker.alive) return worker.state;
  return worker.state === 'stopped' ? 'stopped' : 'dead (no heartbeat)';
}

function numberIn(value: unknown, key: string): number | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'number' ? field : null;
}

/** The worker's slice of the shared call budget (its share of the rate), the deployment's day. */
function budgetOf(worker: WorkerRow): string {
  const b = worker.budget?.campaignBudget;
  if (!b || typeof b !== 'object' || Array.isArray(b)) return '—';
  const slice = 'slice' in b ? b.slice : null;
  const share = numberIn(slice, 'callsPerSecond');
  const rate = share ?? numberIn(b, 'callsPerSecondLimit');
  const today = numberIn(b, 'callsToday');
  const perDay = numberIn(b, 'callsPerDay');
  const shared = 'shared' in b ? b.shared : null;
  const spent =
    !!shared && typeof shared === 'object' && !Array.isArray(shared) && shared.dayExhausted === true;
  return (
    `${rate !== null ? `${formatNumber(rate)}/s${share !== null ? ' slice' : ''}` : '—'} · ` +
    `${today !== null ? formatNumber(today) : '—'}${perDay !== null ? `/${formatNumber(perDay)}` : ''} today` +
    (spent ? ' · day spent, waits for 00:00 UTC' : '')
  );
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
            el('td', { 'data-field': 'budget', text: budgetOf(w) }),
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
