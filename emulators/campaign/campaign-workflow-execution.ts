import type { CampaignSftpControls } from './campaign-sftp-adapter.js';
import { workflowCommands, type WorkflowCommand } from './campaign-workflow-model.js';
import type { CampaignWorkflows } from './campaign-workflows.js';
import { campaignErrors } from './campaign-wire-format.js';

/**
 * The id the emulator gives the opt-out export workflow. Real workflow ids are whatever the
 * tenant's workflow was given (`WKF…`); this one is our choice.
 */
export const optOutExportWorkflowId = 'WKF_OPTOUT_EXPORT';

/**
 * `/workflow/execution/{workflowID}` (managing-workflows: controlling-a-workflow,
 * triggering-a-signal-activity):
 * - the SFTP opt-out export (`WKF_OPTOUT_EXPORT`, served when the emulator runs with `sftpPort`):
 *   `GET` → `{PKey, id, label, state: started|stopped, href, activities}` without signal
 *   activities; `pause` stops and `resume` starts its schedule (it has no paused state of its own);
 * - the workflows declared by the seed or the admin API ({@link CampaignWorkflows}): `GET` by id
 *   or PKey with their External signal activity and its trigger URL, the commands, and
 *   `POST …/{PKey}/activities/activity/{PKey}/trigger` with `{source, parameters}`.
 * `POST …/commands {"method": "start"|"pause"|"resume"|"stop"}` → 200, empty body. Other ids
 * answer the RST-360011 "Unable to find document" 404.
 */
export async function handleWorkflowExecution(
  exportWorkflow: CampaignSftpControls | null,
  workflows: CampaignWorkflows,
  method: string,
  rest: readonly string[],
  body: Record<string, unknown>,
  base: string,
  pkeyOf: (id: string) => string,
): Promise<{ status: number; body?: unknown }> {
  const path = `workflow/execution/${rest.join('/')}`;
  const [id = '', sub, ...more] = rest;
  if (workflows.has(id)) {
    if (method === 'GET' && sub === undefined) return { status: 200, body: workflows.execution(id, base) };
    if (method === 'POST' && sub === 'commands' && more.length === 0) {
      workflows.command(id, commandOf(body));
      return { status: 200 };
    }
    if (
      method === 'POST' &&
      sub === 'activities' &&
      more[0] === 'activity' &&
      more[2] === 'trigger' &&
      more.length === 3
    )
      return { status: 200, body: workflows.trigger(id, more[1]!, body) };
    throw campaignErrors.unsupportedEndpoint(path);
  }
  if (id !== optOutExportWorkflowId || !exportWorkflow)
    throw campaignErrors.notFound('Workflow', 'xtk:workflow', id);
  if (method === 'GET' && sub === undefined) {
    return {
      status: 200,
      body: {
        PKey: pkeyOf(id),
        id,
        label: 'Opt-out export to SFTP',
        state: exportWorkflow.status().status === 'running' ? 'started' : 'stopped',
        href: `${base}/workflow/execution/${id}`,
        activities: { activity: {} },
      },
    };
  }
  if (method === 'POST' && sub === 'commands' && more.length === 0) {
    const command = commandOf(body);
    if (command === 'start' || command === 'resume') exportWorkflow.start();
    else await exportWorkflow.stop();
    return { status: 200 };
  }
  throw campaignErrors.unsupportedEndpoint(path);
}

function commandOf(body: Record<string, unknown>): WorkflowCommand {
  const command = body.method;
  const lower = typeof command === 'string' ? command.toLowerCase() : '';
  if (!(workflowCommands as readonly string[]).includes(lower))
    throw campaignErrors.badRequest(`'method' must be one of ${workflowCommands.join(', ')}`);
  return lower as WorkflowCommand;
}
