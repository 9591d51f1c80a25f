import { ConnectorError } from '../../core/errors.js';
import type { JsonValue } from '../../core/json.js';
import type { DynamicsRow } from './dynamics-change-reader.js';
import { toDynamicsError } from './dynamics-errors.js';
import type { DynamicsWebApiClient } from './dynamics-web-api-client.js';
import { decodeBatchResponse, encodeBatch, type BatchOperation } from './odata-batch-codec.js';

/** The outcome of one operation of a `$batch`, by its index in the request. */
export interface BatchOperationResult {
  index: number;
  ok: boolean;
  /** HTTP status of the part; undefined when the part was never executed. */
  status: number | undefined;
  /** `OData-EntityId` of a create or update. */
  entityId: string | undefined;
  /** Parsed body (return=representation or GET). */
  body: unknown;
  /** Why it failed: the part's own error, `DYNAMICS_BATCH_ROLLED_BACK` or `DYNAMICS_BATCH_NOT_EXECUTED`. */
  error: ConnectorError | undefined;
}

export interface BatchOptions {
  /** Run all operations in one change set: all succeed or none is applied. @default false */
  atomic?: boolean;
  /** `Prefer: odata.continue-on-error`: later operations run after a failure. @default true */
  continueOnError?: boolean;
  /** Told how long the server took to answer the batch (ms, without the wait for a pacing slot). */
  onAnswered?: (elapsedMs: number) => void;
}

export interface RecordUpdate {
  id: string;
  /** Columns to set, by logical name; lookups as `<NavProp>@odata.bind`. */
  values: Record<string, JsonValue>;
  /** `W/"…"` for optimistic concurrency; default `*` (update only, never create). */
  ifMatch?: string;
}

const maxBatchSize = 1000;

function idFromEntityUrl(entityId: string | undefined): string | undefined {
  return entityId ? /\(([0-9a-fA-F-]{36})\)$/.exec(entityId)?.[1]?.toLowerCase() : undefined;
}

/**
 * Writes to Dataverse: update with ETag concurrency (never creating by accident), create, upsert,
 * delete, `$batch` with per-part results, and `DeleteRecordChangeHistory`.
 *
 * The client does not retry writes itself: a failed write surfaces as a typed error (429 with
 * `retryAfterMs`, 5xx/timeouts `retryable`), and the engine decides whether repeating it is safe
 * (updates with If-Match and deletes are idempotent; creates are retried as upserts by id). The
 * one exception is a 401, which the client replays once after refreshing the token, because the
 * server refused the request before running it.
 */
export class DynamicsRecordWriter {
  constructor(private readonly client: DynamicsWebApiClient) {}

  /** Read one record; undefined when it does not exist. */
  async getRecord(
    entitySetName: string,
    id: string,
    select?: readonly string[],
  ): Promise<DynamicsRow | undefined> {
    const response = await this.client.request<Record<string, JsonValue>>({
      method: 'GET',
      path: `${entitySetName}(${id})`,
      ...(select ? { query: { $select: select.join(',') } } : {}),
      acceptStatuses: [404],
    });
    if (response.status === 404 || !response.body) return undefined;
    const columns: Record<string, JsonValue> = {};
    for (const [name, value] of Object.entries(response.body)) if (!name.includes('@')) columns[name] = value;
    const etag = response.body['@odata.etag'];
    return {
      id: id.toLowerCase(),
      etag: typeof etag === 'string' ? etag : undefined,
      versionNumber: typeof columns.versionnumber === 'number' ? columns.versionnumber : undefined,
      modifiedOn: typeof columns.modifiedon === 'string' ? columns.modifiedon : undefined,
      columns,
    };
  }

  /** Create a record; returns its id. An id in `values` (the primary key) is honoured. */
  async createRecord(entitySetName: string, values: Record<string, JsonValue>): Promise<string> {
    const response = await this.client.request({ method: 'POST', path: entitySetName, json: values });
    const id = idFromEntityUrl(response.headers['odata-entityid']);
    if (!id) {
      throw new ConnectorError(
        'dynamics',
        'DYNAMICS_CREATE_UNCONFIRMED',
        `Create in ${entitySetName} answered without OData-EntityId`,
      );
    }
    return id;
  }

  /**
   * Update columns of an existing record. `ifMatch` defaults to `*` (404 when the record is gone,
   * never an accidental create); pass the row's etag for optimistic concurrency (412 when changed).
   */
  async updateRecord(
    entitySetName: string,
    id: string,
    values: Record<string, JsonValue>,
    options: { ifMatch?: string } = {},
  ): Promise<void> {
    await this.client.request({
      method: 'PATCH',
      path: `${entitySetName}(${id})`,
      json: values,
      headers: { 'if-match': options.ifMatch ?? '*' },
    });
  }

  /** Create or update by id (`createOnly` → `If-None-Match: *`, 412 when it exists). */
  async upsertRecord(
    entitySetName: string,
    id: string,
    values: Record<string, JsonValue>,
    options: { createOnly?: boolean } = {},
  ): Promise<void> {
    await this.client.request({
      method: 'PATCH',
      path: `${entitySetName}(${id})`,
      json: values,
      ...(options.createOnly ? { headers: { 'if-none-match': '*' } } : {}),
    });
  }

