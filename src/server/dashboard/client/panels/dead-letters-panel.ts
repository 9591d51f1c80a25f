import type { DeadLetterAction } from '../actions.js';
import type { DeadLetterListAnswer, DeadLetterView, StatusSnapshot } from '../api-types.js';
import { el, findElement, findElements, replaceRows, setField, targetOf } from '../dom.js';
import { formatError, formatNumber, formatTime } from '../format.js';
import { recordKeyLink } from '../record-link.js';
import type { Panel, PanelContext } from './panel.js';

const pageSize = 50;
/** A list not re-read for this long is re-read even when the total did not move. */
const maxListAgeMs = 30_000;
/** After a retry, how long the list is re-read on every refresh (see `act`). */
const followAfterActionMs = 20_000;

function letterRow(item: DeadLetterView): HTMLTableRowElement {
  return el(
    'tr',
    { 'data-id': item.id },
    el(
      'td',
      null,
      el('input', { type: 'checkbox', value: item.id, 'aria-label': `Select dead letter ${item.id}` }),
    ),
    el('td', { className: 'num', text: item.id }),
    el('td', { text: item.flow }),
    el('td', null, recordKeyLink(item.recordKey)),
    el('td', null, el('code', { text: item.code })),
    el('td', { className: 'reason', text: item.message }),
    el('td', { className: 'num', text: formatNumber(item.attempts) }),
    el('td', { text: formatTime(item.lastFailedAt) }),
    el(
      'td',
      { className: 'actions' },
      el('button', {
        type: 'button',
        'data-action': 'dl-retry',
        'data-id': item.id,
        'aria-label': `Retry dead letter ${item.id}`,
        text: 'Retry',
      }),
      el('button', {
        type: 'button',
        className: 'danger',
        'data-action': 'dl-discard',
        'data-id': item.id,
        'aria-label': `Discard dead letter ${item.id}`,
        text: 'Discard',
      }),
    ),
  );
}

/** Add an option for each value the select does not offer yet. */
function offerOptions(select: HTMLSelectElement, values: readonly string[]): void {
  const known = new Set([...select.options].map((option) => option.value));
  for (const value of values) {
    if (known.has(value)) continue;
    select.appendChild(el('option', { value, text: value }));
    known.add(value);
  }
}

/**
 * "Dead letters": server-side pages of 50 with search by record-key prefix and filters by flow and
 * code; Retry and Discard per row or for the selected rows. The list is re-read when the total
 * moves (or every 30 s), not on every refresh: a search over 100,000 dead letters is not free.
 */
