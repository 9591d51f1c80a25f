import type { OptOutDecisionView, OptOutFileView, Page } from '../api-types.js';
import { el, findElement, replaceRows, setField } from '../dom.js';
import { formatBytes, formatNumber, formatOptOut, formatTime } from '../format.js';
import { showAvailability, type Panel, type PanelContext } from './panel.js';

function decisionRow(d: OptOutDecisionView): HTMLTableRowElement {
  return el(
    'tr',
    null,
    el('td', { text: formatTime(d.at) }),
    el('td', null, el('code', { text: d.recordKey })),
    el('td', { text: `${d.dynamicsColumn} ↔ ${d.campaignAttribute}` }),
    el('td', { text: formatOptOut(d.dynamicsValue) }),
    el('td', { text: formatOptOut(d.campaignValue) }),
    el('td', { text: `${formatOptOut(d.winner)} (${d.winningSide})` }),
    el('td', { text: d.rule }),
    el('td', { text: d.source }),
  );
}

function fileRow(f: OptOutFileView): HTMLTableRowElement {
  return el(
    'tr',
    null,
    el('td', null, el('code', { text: f.name })),
    el('td', { className: 'num', text: formatBytes(f.sizeBytes) }),
    el('td', {
      text: f.errorCode ? `${f.state} (${f.errorCode})` : f.state,
      className: f.errorCode || f.quarantineOpen ? 'severity warning' : '',
    }),
    el('td', { className: 'num', text: formatNumber(f.rows) }),
    el('td', {
      className: 'num',
      text:
        formatNumber(f.quarantined) + (f.quarantineOpen ? ` (${formatNumber(f.quarantineOpen)} open)` : ''),
    }),
    el('td', { text: formatTime(f.processedAt) }),
  );
}

/**
 * "Opt-outs": the last export file and whether it is stale, SFTP usage against the quota, recent
 * decisions and the export files. Greyed out when opt-out tracking is not configured.
 */
export function createOptOutPanel({ api }: PanelContext): Panel {
  const section = findElement('#optout-panel', HTMLElement);
  const meter = findElement('#sftp-usage', HTMLMeterElement);
  const decisions = findElement('#optout-decisions tbody', HTMLTableSectionElement);
  const files = findElement('#sftp-files tbody', HTMLTableSectionElement);

  return {
    showStatus(status) {
      showAvailability(section, status.providers.optOut);
      const optOut = status.optOut;
      if (!optOut) return;
      const f = optOut.freshness;
      setField('optout-last-file', f ? formatTime(f.lastFileAt) : 'unknown');
      setField('optout-stale', f?.stale ? `(stale: nothing new within ${f.stalenessHours} h)` : '');
      const u = optOut.sftpUsage;
      if (u?.quotaBytes) {
        meter.value = Math.min(1, u.usedBytes / u.quotaBytes);
        setField(
          'sftp-usage',
          `${formatBytes(u.usedBytes)} of ${formatBytes(u.quotaBytes)} (${Math.round((100 * u.usedBytes) / u.quotaBytes)} %)`,
          u.usedBytes,
        );
      } else {
        meter.value = 0;
        setField('sftp-usage', u ? `${formatBytes(u.usedBytes)} (no quota configured)` : 'unknown');
      }
    },
    async refresh(statusRead) {
      if (!(await statusRead).providers.optOut) return;
      const [decisionPage, filePage] = await Promise.all([
        api.get<Page<OptOutDecisionView>>('/api/opt-out/decisions', { limit: 20 }),
        api.get<Page<OptOutFileView>>('/api/sftp/files', { limit: 20 }),
      ]);
      replaceRows(decisions, decisionPage.items.map(decisionRow), { columns: 8, text: 'No decisions yet.' });
      replaceRows(files, filePage.items.map(fileRow), { columns: 6, text: 'No export files seen yet.' });
    },
  };
}
