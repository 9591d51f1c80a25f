import type { Page, PrivacyRequestDetail, PrivacyRequestView } from '../api-types.js';
import { el, findElement, findElements, replaceRows } from '../dom.js';
import { formatError, formatTime } from '../format.js';
import { showAvailability, type Panel, type PanelContext } from './panel.js';

/**
 * "Privacy requests": the latest requests with their steps (read when a row is opened), and the
 * form that starts one. Greyed out when privacy requests are not configured.
 */
export function createPrivacyPanel({ api, actions, notify, confirm }: PanelContext): Panel {
  const section = findElement('#privacy-panel', HTMLElement);
  const table = findElement('#privacy-requests', HTMLTableElement);
  const body = findElement('tbody', HTMLTableSectionElement, table);
  const form = findElement('#privacy-form', HTMLFormElement);
  const contact = findElement('#privacy-contact', HTMLInputElement);
  const regulation = findElement('#privacy-regulation', HTMLSelectElement);

  async function loadSteps(id: string, details: HTMLDetailsElement): Promise<void> {
    try {
      const request = await api.get<PrivacyRequestDetail>(`/api/privacy/requests/${encodeURIComponent(id)}`);
      const list = findElement('ol', HTMLOListElement, details);
      list.replaceChildren(
        ...request.steps.map((s) =>
          el('li', {
            text: `${formatTime(s.at)} ${s.step}: ${s.outcome}${s.detail ? ` (${s.detail})` : ''}`,
          }),
        ),
      );
    } catch (error) {
      notify(formatError(error), true);
    }
  }

  function requestRow(r: PrivacyRequestView): HTMLTableRowElement {
    const details = el(
      'details',
      { 'data-id': r.id },
      el('summary', { text: 'Show steps' }),
      el('ol', { className: 'steps' }),
    );
    details.addEventListener('toggle', () => {
      if (details.open) void loadSteps(r.id, details);
    });
    return el(
      'tr',
      { 'data-id': r.id },
      el('td', null, el('code', { text: r.id })),
      el('td', null, el('code', { text: r.contactId })),
      el('td', { text: r.regulation }),
      el('td', { className: `state ${r.state}`, text: r.state + (r.error ? ` — ${r.error.code}` : '') }),
      el('td', {
        text: r.step + (r.nextPollAt !== null ? ` · next poll ${formatTime(r.nextPollAt)}` : ''),
      }),
      el('td', { text: formatTime(r.updatedAt) }),
      el('td', {
        'data-field': 'next-poll',
        text: r.nextPollAt === undefined ? 'not available' : formatTime(r.nextPollAt),
      }),
      el('td', null, details),
    );
  }

  /** The latest 20 requests; rows the operator opened stay open. */
  async function load(): Promise<void> {
    const page = await api.get<Page<PrivacyRequestView>>('/api/privacy/requests', { limit: 20 });
    const open = new Set(
      findElements('details[open]', HTMLDetailsElement, table).map((d) => d.getAttribute('data-id')),
    );
    replaceRows(body, page.items.map(requestRow), { columns: 8, text: 'No privacy requests.' });
    // Opened once in the page, so the toggle reads their steps again.
    for (const details of findElements('details', HTMLDetailsElement, body))
      if (open.has(details.getAttribute('data-id'))) details.open = true;
  }

  async function start(input: { contactId: string; regulation?: string }): Promise<void> {
    const law = input.regulation ? `${input.regulation.toUpperCase()} ` : '';
    const confirmed = await confirm({
      title: `Delete contact ${input.contactId} everywhere?`,
      body: [
        `A ${law}delete request for 1 contact (${input.contactId}): the sync holds it and its linked ` +
          'records, Adobe’s Privacy Service deletes its Campaign profile (and linked custom records), ' +
          'then the contact is deleted in Dynamics.',
        'This cannot be undone.',
      ],
      confirmLabel: 'Start delete request',
    });
    if (!confirmed) {
      notify('Delete request cancelled.');
      return;
    }
    await actions
      .startPrivacyRequest(input)
      .then((created) => {
        notify(`Privacy request ${created.id} started.`);
        contact.value = '';
        return load();
      })
      .catch((error: unknown) => notify(formatError(error), true));
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = regulation.value;
    void start({ contactId: contact.value.trim(), ...(chosen ? { regulation: chosen } : {}) });
  });

  return {
    showStatus(snapshot) {
      showAvailability(section, snapshot.providers.privacy);
    },
    async refresh(statusRead) {
      if ((await statusRead).providers.privacy) await load();
    },
  };
}