  /** Delete a record (optionally only at a given etag). */
  async deleteRecord(entitySetName: string, id: string, options: { ifMatch?: string } = {}): Promise<void> {
    await this.client.request({
      method: 'DELETE',
      path: `${entitySetName}(${id})`,
      ...(options.ifMatch ? { headers: { 'if-match': options.ifMatch } } : {}),
    });
  }

  /** Remove the audit history of one record (privacy deletes); returns the number of entries deleted. */
  async deleteRecordChangeHistory(
    logicalName: string,
    primaryIdAttribute: string,
    id: string,
  ): Promise<number> {
    const response = await this.client.request<{ DeletedEntriesCount?: number }>({
      method: 'POST',
      path: 'DeleteRecordChangeHistory',
      json: { Target: { '@odata.type': `Microsoft.Dynamics.CRM.${logicalName}`, [primaryIdAttribute]: id } },
    });
    return response.body?.DeletedEntriesCount ?? 0;
  }

  /** Run operations in one `$batch` (≤ 1,000) and report each operation's outcome. */
  async executeBatch(
    operations: readonly BatchOperation[],
    options: BatchOptions = {},
  ): Promise<BatchOperationResult[]> {
    if (operations.length === 0) return [];
    if (operations.length > maxBatchSize) {
      throw new ConnectorError(
        'dynamics',
        'DYNAMICS_BATCH_TOO_LARGE',
        `A $batch holds at most ${maxBatchSize} requests, got ${operations.length}`,
      );
    }
    const atomic = options.atomic ?? false;
    const continueOnError = options.continueOnError ?? true;
    const encoded = encodeBatch(atomic ? [operations] : operations);
    const response = await this.client.request<unknown>({
      method: 'POST',
      path: '$batch',
      rawBody: encoded.body,
      headers: {
        'content-type': encoded.contentType,
        ...(continueOnError ? { prefer: 'odata.continue-on-error' } : {}),
      },
      acceptStatuses: [400],
      operations: operations.length,
    });
    if (response.elapsedMs !== undefined) options.onAnswered?.(response.elapsedMs);
    const contentType = response.headers['content-type'];
    if (response.status === 400 && !/multipart\/mixed/i.test(contentType ?? '')) {
      throw toDynamicsError(400, response.body, { method: 'POST', resource: '$batch' }, undefined);
    }
    const parts = decodeBatchResponse(contentType, typeof response.body === 'string' ? response.body : '');
    return this.matchParts(operations, parts, atomic);
  }

  private matchParts(
    operations: readonly BatchOperation[],
    parts: ReturnType<typeof decodeBatchResponse>,
    atomic: boolean,
  ): BatchOperationResult[] {
    const describe = (operation: BatchOperation) => ({ method: operation.method, resource: operation.path });
    const results: BatchOperationResult[] = [];
    if (atomic && parts.length === 1 && operations.length > 1 && (parts[0]?.status ?? 0) >= 400) {
      // A failed change set answers with the one failing part; everything else was rolled back.
      const failure = parts[0]!;
      const failedIndex = failure.contentId !== undefined ? Number(failure.contentId) - 1 : 0;
      return operations.map((operation, index) => ({
        index,
        ok: false,
        status: index === failedIndex ? failure.status : undefined,
        entityId: undefined,
        body: index === failedIndex ? failure.body : undefined,
        error:
          index === failedIndex
            ? toDynamicsError(failure.status, failure.body, describe(operation), undefined)
            : new ConnectorError(
                'dynamics',
                'DYNAMICS_BATCH_ROLLED_BACK',
                `Batch operation ${index + 1} (${operation.method} ${operation.path}) was rolled back because operation ${failedIndex + 1} of its change set failed`,
              ),
      }));
    }
    operations.forEach((operation, index) => {
      const part = parts[index];
      if (!part) {
        results.push({
          index,
          ok: false,
          status: undefined,
          entityId: undefined,
          body: undefined,
          error: new ConnectorError(
            'dynamics',
            'DYNAMICS_BATCH_NOT_EXECUTED',
            `Batch operation ${index + 1} (${operation.method} ${operation.path}) was not executed because an earlier one failed`,
          ),
        });
        return;
      }
      const ok = part.status < 400;
      results.push({
        index,
        ok,
        status: part.status,
        entityId: part.headers['odata-entityid'],
        body: part.body,
        error: ok ? undefined : toDynamicsError(part.status, part.body, describe(operation), undefined),
      });
    });
    return results;
  }

  /**
   * Update many records through `$batch` (chunks of `batchSize`, default 100 — Microsoft advises
   * small batches), each with `If-Match` (`*` unless an etag is given).
   */
  async updateRecords(
    entitySetName: string,
    updates: readonly RecordUpdate[],
    options: BatchOptions & { batchSize?: number } = {},
  ): Promise<BatchOperationResult[]> {
    const batchSize = Math.min(options.batchSize ?? 100, maxBatchSize);
    const results: BatchOperationResult[] = [];
    for (let start = 0; start < updates.length; start += batchSize) {
      const chunk = updates.slice(start, start + batchSize);
      const chunkResults = await this.executeBatch(
        chunk.map((update) => ({
          method: 'PATCH' as const,
          path: `${entitySetName}(${update.id})`,
          headers: { 'If-Match': update.ifMatch ?? '*' },
          json: update.values,
        })),
        options,
      );
      results.push(...chunkResults.map((r) => ({ ...r, index: r.index + start })));
    }
    return results;
  }
}
