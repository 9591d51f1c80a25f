import { ConnectorError, RateLimitedError } from '../../core/errors.js';
import { isRecord } from '../../core/json.js';
import { parseAdobeErrorBody } from '../adobe/adobe-error-body.js';
import type { AdobeAnswer } from '../adobe/adobe-api-caller.js';
import { encodeSegment, type CampaignApi } from './campaign-api.js';
import { campaignErrorFromAnswer, redactCampaignMessage } from './campaign-error.js';
import type { CampaignCallOptions } from './campaign-types.js';

/** Commands of `POST /workflow/execution/{id}/commands` (controlling-a-workflow). */
export const campaignWorkflowCommands = ['start', 'pause', 'resume', 'stop'] as const;
export type CampaignWorkflowCommand = (typeof campaignWorkflowCommands)[number];

/** Largest signal payload Campaign accepts (triggering-a-signal-activity: "should not exceed 64Ko"). */
export const maxSignalPayloadBytes = 64 * 1024;

/** A declared parameter of an External signal activity, when the execution body lists them. */
export interface CampaignSignalParameter {
  name: string;
  type: string;
}

/** One activity of a workflow execution, as far as the body tells. */
export interface CampaignWorkflowActivity {
  /** Its key in `activities.activity` (`signal1`). */
  name: string;
  /** `signal` for External signal activities when the body says so; '' when it does not. */
  type: string;
  /** The activity's state when the body carries one (`waiting`, `importing`, `idle`…); ''. */
  state: string;
  /** `trigger.href`: only External signal activities have one (documented). */
  triggerHref: string | null;
  /** Declared parameters when the body lists them; empty otherwise. */
  parameters: CampaignSignalParameter[];
  /** The whole activity object, for fields this client does not interpret (the emulator's history). */
  raw: Record<string, unknown>;
}

/** `GET /workflow/execution/{id}`: documented are `PKey` and `activities.activity.<name>.trigger.href`. */
export interface CampaignWorkflowExecution {
  pkey: string;
  /** The workflow id as given, or as the body names it. */
  id: string;
  /** `state` when the body carries it (`started`, `paused`, `stopped`…); '' otherwise. */
  state: string;
  activities: CampaignWorkflowActivity[];
}

/** Body of a signal: `source` is mandatory; parameter values are strings, numbers, booleans or date-times. */
export interface CampaignSignalInput {
  source: string;
  parameters?: Record<string, string | number | boolean>;
}

/**
 * Campaign workflows through the REST API (managing-workflows): read an execution and its External
 * signal activities' trigger URLs, send `start`/`pause`/`resume`/`stop`, and trigger a signal with
 * parameters. Every call passes the call budget like any other Campaign call. A refused signal
 * becomes a typed error: `CAMPAIGN_SIGNAL_PARAMETERS` (undeclared parameter, wrong type, no source,
 * payload too big), `CAMPAIGN_WORKFLOW_NOT_STARTED`, `CAMPAIGN_SIGNAL_TOO_SOON` (the documented
 * 10-minute rule); anything else maps like other Campaign answers.
 */
export class CampaignWorkflows {
  constructor(private readonly api: CampaignApi) {}

  /** The execution of workflow `workflowId`; `CAMPAIGN_NOT_FOUND` when Campaign does not know it. */
  async getExecution(
    workflowId: string,
    options: CampaignCallOptions = {},
  ): Promise<CampaignWorkflowExecution> {
    const what = `GET workflow ${workflowId}`;
    const answer = await this.api.send(
      'GET',
      `${this.api.base}/workflow/execution/${encodeSegment(workflowId)}`,
      'read',
      what,
      options,
    );
    return toExecution(this.api.bodyOf(answer, what, 'workflow', [200]), workflowId, what);
  }