export function createDeadLettersPanel({ api, actions, status, notify, confirm }: PanelContext): Panel {
  const table = findElement('#dead-letters', HTMLTableElement);
  const body = findElement('tbody', HTMLTableSectionElement, table);
  const selectAll = findElement('#dl-all', HTMLInputElement);
  const retrySelected = findElement('#dl-retry-selected', HTMLButtonElement);
  const discardSelected = findElement('#dl-discard-selected', HTMLButtonElement);
  const first = findElement('#dl-first', HTMLButtonElement);
  const previous = findElement('#dl-prev', HTMLButtonElement);
  const next = findElement('#dl-next', HTMLButtonElement);
  const search = findElement('#dl-search', HTMLFormElement);
  const keyInput = findElement('#dl-key', HTMLInputElement);
  const flowSelect = findElement('#dl-flow', HTMLSelectElement);
  const codeSelect = findElement('#dl-code', HTMLSelectElement);

  let filter = { key: '', flow: '', code: '' };
  let cursor: string | null = null;
  /** Cursors of the pages before this one. */
  let previousCursors: (string | null)[] = [];
  let nextCursor: string | null = null;
  let loadedAt = 0;
  let loadedTotal: number | null = null;
  let followUntil = 0;

  const selectedIds = (): string[] =>
    findElements('tbody input[type=checkbox]:checked', HTMLInputElement, table).map((box) => box.value);

  function updateBulkButtons(): void {
    const none = selectedIds().length === 0;
    retrySelected.disabled = none;
    discardSelected.disabled = none;
  }

  async function load(): Promise<void> {
    const key = filter.key.trim().toLowerCase();
    const total = status.latest?.deadLetters.total ?? null;
    const page = await api.get<DeadLetterListAnswer>('/api/dead-letters', {
      limit: pageSize,
      cursor,
      flow: filter.flow,
      code: filter.code,
      recordKey: key ? `${key}*` : '',
    });
    loadedAt = Date.now();
    loadedTotal = total;
    nextCursor = page.nextCursor;
    replaceRows(body, page.items.map(letterRow), { columns: 9, text: 'No dead letters match.' });
    setField('dl-page', `Page ${previousCursors.length + 1}`);
    setField(
      'dl-summary',
      `${formatNumber(page.total)}${page.total === 1 ? ' match' : ' matches'}`,
      page.total,
    );
    previous.disabled = previousCursors.length === 0;
    first.disabled = previousCursors.length === 0;
    next.disabled = !nextCursor;
    selectAll.checked = false;
    updateBulkButtons();
  }

  function reload(): void {
    load().catch((error: unknown) => notify(formatError(error), true));
  }

  /** Discarding loses the changes: ask first, naming how many and which keys. */
  async function confirmDiscard(ids: readonly string[]): Promise<boolean> {
    const keys = ids.map(
      (id) =>
        body.querySelector(`tr[data-id="${CSS.escape(id)}"] [data-field="record-key"]`)?.textContent ?? id,
    );
    const n = ids.length;
    const shown = keys.slice(0, 5).join(', ') + (keys.length > 5 ? ` and ${keys.length - 5} more` : '');
    return confirm({
      title: `Discard ${n} dead letter${n === 1 ? '' : 's'}?`,
      body: [
        `The failed change${n === 1 ? '' : 's'} of ${n} record${n === 1 ? '' : 's'} (${shown}) will not be retried: ` +
          'Campaign keeps what it has until the record changes again in Dynamics (or a replay).',
        'This cannot be undone.',
      ],
      confirmLabel: `Discard ${n} dead letter${n === 1 ? '' : 's'}`,
    });
  }

  async function act(action: DeadLetterAction, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    if (action === 'discard' && !(await confirmDiscard(ids))) {
      notify('Discard cancelled.');
      return;
    }
    try {
      const n = await actions.changeDeadLetters(action, ids);
      notify(`${action === 'retry' ? 'Retried' : 'Discarded'} ${n} dead letter${n === 1 ? '' : 's'}.`);
      // A retried letter may fail again within seconds with a new id while the total stays the
      // same: follow the list closely for a while instead of waiting for the total to move.
      followUntil = Date.now() + followAfterActionMs;
      await Promise.all([load(), status.refresh()]);
    } catch (error) {
      notify(formatError(error), true);
    }
  }

  table.addEventListener('click', (event) => {
    const button = targetOf(event)?.closest('button[data-action]');
    if (!button) return;
    const id = button.getAttribute('data-id') ?? '';
    void act(button.getAttribute('data-action') === 'dl-retry' ? 'retry' : 'discard', [id]);
  });
  table.addEventListener('change', (event) => {
    if (targetOf(event) === selectAll) {
      for (const box of findElements('tbody input[type=checkbox]', HTMLInputElement, table))
        box.checked = selectAll.checked;
    }
    updateBulkButtons();
  });
  retrySelected.addEventListener('click', () => void act('retry', selectedIds()));
  discardSelected.addEventListener('click', () => void act('discard', selectedIds()));
  search.addEventListener('submit', (event) => {
    event.preventDefault();
    filter = { key: keyInput.value, flow: flowSelect.value, code: codeSelect.value };
    cursor = null;
    previousCursors = [];
    reload();
  });
  next.addEventListener('click', () => {
    if (!nextCursor) return;
    previousCursors.push(cursor);
    cursor = nextCursor;
    reload();
  });
  previous.addEventListener('click', () => {
    if (previousCursors.length === 0) return;
    cursor = previousCursors.pop() ?? null;
    reload();
  });
  first.addEventListener('click', () => {
    cursor = null;
    previousCursors = [];
    reload();
  });

  return {
    showStatus(snapshot: StatusSnapshot) {
      const flows = snapshot.flows.map((flow) => flow.id);
      const codes = snapshot.deadLetters.byCode.map((row) => row.code);
      offerOptions(flowSelect, flows);
      offerOptions(codeSelect, codes);
    },
    async refresh(statusRead) {
      const { deadLetters } = await statusRead;
      const now = Date.now();
      const stale = loadedTotal !== deadLetters.total || now - loadedAt > maxListAgeMs || now < followUntil;
      // A selection in progress is not wiped.
      if (stale && selectedIds().length === 0) await load();
    },
  };
}
