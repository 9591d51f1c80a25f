import { isFlowAction, type FlowAction } from '../actions.js';
import type { FlowView, StatusSample } from '../api-types.js';
import { el, findElement, targetOf } from '../dom.js';
import { formatDuration, formatError, formatNumber } from '../format.js';
import { drawSparkline } from '../sparkline.js';
import type { Panel, PanelContext } from './panel.js';

type FlowSample = StatusSample['flows'][string];

function seriesOf(
  history: readonly StatusSample[],
  flowId: string,
  pick: (sample: FlowSample) => number,
): number[] {
  return history.map((sample) => {
    const flow = sample.flows[flowId];
    return flow ? pick(flow) : 0;
  });
}

function actionButton(label: string, flowId: string, action: FlowAction): HTMLButtonElement {
  return el('button', {
    type: 'button',
    'data-action': action,
    'data-flow': flowId,
    'aria-label': `${label} flow ${flowId}`,
    text: label,
  });
}

function flowRow(flow: FlowView, history: readonly StatusSample[]): HTMLTableRowElement {
  const state = flow.state === 'paused' ? `paused${flow.reason ? ` — ${flow.reason}` : ''}` : 'running';
  const count = (field: string, n: number): HTMLTableCellElement =>
    el('td', { 'data-field': field, 'data-value': n, className: 'num', text: formatNumber(n) });
  return el(
    'tr',
    { 'data-flow': flow.id },
    el('th', { scope: 'row', text: flow.id }),
    el('td', { text: flow.table }),
    el('td', { 'data-field': 'flow-state', className: `state ${flow.state}`, text: state }),
    el('td', {
      'data-field': 'flow-phase',
      text: flow.phase + (flow.replay ? ` + replay ${formatNumber(flow.replay.rows)}` : ''),
    }),
    count('flow-queued', flow.backlog.queued),
    count('flow-leased', flow.backlog.leased),
    el('td', { 'data-field': 'flow-lag', className: 'num', text: formatDuration(flow.lagMs) }),
    count('flow-retrying', flow.retrying),
    count('flow-dead-letters', flow.deadLetters),
    count('flow-parked', flow.parked),
    count('flow-synced', flow.synced),
    el(
      'td',
      null,
      drawSparkline(
        seriesOf(history, flow.id, (f) => f.queued + f.leased),
        `Backlog of ${flow.id}`,
      ),
    ),
    el(
      'td',
      null,
      drawSparkline(
        seriesOf(history, flow.id, (f) => f.lagMs ?? 0),
        `Lag of ${flow.id}`,
      ),
    ),
    el(
      'td',
      { className: 'actions' },
      flow.state === 'paused'
        ? actionButton('Resume', flow.id, 'resume')
        : actionButton('Pause', flow.id, 'pause'),
      actionButton('Replay', flow.id, 'replay'),
    ),
  );
}

/**
 * "Flows": state, phase, backlog, lag and counts per flow, one-hour sparklines, and Pause / Resume /
 * Replay. Resuming a flow the mass-change breaker paused asks whether to accept the mass change.
 */
export function createFlowsPanel({ actions, status, notify }: PanelContext): Panel {
  const table = findElement('#flows', HTMLTableElement);
  const body = findElement('tbody', HTMLTableSectionElement, table);

  async function act(flow: string, action: FlowAction): Promise<void> {
    const tripped = status.latest?.flows.some((f) => f.id === flow && f.breakerTripped) ?? false;
    const options =
      action === 'resume' && tripped
        ? {
            acceptMassChange: window.confirm(
              'The mass-change breaker paused this flow. Accept the mass change and resume?',
            ),
          }
        : {};
    try {
      await actions.changeFlow(flow, action, options);
      notify(`Flow ${flow}: ${action} done.`);
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
    showStatus(snapshot, history) {
      body.replaceChildren(...snapshot.flows.map((flow) => flowRow(flow, history)));
    },
  };
}
