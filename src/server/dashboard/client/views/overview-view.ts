import { createAlertsPanel } from '../panels/alerts-panel.js';
import { createDeadLettersPanel } from '../panels/dead-letters-panel.js';
import { createErrorCodesPanel } from '../panels/error-codes-panel.js';
import { createFlowsPanel } from '../panels/flows-panel.js';
import { createGlancePanel } from '../panels/glance-panel.js';
import { createOptOutPanel } from '../panels/opt-out-panel.js';
import { createParkedPanel } from '../panels/parked-panel.js';
import type { PanelContext } from '../panels/panel.js';
import { createPrivacyPanel } from '../panels/privacy-panel.js';
import type { View } from './view.js';

/** The overview: every panel of the page, in page order. */
export function createOverviewView(context: PanelContext): View {
  return {
    panels: [
      createGlancePanel(),
      createErrorCodesPanel(),
      createFlowsPanel(context),
      createDeadLettersPanel(context),
      createParkedPanel(context),
      createOptOutPanel(context),
      createPrivacyPanel(context),
      createAlertsPanel(context),
    ],
  };
}
