import { ConnectorError, RemoteSetupError } from '../../core/errors.js';
import { parseAdobeErrorBody } from '../adobe/adobe-error-body.js';
import type { AdobeAnswer } from '../adobe/adobe-api-caller.js';
import { encodeSegment, shortRef, type CampaignApi } from './campaign-api.js';
import type { CampaignResourceRoots } from './campaign-resource-roots.js';
import type { CampaignCallOptions, CampaignRecord, CampaignWriteAck } from './campaign-types.js';
import { isRecord } from '../../core/json.js';

/**
 * Single records of any resource (profiles and custom resources), addressed by PKey or by their
 * identification-key value: read, create, update, delete.
 */
export class CampaignRecords {
  constructor(
    private readonly api: CampaignApi,
    private readonly roots: CampaignResourceRoots,
  ) {}

  /** A record by PKey, or null when Campaign answers 404 (missing or hidden). */
  getRecord(
    resource: string,
    pkey: string,
    options: CampaignCallOptions = {},
  ): Promise<CampaignRecord | null> {
    return this.getOne(resource, pkey, options);
  }

  /**
   * A record by its identification-key value (`GET …/<resource>/<key>`), or null. `keyField` names
   * the key for the message when Campaign cannot parse the key because it is not declared
   * (`CAMPAIGN_KEY_NOT_DECLARED`, a {@link RemoteSetupError}). @default 'externalId' for profiles
   */
  findByKey(
    resource: string,
    keyValue: string,
    options: CampaignCallOptions = {},
    keyField?: string,
  ): Promise<CampaignRecord | null> {
    if (keyValue === '' || keyValue.startsWith('@'))
      throw new RangeError('findByKey needs a non-empty key value that is not a PKey');
    return this.getOne(
      resource,
      keyValue,
      options,
      keyField ?? (resource === 'profile' ? 'externalId' : null),
    );
  }

  /** `POST`: returns the created record as Campaign echoes it (201). */
  async createRecord(
    resource: string,
    fields: Record<string, unknown>,
    options: CampaignCallOptions = {},
  ): Promise<CampaignRecord> {
    const root = await this.roots.rootOf(resource, options);
    const what = `POST ${resource}`;
    const answer = await this.api.send(
      'POST',
      `${this.api.base}/${root}/${resource}`,
      'insert',
      what,
      options,
      fields,
    );
    return this.api.recordOf(answer, what, resource, [201, 200]);
  }

  /** `PATCH` by PKey or identification-key value; returns `{PKey, href}`. */
  async updateRecord(
    resource: string,
    ref: string,
    fields: Record<string, unknown>,
    options: CampaignCallOptions = {},
  ): Promise<CampaignWriteAck> {
    const root = await this.roots.rootOf(resource, options);
    const what = `PATCH ${resource} ${shortRef(ref)}`;
    const answer = await this.api.send(
      'PATCH',
      `${this.api.base}/${root}/${resource}/${encodeSegment(ref)}`,
      'update',
      what,
      options,
      fields,
    );
    const body = this.api.bodyOf(answer, what, resource, [200]);
    if (!isRecord(body) || typeof body.PKey !== 'string')
      throw new ConnectorError(
        'campaign',
        'CAMPAIGN_BAD_RESPONSE',
        `Campaign ${what} answered 200 without a PKey`,
      );
    return { PKey: body.PKey, href: typeof body.href === 'string' ? body.href : '' };
  }

  /** `DELETE` by PKey or identification-key value. */
  async deleteRecord(resource: string, ref: string, options: CampaignCallOptions = {}): Promise<void> {
    const root = await this.roots.rootOf(resource, options);
    const what = `DELETE ${resource} ${shortRef(ref)}`;
    const answer = await this.api.send(
      'DELETE',
      `${this.api.base}/${root}/${resource}/${encodeSegment(ref)}`,
      'delete',
      what,
      options,
    );
    this.api.bodyOf(answer, what, resource, [200, 204]);
  }

  private async getOne(
    resource: string,
    ref: string,
    options: CampaignCallOptions,
    keyField: string | null = null,
  ): Promise<CampaignRecord | null> {
    const root = await this.roots.rootOf(resource, options);
    const what = `GET ${resource} ${shortRef(ref)}`;
    const answer = await this.api.send(
      'GET',
      `${this.api.base}/${root}/${resource}/${encodeSegment(ref)}`,
      'read',
      what,
      options,
    );
    if (answer.status === 404) return null;
    if (!ref.startsWith('@') && isKeyParseError(answer))
      throw keyNotDeclared(resource, keyField, `Campaign ${what} answered HTTP 500 (XTK-170036)`);
    return this.api.recordOf(answer, what, resource, [200]);
  }
}

/**
 * Campaign's answer when a URL segment that is not a PKey cannot be read as an identification-key
 * value: 500 with XTK-170036 ("Unable to parse expression"). Documented for malformed PKeys; for a
 * key value on a resource whose key is not declared it is our best guess (issue 18), so the
 * message alone ("Unable to parse expression") is recognised too.
 */
function isKeyParseError(answer: AdobeAnswer): boolean {
  if (answer.status !== 500) return false;
  const body = parseAdobeErrorBody(answer.text);
  return body.appCodes.includes('XTK-170036') || /unable to parse expression/i.test(body.message ?? '');
}

/** The setup error that names the key to declare and where (no key value in it). */
function keyNotDeclared(resource: string, keyField: string | null, answered: string): RemoteSetupError {
  const field = keyField === null ? 'its key column' : `'${keyField}'`;
  const where =
    resource === 'profile'
      ? `declare ${field} as an identification key of the Profiles & Services Ext extension (custom resource profileAndServicesExt, Identification keys)`
      : `declare ${field} as an identification key of custom resource '${resource}' (its "CRM ID" key, Identification keys)`;
  return new RemoteSetupError(
    'campaign',
    'CAMPAIGN_KEY_NOT_DECLARED',
    `${answered}: Campaign cannot read ${resource} records by their identification key ${field}, so it is not declared. In Campaign, ${where}, publish the custom resources, then resume the flow.`,
    { status: 500 },
  );
}
