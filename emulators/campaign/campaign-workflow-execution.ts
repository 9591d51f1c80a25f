import type { CampaignSftpControls } from './campaign-sftp-adapter.js';
import { campaignErrors } from './campaign-wire-format.js';

/**
 * The id the emulator gives the opt-out export workflow (the one workflow it models). Real
 * workflow ids are whatever the tenant's workflow was given (`WKF…`); this one is our choice.
 */
export const optOutExportWorkflowId = 'WKF_OPTOUT_EXPORT';

const commands = ['start', 'pause', 'resume', 'stop'] as const;
type WorkflowCommand = (typeof commands)[number];

/**
 * `/workflow/execution/{workflowID}` (managing-workflows: controlling-a-workflow,
 * triggering-a-signal-activity) for the one workflow the emulator models, the SFTP opt-out export
 * (served when the emulator runs with `sftpPort`):
 * - `GET` → `{PKey, id, label, state, href, activities}`: `state` `started` or `stopped`; no
 *   External signal activities (`activities.activity` is empty). The body's shape is our guess:
 *   the documentation shows the request only.
 * - `POST …/commands {"method": "start"|"pause"|"resume"|"stop"}` → 200, empty body. `pause` stops
 *   and `resume` starts the schedule (the emulator has no paused state of its own).
 * Other ids answer the RST-360011 "Unable to find document" 404; without SFTP the whole endpoint
 * is unsupported (404), as before.
 */
export async function handleWorkflowExecution(
  workflow: CampaignSftpControls | null,
  method: string,
  rest: readonly string[],
  body: Record<string, unknown>,
  base: string,
  pkeyOf: (id: string) => string,
): Promise<{ status: number; body?: unknown }> {
  const path = `workflow/execution/${rest.join('/')}`;
  if (!workflow) throw campaignErrors.unsupportedEndpoint(path);
  const [id = '', sub, ...more] = rest;
  if (id !== optOutExportWorkflowId) throw campaignErrors.notFound('Workflow', 'xtk:workflow', id);
  if (method === 'GET' && sub === undefined) {
    return {
      status: 200,
      body: {
        PKey: pkeyOf(id),
        id,
        label: 'Opt-out export to SFTP',
        state: workflow.status().status === 'running' ? 'started' : 'stopped',
        href: `${base}/workflow/execution/${id}`,
        activities: { activity: {} },
      },
    };
  }
  if (method === 'POST' && sub === 'commands' && more.length === 0) {
    const command = body.method;
    if (typeof command !== 'string' || !(commands as readonly string[]).includes(command.toLowerCase()))
      throw campaignErrors.badRequest(`'method' must be one of ${commands.join(', ')}`);
    await apply(workflow, command.toLowerCase() as WorkflowCommand);
    return { status: 200 };
  }
  throw campaignErrors.unsupportedEndpoint(path);
}

async function apply(workflow: CampaignSftpControls, command: WorkflowCommand): Promise<void> {
  if (command === 'start' || command === 'resume') workflow.start();
  else await workflow.stop();
}
