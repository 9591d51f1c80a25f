import type { FlowView, StatusSnapshot } from '../api-types.js';
import { el, findElement, findElements, replaceRows, setField } from '../dom.js';
import { formatDuration, formatNumber, formatTime } from '../format.js';
import { showAvailability, type Panel } from './panel.js';

/** What an applied event counts as when it is not written (the outcomes of the flow's applier). */
const appliedSkips: readonly (readonly [
  outcome: keyof NonNullable<FlowView['processed']>,
  reason: string,
])[] = [
  ['skipped-foreign', 'foreign profile (not synced)'],
  ['tombstoned', 'contact privacy-deleted'],
  ['absent', 'contact deleted in Dynamics'],
  ['filtered', 'type switched off since staged'],
];

/** The first flow read from an event journal (F6), or undefined. */
function journalFlow(
  status: StatusSnapshot,
): (FlowView & { journal: NonNullable<FlowView['journal']> }) | undefined {
  return status.flows.find(
    (f): f is FlowView & { journal: NonNullable<FlowView['journal']> } => f.journal !== null,
  );
}

function skippedRow(reason: string, where: string, n: number): HTMLTableRowElement {
  return el(
    'tr',
    { 'data-reason': reason },
    el('td', { text: reason }),
    el('td', { text: where }),
    el('td', { className: 'num', 'data-field': 'count', 'data-value': n, text: formatNumber(n) }),
  );
}

/**
 * "E-mail events journal" (flow F6): what the journal read, staged and skipped by reason, the
 * activities written (and duplicates refused) by this process, the lag from an event's time to its
 * activity, the journal position's age, expiries and a replay in progress. Greyed out without such
 * a flow; the overview's card counts the activities written.
 */
export function createJournalPanel(): Panel {
  const section = findElement('#journal-panel', HTMLElement);
  const skipped = findElement('#journal-skipped tbody', HTMLTableSectionElement);
  return {
    showStatus(status) {
      const flow = journalFlow(status);
      showAvailability(section, flow !== undefined);
      for (const card of findElements('[data-journal-card]', HTMLElement)) card.hidden = flow === undefined;
      if (!flow) return;
      const j = flow.journal;
      const written = flow.processed?.created ?? 0;
      setField('journal-flow', `flow ${flow.id}`);
      setField('journal-read', formatNumber(j.read), j.read);
      setField('journal-staged', formatNumber(j.staged), j.staged);
      setField('journal-written', formatNumber(written), written);
      setField('activities-written', formatNumber(written), written);
      const duplicates = flow.processed?.unchanged ?? 0;
      setField('journal-duplicates', formatNumber(duplicates), duplicates);
      setField(
        'journal-lag',
        j.eventLag ? `${formatDuration(j.eventLag.p50Ms)} / ${formatDuration(j.eventLag.p99Ms)}` : '—',
      );
      setField('journal-position-age', formatDuration(j.positionAgeMs), j.positionAgeMs);
      setField('journal-expiries', formatNumber(j.expiries), j.expiries);
      setField('journal-read-at', formatTime(j.readAt));
      setField('journal-caught-up-at', formatTime(j.caughtUpAt));
      setField(
        'journal-replay',
        j.replay
          ? `· replay from ${formatTime(j.replay.since)}: ${formatNumber(j.replay.read)} read again, ${formatNumber(j.replay.staged)} staged, ${formatNumber(j.replay.before)} older than its date`
          : '',
      );
      const rows = [
        ...Object.entries(j.skipped).map(([reason, n]) => skippedRow(reason, 'journal (not staged)', n)),
        ...appliedSkips.flatMap(([outcome, reason]) => {
          const n = flow.processed?.[outcome] ?? 0;
          return n > 0 ? [skippedRow(reason, 'applied (this process)', n)] : [];
        }),
      ];
      replaceRows(skipped, rows, { columns: 3, text: 'Nothing skipped.' });
    },
  };
}
