import { isFlowAction, type FlowAction } from '../actions.js';
import type { FlowView } from '../api-types.js';
import type { ConfirmRequest } from '../confirm-dialog.js';
import { el, findElement, targetOf } from '../dom.js';
import { formatDuration, formatError, formatNumber, formatTime } from '../format.js';
import { progressBar } from '../progress.js';
import type { Panel, PanelContext } from './panel.js';

function actionButton(label: string, flowId: string, action: FlowAction, danger = false): HTMLButtonElement {
  return el('button', {
    type: 'button',
    className: danger ? 'danger' : null,
    'data-action': action,
    'data-flow': flowId,
    'aria-label': `${label} flow ${flowId}`,
    text: label,
  });
}

/** The bulk lane in one line: files by state, rows, window and ETA. */
export function bulkLaneText(lane: NonNullable<FlowView['bulkLane']>): string {
  const parts = [lane.holding ? 'bulk lane: holds the bulk work' : 'bulk lane: idle'];
  for (const f of lane.files) parts.push(`${f.files} ${f.state} (${formatNumber(f.rows)} rows)`);
  if (lane.rowsQueued > 0) parts.push(`${formatNumber(lane.rowsQueued)} queued`);
  if (lane.window)
    parts.push(
      `window ${lane.window.from}–${lane.window.to} ${lane.window.timeZone} ${lane.window.open ? 'open' : `opens ${formatTime(lane.window.nextStartAt)}`}`,
    );
  if (lane.etaAt !== null) parts.push(`ETA ${formatTime(lane.etaAt)}`);
  return parts.join(' · ');
}

function flowRow(flow: FlowView): HTMLTableRowElement {
  const state = flow.state === 'paused' ? `paused${flow.reason ? ` — ${flow.reason}` : ''}` : 'running';
  const count = (field: string, n: number): HTMLTableCellElement =>
    el('td', { 'data-field': field, 'data-value': n, className: 'num', text: formatNumber(n) });
  // What the flow does (initial load, replay, re-baseline, live), and whether its run still reads.
  const phase = flow.run && flow.run.outcome === 'running' ? `${flow.phase} · ${flow.run.phase}` : flow.phase;
  return el(
    'tr',
    { 'data-flow': flow.id },
    el('th', { scope: 'row' }, el('span', { text: flow.id }), el('small', { text: flow.table })),
    el('td', { 'data-field': 'flow-state', className: `state ${flow.state}`, text: state }),
    el(
      'td',
      { 'data-field': 'flow-phase' },
      el('span', { text: phase }),
      flow.bulkLane ? el('small', { 'data-field': 'flow-bulk-lane', text: bulkLaneText(flow.bulkLane) }) : '',
    ),
    el('td', { className: 'progress-cell' }, flow.run ? progressBar(flow.run) : '—'),
    count('flow-queued', flow.backlog.queued),
    count('flow-leased', flow.backlog.leased),
    el('td', { 'data-field': 'flow-lag', className: 'num', text: formatDuration(flow.lagMs) }),
    count('flow-retrying', flow.retrying),
    count('flow-dead-letters', flow.deadLetters),
    count('flow-parked', flow.parked),
    count('flow-synced', flow.synced),
    el(
      'td',
      { className: 'actions' },
      flow.state === 'paused'
        ? actionButton('Resume', flow.id, 'resume')
        : actionButton('Pause', flow.id, 'pause'),
      actionButton('Replay', flow.id, 'replay', true),
    ),
  );
}

/** What a replay of `flow` will do, in words and numbers. */
export function replayQuestion(flow: FlowView): ConfirmRequest {
  if (flow.journal)
    return {
      title: `Replay flow ${flow.id}?`,
      body: [
        `The ${flow.table} is read again from its oldest retained event (up to 7 days back). ` +
          'An event whose activity is in Dynamics already is refused as a duplicate: nothing is written twice.',
        'Each event read again is a Dataverse request; live changes go first. From a date: dcsync replay --flow ' +
          `${flow.id} --since DATE.`,
      ],
      confirmLabel: 'Replay the journal',
    };
  const n = formatNumber(flow.synced);
  return {
    title: `Replay flow ${flow.id}?`,
    body: [
      `Every row of the Dynamics table ${flow.table} is read again and each record is re-sent to ` +
        `Campaign: about ${n} record${flow.synced === 1 ? '' : 's'} (the ${n} synced now, plus any not synced yet).`,
      'Each write is a Campaign call and counts against today’s call budget; live changes go first.',
    ],
    confirmLabel: `Replay ${n} records`,
  };
}

/**
 * "Flows": state, phase, the current run's progress, backlog, lag and counts per flow, and Pause /
 * Resume / Replay. A replay, and resuming a flow the mass-change breaker paused, ask first.
 */
export function createFlowsPanel({ actions, status, notify, confirm }: PanelContext): Panel {
  const table = findElement('#flows', HTMLTableElement);
  const body = findElement('tbody', HTMLTableSectionElement, table);

  async function act(flowId: string, action: FlowAction): Promise<void> {
    const flow = status.latest?.flows.find((f) => f.id === flowId);
    if (!flow) return;
    let options = {};
    if (action === 'replay' && !(await confirm(replayQuestion(flow)))) {
      notify(`Replay of ${flowId} cancelled.`);
      return;
    }
    if (action === 'resume' && flow.breakerTripped) {
      const accept = await confirm({
        title: `Resume flow ${flowId} and accept the mass change?`,
        body: [
          `The mass-change breaker paused this flow: ${flow.reason ?? 'a run changed more records than allowed'}.`,
          'Accepting lets the whole run reach Campaign. Cancel keeps the flow paused.',
        ],
        confirmLabel: 'Accept and resume',
      });
      if (!accept) return;
      options = { acceptMassChange: true };
    }
    try {
      await actions.changeFlow(flowId, action, options);
      notify(action === 'replay' ? `Flow ${flowId}: replay requested.` : `Flow ${flowId}: ${action} done.`);
      await status.refresh();
    } catch (error) {
      notify(formatError(error), true);
    }
  }

  table.addEventListener('click', (event) => {
    const button = targetOf(event)?.closest('button[data-action]');
    const flow = button?.getAttribute('data-flow');
    const action = button?.getAttribute('data-action') ?? null;
    if (flow && isFlowAction(action)) void act(flow, action);
  });

  return {
    showStatus(snapshot) {
      body.replaceChildren(...snapshot.flows.map(flowRow));
    },
  };
}
