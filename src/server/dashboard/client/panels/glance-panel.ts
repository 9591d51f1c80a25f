import { formatDuration, formatNumber, formatTime } from '../format.js';
import { findElement, setField } from '../dom.js';
import type { Panel } from './panel.js';

/** "At a glance": totals, lag and the Campaign call budget, all from the status. */
export function createGlancePanel(): Panel {
  const meter = findElement('#budget-day', HTMLMeterElement);
  return {
    showStatus(status) {
      setField(
        'throughput',
        formatNumber(status.throughput.recordsPerSecond),
        status.throughput.recordsPerSecond,
      );
      setField('backlog-queued', formatNumber(status.backlog.queued), status.backlog.queued);
      setField('backlog-leased', formatNumber(status.backlog.leased), status.backlog.leased);
      setField('synced', formatNumber(status.synced), status.synced);
      setField('retrying-total', formatNumber(status.retrying.total), status.retrying.total);
      setField('dead-letters-total', formatNumber(status.deadLetters.total), status.deadLetters.total);
      setField('parked-total', formatNumber(status.parked.total), status.parked.total);
      setField(
        'lag',
        status.lag ? `${formatDuration(status.lag.p50Ms)} / ${formatDuration(status.lag.p99Ms)}` : '—',
      );

      const b = status.budget;
      const perDay = (n: number | null): string => (n === null ? 'unlimited' : formatNumber(n));
      setField('budget-calls-today', formatNumber(b.callsToday), b.callsToday);
      setField('budget-calls-per-day', perDay(b.callsPerDay), b.callsPerDay);
      setField('budget-engine-calls-today', formatNumber(b.engineCallsToday), b.engineCallsToday);
      setField('budget-engine-calls-per-day', perDay(b.engineCallsPerDay), b.engineCallsPerDay);
      setField('budget-rate', formatNumber(b.currentCallsPerSecond), b.currentCallsPerSecond);
      setField('budget-rate-limit', formatNumber(b.callsPerSecondLimit), b.callsPerSecondLimit);
      setField('budget-waiting-live', formatNumber(b.waiting.live), b.waiting.live);
      setField('budget-waiting-bulk', formatNumber(b.waiting.bulk), b.waiting.bulk);
      setField('budget-rate-cuts', formatNumber(b.rateCuts), b.rateCuts);
      setField(
        'budget-trouble',
        b.lastTrouble ? `· last trouble ${formatTime(b.lastTrouble.at)}: ${b.lastTrouble.reason}` : '',
      );
      meter.value = b.callsPerDay ? Math.min(1, b.callsToday / b.callsPerDay) : 0;
      meter.textContent = b.callsPerDay
        ? `${Math.round((100 * b.callsToday) / b.callsPerDay)} %`
        : 'unlimited';
    },
  };
}
