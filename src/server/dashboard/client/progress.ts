import type { RunView } from './api-types.js';
import { el } from './dom.js';
import { formatDuration, formatNumber } from './format.js';

/** The words of a run's progress: `42 % · 4,200 of 10,000 · 1,200/s · ETA 5.0 s`. */
export function progressText(run: RunView): string {
  const p = run.progress;
  const parts: string[] = [];
  if (p.percent !== null) parts.push(`${Math.floor(p.percent)} %`);
  parts.push(
    p.total === null
      ? `${formatNumber(p.done)} done`
      : `${formatNumber(p.done)} of ${formatNumber(p.total)}${p.totalSource === 'read' ? ' read so far' : ''}`,
  );
  if (p.ratePerSecond !== null) parts.push(`${formatNumber(p.ratePerSecond)}/s`);
  if (run.outcome === 'running' && p.etaMs !== null) parts.push(`ETA ${formatDuration(p.etaMs)}`);
  return parts.join(' · ');
}

/** A progress bar (indeterminate while the total is unknown) with its words. */
export function progressBar(run: RunView): HTMLElement {
  const bar = el('progress', {
    max: 100,
    'aria-label': `Progress of ${run.kind} run ${run.id} of ${run.flow}`,
  });
  if (run.progress.percent !== null) bar.value = Math.min(100, run.progress.percent);
  return el(
    'div',
    { className: 'progress', 'data-run': run.id, 'data-percent': run.progress.percent ?? '' },
    bar,
    el('span', { 'data-field': 'run-progress', text: progressText(run) }),
  );
}
