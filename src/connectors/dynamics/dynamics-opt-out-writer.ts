import { ConnectorError } from '../../core/errors.js';
import { isDynamicsId } from '../../core/record-key.js';
import type {
  ContactOptOutState,
  ContactOptOutUpdate,
  ContactOptOutWriteResult,
  OptOutDynamicsWriter,
} from '../../core/ports/opt-out-dynamics-writer.js';
import type { DynamicsRecordWriter } from './dynamics-record-writer.js';
import type { DynamicsWebApiClient } from './dynamics-web-api-client.js';

export interface DynamicsOptOutWriterOptions {
  /** Entity set of the contact table, e.g. `contacts`. */
  entitySetName: string;
  /** Primary id column, e.g. `contactid`. */
  primaryIdAttribute: string;
  /** Contacts per read (one `$filter` of ids each). @default 50 */
  readChunkSize?: number | undefined;
  /** Updates per `$batch`. @default 100 */
  batchSize?: number | undefined;
}

function parseTime(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

function versionOf(value: unknown): string | null {
  return typeof value === 'number' || typeof value === 'string' ? String(value) : null;
}

/**
 * The {@link OptOutDynamicsWriter} over the Dataverse Web API: reads the opt-out columns of up to
 * `readChunkSize` contacts per request (`$filter=id eq … or …`) and writes batches of updates in
 * `$batch` requests (continue on error), each part with `If-Match` (never creating a contact) and
 * `Prefer: return=representation` so the row's new `versionnumber` comes back: the engine records
 * it to recognise its own write when change tracking returns it (echo suppression).
 */
export class DynamicsOptOutWriter implements OptOutDynamicsWriter {
  private readonly readChunkSize: number;
  private readonly batchSize: number;

  constructor(
    private readonly client: DynamicsWebApiClient,
    private readonly writer: DynamicsRecordWriter,
    private readonly options: DynamicsOptOutWriterOptions,
  ) {
    this.readChunkSize = options.readChunkSize ?? 50;
    this.batchSize = Math.min(options.batchSize ?? 100, 1000);
  }

  async readContacts(
    ids: readonly string[],
    columns: readonly string[],
  ): Promise<Map<string, ContactOptOutState>> {
    const { entitySetName, primaryIdAttribute } = this.options;
    const out = new Map<string, ContactOptOutState>();
    const wanted = [...new Set(ids.map((id) => id.toLowerCase()))];
    for (const id of wanted) {
      if (!isDynamicsId(id)) {
        throw new ConnectorError('dynamics', 'DYNAMICS_INVALID_ID', `"${id}" is not a Dataverse row id`);
      }
    }
    for (let start = 0; start < wanted.length; start += this.readChunkSize) {
      const chunk = wanted.slice(start, start + this.readChunkSize);
      let path: string | undefined = entitySetName;
      let query: Record<string, string> | undefined = {
        $select: [primaryIdAttribute, ...columns, 'modifiedon', 'versionnumber'].join(','),
        $filter: chunk.map((id) => `${primaryIdAttribute} eq ${id}`).join(' or '),
      };
      while (path !== undefined) {
        const response: {
          body: { value?: Record<string, unknown>[]; '@odata.nextLink'?: string } | undefined;
        } = await this.client.request({
          method: 'GET',
          path,
          ...(query ? { query } : {}),
          table: entitySetName,
        });
        for (const row of response.body?.value ?? []) {
          const rowId = row[primaryIdAttribute];
          if (typeof rowId !== 'string') continue;
          const values: Record<string, boolean | null> = {};
          for (const column of columns) {
            const value = row[column];
            values[column] = typeof value === 'boolean' ? value : null;
          }
          const etag = row['@odata.etag'];
          out.set(rowId.toLowerCase(), {
            id: rowId.toLowerCase(),
            values,
            modifiedOn: parseTime(row.modifiedon),
            etag: typeof etag === 'string' ? etag : null,
            version: versionOf(row.versionnumber),
          });
        }
        path = response.body?.['@odata.nextLink'];
        query = undefined;
      }
    }
    return out;
  }

  async writeContacts(updates: readonly ContactOptOutUpdate[]): Promise<ContactOptOutWriteResult[]> {
    const { entitySetName } = this.options;
    const results: ContactOptOutWriteResult[] = [];
    for (let start = 0; start < updates.length; start += this.batchSize) {
      const chunk = updates.slice(start, start + this.batchSize);
      const parts = await this.writer.executeBatch(
        chunk.map((update) => ({
          method: 'PATCH' as const,
          path: `${entitySetName}(${update.id})?$select=modifiedon,versionnumber`,
          headers: { 'If-Match': update.ifMatch ?? '*', Prefer: 'return=representation' },
          json: update.values,
        })),
        { continueOnError: true },
      );
      chunk.forEach((update, index) => {
        const part = parts[index];
        if (part?.ok) {
          const body = (part.body ?? {}) as Record<string, unknown>;
          results.push({
            id: update.id,
            outcome: 'ok',
            version: versionOf(body.versionnumber),
            modifiedOn: parseTime(body.modifiedon),
          });
        } else if (part?.status === 412) results.push({ id: update.id, outcome: 'conflict' });
        else if (part?.status === 404) results.push({ id: update.id, outcome: 'not-found' });
        else {
          const error = part?.error;
          results.push({
            id: update.id,
            outcome: 'failed',
            code: error?.code ?? 'DYNAMICS_BATCH_NOT_EXECUTED',
            message: error?.message ?? `update of ${update.id} was not executed`,
          });
        }
      });
    }
    return results;
  }
}
