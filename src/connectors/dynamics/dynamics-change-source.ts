import {
  CURSOR_EXPIRED_CODE,
  CURSOR_REFUSED_CODE,
  type ChangeFeed,
  type ChangePage,
  type ReadChangesOptions,
} from '../../core/ports/change-feed.js';
import { dynamicsRecordKey } from '../../core/record-key.js';
import { SyncError } from '../../core/errors.js';
import { DeltaLinkRefusedError, DeltaTokenExpiredError } from './dynamics-errors.js';
import type { DynamicsChangeReader } from './dynamics-change-reader.js';
import type { DynamicsWebApiClient } from './dynamics-web-api-client.js';

export interface DynamicsChangeSourceOptions {
  /** Table logical name, e.g. `contact`. */
  table: string;
  /** Entity set name from metadata, e.g. `contacts`. */
  entitySetName: string;
  /** Primary id attribute from metadata, e.g. `contactid`. */
  primaryIdAttribute: string;
  /** Columns the flow reads (mapping, filter, lookups, opt-outs). */
  select: readonly string[];
  /** `odata.maxpagesize`. @default 5000 */
  pageSize?: number | undefined;
}

/**
 * The engine's {@link ChangeFeed} over one Dataverse table's change tracking: record keys are the
 * row ids in lower case, an expired delta link is the feed's expired cursor, and a delta link
 * refused with an unknown 4xx its refused cursor (both re-baseline).
 */
export class DynamicsChangeSource implements ChangeFeed {
  readonly table: string;

  constructor(
    private readonly reader: DynamicsChangeReader,
    private readonly client: DynamicsWebApiClient,
    private readonly options: DynamicsChangeSourceOptions,
  ) {
    this.table = options.table;
  }

  async *readChanges(link: string | null, options: ReadChangesOptions = {}): AsyncIterable<ChangePage> {
    try {
      yield* this.readPages(link, options.delta);
    } catch (error) {
      if (error instanceof DeltaTokenExpiredError)
        throw new SyncError(CURSOR_EXPIRED_CODE, `table ${this.table}: ${error.message}`, { cause: error });
      if (error instanceof DeltaLinkRefusedError)
        throw new SyncError(CURSOR_REFUSED_CODE, `table ${this.table}: ${error.message}`, { cause: error });
      throw error;
    }
  }

  private async *readPages(link: string | null, delta: boolean | undefined): AsyncIterable<ChangePage> {
    for await (const page of this.reader.readChanges({
      entitySetName: this.options.entitySetName,
      primaryIdAttribute: this.options.primaryIdAttribute,
      select: this.options.select,
      resumeLink: link ?? undefined,
      resumeIsDelta: delta,
      pageSize: this.options.pageSize,
    })) {
      yield {
        upserts: page.upserts.map((row) => ({
          id: dynamicsRecordKey(row.id),
          version: row.versionNumber === undefined ? null : String(row.versionNumber),
          modifiedOn: row.modifiedOn ?? null,
          values: row.columns,
        })),
        deletes: page.deletes.map(dynamicsRecordKey),
        resumeLink: page.resumeLink,
        isFinal: page.isFinal,
      };
    }
  }

  /**
   * Row count for progress and ETA. `$count` is capped at 5,000 by Dataverse, so a capped answer
   * means "at least 5,000" and is reported as unknown.
   */
  async estimateCount(): Promise<number | null> {
    try {
      const response = await this.client.request<unknown>({
        method: 'GET',
        path: `${this.options.entitySetName}/$count`,
        table: this.options.entitySetName,
      });
      const n = Number(typeof response.body === 'string' ? response.body : response.body);
      return Number.isFinite(n) && n < 5000 ? n : null;
    } catch {
      return null;
    }
  }
}
