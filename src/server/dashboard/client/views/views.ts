import { createAlertsPanel } from '../panels/alerts-panel.js';
import { createChartsPanel } from '../panels/charts-panel.js';
import { createCurrentRunsPanel } from '../panels/current-runs-panel.js';
import { createDeadLettersPanel } from '../panels/dead-letters-panel.js';
import { createErrorCodesPanel } from '../panels/error-codes-panel.js';
import { createFlowsPanel } from '../panels/flows-panel.js';
import { createGlancePanel } from '../panels/glance-panel.js';
import { createJournalPanel } from '../panels/journal-panel.js';
import { createOptOutPanel } from '../panels/opt-out-panel.js';
import { createParkedPanel } from '../panels/parked-panel.js';
import type { PanelContext } from '../panels/panel.js';
import { createPrivacyPanel } from '../panels/privacy-panel.js';
import { createProblemsPanel } from '../panels/problems-panel.js';
import { createRetryingPanel } from '../panels/retrying-panel.js';
import { createRunsPanel } from '../panels/runs-panel.js';
import { createTracePanel } from '../panels/trace-panel.js';
import { createWorkersPanel } from '../panels/workers-panel.js';
import type { View } from './view.js';

/** Every view with its panels, in navigation order (a new view is one more entry). */
export function createViews(context: PanelContext): View[] {
  const trace = createTracePanel(context);
  return [
    {
      name: 'overview',
      title: 'Overview',
      panels: [createProblemsPanel(), createGlancePanel(), createCurrentRunsPanel(), createChartsPanel()],
      needsHistory: true,
    },
    {
      name: 'flows',
      title: 'Flows',
      panels: [createFlowsPanel(context), createWorkersPanel(), createJournalPanel()],
    },
    { name: 'runs', title: 'Runs', panels: [createRunsPanel(context)] },
    {
      name: 'records',
      title: 'Records',
      panels: [trace],
      enter: (params) => trace.search(params.get('key') ?? ''),
    },
    {
      name: 'dead-letters',
      title: 'Dead letters',
      panels: [createErrorCodesPanel(), createRetryingPanel(context), createDeadLettersPanel(context)],
    },
    {
      name: 'parked',
      title: 'Parked / orphans',
      panels: [createParkedPanel(context, 'orphan'), createParkedPanel(context, 'waiting')],
    },
    { name: 'opt-outs', title: 'Opt-outs', panels: [createOptOutPanel(context)] },
    { name: 'privacy', title: 'Privacy', panels: [createPrivacyPanel(context)] },
    { name: 'alerts', title: 'Alerts', panels: [createAlertsPanel(context)] },
  ];
}
