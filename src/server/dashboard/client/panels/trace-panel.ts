import type { TraceAnswer, TraceMatch, TraceStep } from '../api-types.js';
import { el, findElement } from '../dom.js';
import { formatError, formatTime } from '../format.js';
import { traceHref } from '../record-link.js';
import type { Panel, PanelContext } from './panel.js';

/** A search shown is re-read at most this often while the view is open. */
const refreshEveryMs = 10_000;

function recordLink(flow: string, recordKey: string, suffix = ''): HTMLElement {
  return el(
    'span',
    { className: 'record-ref' },
    `${flow} / `,
    el('a', { href: traceHref(recordKey), 'data-key': recordKey }, el('code', { text: recordKey })),
    suffix,
  );
}

function stepItem(step: TraceStep): HTMLLIElement {
  const extra: string[] = [];
  if (step.fields && step.fields.length > 0) extra.push(`fields: ${step.fields.join(', ')}`);
  if (step.code) extra.push(`code ${step.code}`);
  if (step.campaignPKey) extra.push(`Campaign PKey ${step.campaignPKey}`);
  if (step.sourceVersion) extra.push(`version ${step.sourceVersion}`);
  return el(
    'li',
    { className: `step ${step.kind}`, 'data-kind': step.kind },
    el('time', { text: formatTime(step.at) }),
    el('strong', { text: step.kind }),
    el('span', { className: 'flow', text: step.flow }),
    el('span', { className: 'summary', text: step.summary }),
    extra.length > 0 ? el('small', { text: extra.join(' · ') }) : null,
  );
}

function matchCard(match: TraceMatch): HTMLElement {
  const steps = [...match.steps].sort((a, b) => b.at - a.at);
  return el(
    'article',
    { className: 'trace', 'data-flow': match.flow, 'data-key': match.recordKey },
    el(
      'h3',
      null,
      `${match.flow} / `,
      el('code', { text: match.recordKey }),
      el('span', { className: `state ${match.state}`, 'data-field': 'trace-state', text: ` ${match.state}` }),
    ),
    el(
      'dl',
      { className: 'trace-facts' },
      el('dt', { text: 'Campaign PKey' }),
      el('dd', null, match.campaignPKey ? el('code', { text: match.campaignPKey }) : '—'),
      el('dt', { text: 'Parent' }),
      el('dd', null, match.parent ? recordLink(match.parent.flow, match.parent.recordKey) : '—'),
      el('dt', { text: 'Children' }),
      el(
        'dd',
        null,
        match.children.length === 0
          ? '—'
          : el(
              'ul',
              { className: 'children' },
              ...match.children.map((c) => el('li', null, recordLink(c.flow, c.recordKey, ` (${c.state})`))),
            ),
      ),
    ),
    el(
      'ol',
      { className: 'timeline', 'aria-label': `Steps of ${match.recordKey}, newest first` },
      ...steps.map(stepItem),
    ),
    match.truncated ? el('p', { className: 'hint', text: 'Older steps are not shown.' }) : null,
  );
}

/**
 * "Records": search one record by Dynamics id or Campaign PKey (`GET /api/trace`) and show each
 * match's steps newest first, with links to its parent and children (a link searches again). The
 * search is in the address (`#/records?key=…`), so it can be linked and reloaded.
 */
export function createTracePanel({ api, notify }: PanelContext): Panel & {
  search(key: string): void;
} {
  const form = findElement('#trace-form', HTMLFormElement);
  const input = findElement('#trace-key', HTMLInputElement);
  const results = findElement('#trace-results', HTMLElement);
  let query = '';
  let loadedAt = 0;

  async function load(): Promise<void> {
    if (!query) {
      results.replaceChildren(
        el('p', { className: 'hint', text: 'Search a Dynamics id or a Campaign PKey to see its history.' }),
      );
      return;
    }
    const answer = await api.get<TraceAnswer>('/api/trace', { key: query });
    loadedAt = Date.now();
    results.setAttribute('data-query', answer.query);
    results.replaceChildren(
      ...(answer.matches.length === 0
        ? [el('p', { className: 'empty', text: `Nothing recorded for ${answer.query}.` })]
        : answer.matches.map(matchCard)),
    );
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    // The address holds the search: the router calls search() back.
    window.location.hash = key ? `#/records?key=${encodeURIComponent(key)}` : '#/records';
  });

  return {
    search(key: string) {
      query = key;
      input.value = key;
      load().catch((error: unknown) => notify(formatError(error), true));
    },
    async refresh() {
      if (query && Date.now() - loadedAt >= refreshEveryMs) await load();
    },
  };
}