  /**
   * The trigger URL of the workflow's External signal activity named `activity`, or of its only
   * one when no name is given. `CAMPAIGN_SIGNAL_NOT_FOUND` when there is none (or several and no
   * name); the URL must be on Campaign's origin (`CAMPAIGN_UNSAFE_LINK`).
   */
  async signalTriggerUrl(
    workflowId: string,
    activity?: string,
    options: CampaignCallOptions = {},
  ): Promise<string> {
    const execution = await this.getExecution(workflowId, options);
    const signals = execution.activities.filter((a) => a.triggerHref !== null);
    const chosen =
      activity === undefined
        ? signals.length === 1
          ? signals[0]
          : undefined
        : signals.find((a) => a.name === activity);
    if (!chosen) {
      const found = signals.map((a) => a.name).join(', ') || 'none';
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_SIGNAL_NOT_FOUND',
        `Campaign workflow ${workflowId} has no External signal activity ${activity === undefined ? '(exactly one expected)' : `named '${activity}'`} with a trigger URL; found: ${found}`,
      );
    }
    return this.api.checkHref(chosen.triggerHref!);
  }

  /** `POST …/commands {"method": command}`. */
  async sendCommand(
    workflowId: string,
    command: CampaignWorkflowCommand,
    options: CampaignCallOptions = {},
  ): Promise<void> {
    const what = `POST workflow ${workflowId} ${command}`;
    const answer = await this.api.send(
      'POST',
      `${this.api.base}/workflow/execution/${encodeSegment(workflowId)}/commands`,
      'update',
      what,
      options,
      { method: command },
    );
    this.api.bodyOf(answer, what, 'workflow', [200, 204]);
  }

  /**
   * `POST <trigger URL> {source, parameters}`. The payload is checked against the documented 64 KB
   * before it is sent (`CAMPAIGN_SIGNAL_PARAMETERS`, no call spent).
   */
  async triggerSignal(
    triggerUrl: string,
    input: CampaignSignalInput,
    options: CampaignCallOptions = {},
  ): Promise<void> {
    const what = 'POST workflow signal';
    if (input.source.trim() === '')
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_SIGNAL_PARAMETERS',
        `Campaign ${what}: 'source' is mandatory`,
      );
    const body = {
      source: input.source,
      ...(input.parameters === undefined ? {} : { parameters: input.parameters }),
    };
    const size = Buffer.byteLength(JSON.stringify(body), 'utf8');
    if (size > maxSignalPayloadBytes)
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_SIGNAL_PARAMETERS',
        `Campaign ${what}: the payload is ${size} bytes, above the ${maxSignalPayloadBytes} bytes Campaign accepts`,
      );
    const answer = await this.api.send('POST', this.api.checkHref(triggerUrl), 'insert', what, options, body);
    if (answer.status === 200 || answer.status === 201 || answer.status === 204) return;
    throw signalErrorFromAnswer(answer, what);
  }
}

/**
 * A refused signal, by Campaign's reason. Only the undeclared-parameter text is documented
 * ("'x' parameter isn't defined in signal activity"); the others are recognised by their words
 * (not started / running, more often than / less than N minutes, type, source, 64).
 */
export function signalErrorFromAnswer(answer: AdobeAnswer, what: string): ConnectorError {
  // The failing expression is quoted in every refusal and names `parameters`; match the reason only.
  const message = (parseAdobeErrorBody(answer.text).message ?? '').replace(/'HandleTrigger\([^']*'/g, "''");
  const parameter = /'(\w{1,100})' parameter\b/.exec(message)?.[1];
  const reason = `${redactCampaignMessage(message)}${parameter === undefined ? '' : ` (parameter ${parameter})`}`;
  const base = `Campaign ${what} answered HTTP ${answer.status}`;
  if (
    answer.status >= 400 &&
    answer.status < 600 &&
    answer.status !== 401 &&
    answer.status !== 403 &&
    answer.status !== 404 &&
    answer.status !== 429
  ) {
    if (/less than .* ago|more often than|too (?:often|soon|frequent)/i.test(message))
      return new RateLimitedError(
        'campaign',
        `${base}: the workflow was signalled less than 10 minutes ago: ${reason}`,
        {
          code: 'CAMPAIGN_SIGNAL_TOO_SOON',
          status: answer.status,
        },
      );
    if (/not started|is (?:paused|stopped)|must be (?:already )?(?:running|started)/i.test(message))
      return new ConnectorError(
        'campaign',
        'CAMPAIGN_WORKFLOW_NOT_STARTED',
        `${base}: the workflow is not started: ${reason}`,
        {
          status: answer.status,
        },
      );
    if (/parameter|'source'|64\s?K/i.test(message))
      return new ConnectorError(
        'campaign',
        'CAMPAIGN_SIGNAL_PARAMETERS',
        `${base}: the signal does not match the activity: ${reason}`,
        {
          status: answer.status,
        },
      );
  }
  return campaignErrorFromAnswer(answer, what, false);
}

function toExecution(body: unknown, workflowId: string, what: string): CampaignWorkflowExecution {
  if (!isRecord(body) || typeof body.PKey !== 'string')
    throw new ConnectorError('campaign', 'CAMPAIGN_BAD_RESPONSE', `Campaign ${what} answered without a PKey`);
  const container = isRecord(body.activities) ? body.activities.activity : undefined;
  const activities: CampaignWorkflowActivity[] = [];
  if (isRecord(container)) {
    for (const [name, value] of Object.entries(container)) {
      if (!isRecord(value)) continue;
      const trigger =
        isRecord(value.trigger) && typeof value.trigger.href === 'string' ? value.trigger.href : null;
      const parameters = Array.isArray(value.parameters)
        ? value.parameters.flatMap((p) =>
            isRecord(p) && typeof p.name === 'string'
              ? [{ name: p.name, type: typeof p.type === 'string' ? p.type : '' }]
              : [],
          )
        : [];
      activities.push({
        name,
        type: typeof value.type === 'string' ? value.type : '',
        state: typeof value.state === 'string' ? value.state : '',
        triggerHref: trigger,
        parameters,
        raw: value,
      });
    }
  }
  return {
    pkey: body.PKey,
    id: typeof body.id === 'string' ? body.id : workflowId,
    state: typeof body.state === 'string' ? body.state : '',
    activities,
  };
}
