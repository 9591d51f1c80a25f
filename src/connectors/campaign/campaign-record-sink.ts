import { SyncError } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import type {
  RecordSink,
  SinkCallOptions,
  SinkRecord,
  SinkWriteOutcome,
} from '../../core/ports/record-sink.js';
import type { CampaignClient } from './campaign-client.js';
import { CampaignDuplicateKeyError } from './campaign-error.js';

export interface CampaignRecordSinkOptions {
  /** `profile` or a custom resource (`cus…`). */
  resource: string;
  /** The field holding the Dynamics id: `externalId` for profiles, the "CRM ID" key column otherwise. */
  keyField: string;
  /**
   * How records are found by key: `customKey` (`GET …/<resource>/<key>`, needs the identification
   * key declared in Campaign) or a custom filter. @default 'customKey'
   */
  lookup?: 'customKey' | { filter: string; parameter: string };
  /**
   * The key field is a declared identification key (from `resourceType` metadata): Campaign
   * rejects a duplicate, so creates can skip the look-up. @default false
   */
  keyIsUnique?: boolean;
}

function isMissing(error: unknown): boolean {
  return (
    error instanceof SyncError &&
    (error.code === 'CAMPAIGN_NOT_FOUND' || error.code === 'CAMPAIGN_HIDDEN_OR_MISSING')
  );
}

/** The engine's {@link RecordSink} port over one Campaign resource. */
export class CampaignRecordSink implements RecordSink {
  readonly resource: string;
  readonly keyField: string;
  readonly keyIsUnique: boolean;

  constructor(
    private readonly client: CampaignClient,
    private readonly options: CampaignRecordSinkOptions,
  ) {
    this.resource = options.resource;
    this.keyField = options.keyField;
    this.keyIsUnique = options.keyIsUnique ?? false;
  }

  async findByKey(key: string, options: SinkCallOptions): Promise<SinkRecord | null> {
    const lookup = this.options.lookup ?? 'customKey';
    let record;
    if (lookup === 'customKey') {
      record = await this.client.findByKey(this.resource, key, { lane: options.lane }, this.keyField);
    } else {
      const page = await this.client.listPage(this.resource, {
        lane: options.lane,
        filter: lookup.filter,
        params: { [lookup.parameter]: key },
        lineCount: 2,
      });
      record = page.content[0] ?? null;
    }
    if (!record) return null;
    const { PKey, ...fields } = record;
    return { pkey: PKey, fields: fields as JsonObject };
  }

  async create(
    fields: JsonObject,
    options: SinkCallOptions,
  ): Promise<{ pkey: string } | { duplicate: true }> {
    try {
      const created = await this.client.createRecord(this.resource, fields, { lane: options.lane });
      return { pkey: created.PKey };
    } catch (error) {
      if (this.keyIsUnique && error instanceof CampaignDuplicateKeyError) return { duplicate: true };
      throw error;
    }
  }

  async update(pkey: string, fields: JsonObject, options: SinkCallOptions): Promise<SinkWriteOutcome> {
    try {
      await this.client.updateRecord(this.resource, pkey, fields, { lane: options.lane });
      return 'ok';
    } catch (error) {
      if (isMissing(error)) return 'not-found';
      throw error;
    }
  }

  async delete(pkey: string, options: SinkCallOptions): Promise<SinkWriteOutcome> {
    try {
      await this.client.deleteRecord(this.resource, pkey, { lane: options.lane });
      return 'ok';
    } catch (error) {
      if (isMissing(error)) return 'not-found';
      throw error;
    }
  }
}
