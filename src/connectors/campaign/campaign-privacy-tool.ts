import { ConnectorError } from '../../core/errors.js';
import { encodeSegment, shortRef, type CampaignApi } from './campaign-api.js';
import type {
  CampaignCallOptions,
  PrivacyToolRequestInput,
  PrivacyToolRequestState,
} from './campaign-types.js';
import { isRecord } from '../../core/json.js';

/** Campaign's own privacy tool (`/privacy/privacyTool`): create requests and follow their status. */
export class CampaignPrivacyTool {
  constructor(private readonly api: CampaignApi) {}

  async createRequest(
    input: PrivacyToolRequestInput,
    options: CampaignCallOptions = {},
  ): Promise<PrivacyToolRequestState> {
    const what = `POST privacyTool ${input.name}`;
    const answer = await this.api.send(
      'POST',
      `${this.api.base}/privacy/privacyTool`,
      'insert',
      what,
      options,
      {
        ...input,
        label: input.label ?? input.name,
      },
    );
    return toPrivacyState(this.api.bodyOf(answer, what, 'privacyTool', [200, 201]), what);
  }

  async getRequest(pkey: string, options: CampaignCallOptions = {}): Promise<PrivacyToolRequestState | null> {
    const what = `GET privacyTool ${shortRef(pkey)}`;
    const answer = await this.api.send(
      'GET',
      `${this.api.base}/privacy/privacyTool/${encodeSegment(pkey)}`,
      'read',
      what,
      options,
    );
    if (answer.status === 404) return null;
    return toPrivacyState(this.api.bodyOf(answer, what, 'privacyTool', [200]), what);
  }

  async listRequests(options: CampaignCallOptions = {}): Promise<PrivacyToolRequestState[]> {
    const out: PrivacyToolRequestState[] = [];
    let url: string | null = `${this.api.base}/privacy/privacyTool?_lineCount=100`;
    while (url !== null) {
      const what = 'GET privacyTool list';
      const body = this.api.bodyOf(
        await this.api.send('GET', url, 'read', what, options),
        what,
        'privacyTool',
        [200],
      );
      if (!isRecord(body) || !Array.isArray(body.content)) break;
      for (const item of body.content) out.push(toPrivacyState(item, what));
      url =
        isRecord(body.next) && typeof body.next.href === 'string' ? this.api.checkHref(body.next.href) : null;
    }
    return out;
  }
}

function toPrivacyState(body: unknown, what: string): PrivacyToolRequestState {
  if (!isRecord(body) || typeof body.PKey !== 'string' || typeof body.status !== 'string')
    throw new ConnectorError(
      'campaign',
      'CAMPAIGN_BAD_RESPONSE',
      `Campaign ${what} answered without PKey/status`,
    );
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    PKey: body.PKey,
    name: s(body.name),
    type: s(body.type),
    status: body.status,
    namespaceName: s(body.namespaceName),
    regulation: s(body.regulation),
    created: s(body.created),
    lastModified: s(body.lastModified),
  };
}
