import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type { EmulatorClock } from '../../shared/emulator-clock.js';
import type { ChangeEvent, ChangeMessage, Row, RowValue } from '../store/dataverse-data-store.js';
import type { ColumnSchema, TableSchema } from '../schema/table-schema.js';

/** How the receiver authenticates the call (service endpoint `authtype`). */
export type WebhookAuth =
  | { type: 'WebhookKey'; key: string }
  | { type: 'HttpHeader'; headers: Record<string, string> }
  | { type: 'HttpQueryString'; parameters: Record<string, string> };

/** A service endpoint (contract 8) plus its step registrations, in one record. */
export interface WebhookRegistration {
  /** Receiver URL (http or https). */
  url: string;
  /** Table logical name the steps listen on. */
  table: string;
  messages: ChangeMessage[];
  auth: WebhookAuth;
  /** For Update: fire only when one of these columns was set. @default all */
  filteringAttributes?: string[] | undefined;
}

export interface WebhookAttempt {
  at: string;
  status: number | undefined;
  error: string | undefined;
}

export interface WebhookDelivery {
  id: string;
  webhookId: string;
  message: ChangeMessage;
  table: string;
  recordId: string;
  correlationId: string;
  attempts: WebhookAttempt[];
  outcome: 'pending' | 'succeeded' | 'failed';
}

export interface WebhookDispatcherOptions {
  organizationName: string;
  organizationId: string;
  businessUnitId: string;
  /** Receiver timeout. @default 60000 */
  timeoutMs: number;
  /** Payloads above this size lose images and input parameters. @default 262144 */
  maxPayloadBytes: number;
  /** Extra CA (PEM) to trust for https receivers. */
  receiverCaCert?: string | undefined;
  clock: EmulatorClock;
}

const retryStatuses = new Set([502, 503, 504]);
const contractNs = 'http://schemas.microsoft.com/xrm/2011/Contracts';

function msDate(ms: number): string {
  return `/Date(${ms})/`;
}

/**
 * Delivers the `RemoteExecutionContext` of committed writes to registered webhooks, the way an
 * asynchronous post-operation step does: after the write, never blocking it, 60 s timeout, one
 * retry on 502/503/504, any other non-2xx is a failure.
 */
export class WebhookDispatcher {
  private readonly registrations = new Map<string, WebhookRegistration & { stepId: string }>();
  private readonly log: WebhookDelivery[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly agent: Agent;
  private closed = false;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.agent = new Agent({
      connect: options.receiverCaCert ? { ca: options.receiverCaCert } : {},
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  register(registration: WebhookRegistration): string {
    const id = randomUUID();
    this.registrations.set(id, { ...registration, stepId: randomUUID() });
    return id;
  }

  unregister(id: string): boolean {
    return this.registrations.delete(id);
  }

  list(): (WebhookRegistration & { id: string })[] {
    return [...this.registrations].map(([id, r]) => ({
      id,
      url: r.url,
      table: r.table,
      messages: r.messages,
      auth: { type: r.auth.type } as WebhookAuth,
      filteringAttributes: r.filteringAttributes,
    }));
  }

  deliveries(): WebhookDelivery[] {
    return this.log.map((d) => ({ ...d, attempts: [...d.attempts] }));
  }

  clear(): void {
    this.registrations.clear();
    this.log.length = 0;
  }

  /** Resolves once every delivery started so far has finished (including its retry). */
  async waitForIdle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Store listener: fan a committed write out to the matching registrations. */
  handle(event: ChangeEvent): void {
    if (this.closed) return;
    for (const [id, registration] of this.registrations) {
      if (registration.table !== event.table.logicalName || !registration.messages.includes(event.message))
        continue;
      if (
        event.message === 'Update' &&
        registration.filteringAttributes &&
        !registration.filteringAttributes.some((a) => event.changedColumns.includes(a))
      ) {
        continue;
      }
      const promise = this.deliver(id, registration, event).finally(() => this.inFlight.delete(promise));
      this.inFlight.add(promise);
    }
  }

  private async deliver(
    webhookId: string,
    registration: WebhookRegistration & { stepId: string },
    event: ChangeEvent,
  ): Promise<void> {
    const correlationId = event.context.correlationId ?? randomUUID();
    const delivery: WebhookDelivery = {
      id: randomUUID(),
      webhookId,
      message: event.message,
      table: event.table.logicalName,
      recordId: event.id,
      correlationId,
      attempts: [],
      outcome: 'pending',
    };
    this.log.push(delivery);
    if (this.log.length > 10_000) this.log.shift();
    let body = JSON.stringify(this.executionContext(registration, event, correlationId, false));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-ms-dynamics-organization': this.options.organizationName,
      'x-ms-dynamics-entity-name': event.table.logicalName,
      'x-ms-dynamics-request-name': event.message,
      'x-ms-correlation-request-id': correlationId,
    };
    if (Buffer.byteLength(body) > this.options.maxPayloadBytes) {
      body = JSON.stringify(this.executionContext(registration, event, correlationId, true));
      headers['x-ms-dynamics-msg-size-exceeded'] = 'true';
    }
    const url = new URL(registration.url);
    const auth = registration.auth;
    if (auth.type === 'WebhookKey') url.searchParams.set('code', auth.key);
    else if (auth.type === 'HttpQueryString') {
      for (const [k, v] of Object.entries(auth.parameters)) url.searchParams.set(k, v);
    } else {
      for (const [k, v] of Object.entries(auth.headers)) headers[k.toLowerCase()] = v;
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.closed) break;
      const record: WebhookAttempt = {
        at: new Date(this.options.clock.now()).toISOString(),
        status: undefined,
        error: undefined,
      };
      delivery.attempts.push(record);
      try {
        const response = await request(url, {
          method: 'POST',
          headers,
          body,
          dispatcher: this.agent,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        await response.body.dump();
        record.status = response.statusCode;
        if (response.statusCode >= 200 && response.statusCode < 300) {
          delivery.outcome = 'succeeded';
          return;
        }
        if (!retryStatuses.has(response.statusCode)) break;
      } catch (error) {
        record.error = error instanceof Error ? error.name : 'Error';
        break;
      }
    }
    delivery.outcome = 'failed';
  }

  private attributeValue(column: ColumnSchema | undefined, value: RowValue): unknown {
    if (value === null || !column) return value;
    switch (column.type) {
      case 'lookup':
        return {
          __type: `EntityReference:${contractNs}`,
          Id: value,
          KeyAttributes: [],
          LogicalName: column.target,
          Name: null,
          RowVersion: null,
        };
      case 'picklist':
      case 'state':
      case 'status':
        return { __type: `OptionSetValue:${contractNs}`, Value: value };
      case 'multiselectpicklist':
        return String(value)
          .split(',')
          .map((v) => ({ __type: `OptionSetValue:${contractNs}`, Value: Number(v) }));
      case 'money':
        return { __type: `Money:${contractNs}`, Value: value };
      case 'datetime':
      case 'dateonly':
        return msDate(Date.parse(String(value)));
      default:
        return value;
    }
  }

  private entity(
    table: TableSchema,
    row: Row,
    columns: readonly string[],
    id: string,
  ): Record<string, unknown> {
    const byName = new Map(table.columns.map((c) => [c.logicalName, c]));
    return {
      __type: `Entity:${contractNs}`,
      Attributes: columns.map((name) => ({
        key: name,
        value: this.attributeValue(byName.get(name), row[name] ?? null),
      })),
      EntityState: null,
      FormattedValues: [],
      Id: id,
      KeyAttributes: [],
      LogicalName: table.logicalName,
      RelatedEntities: [],
      RowVersion:
        row.versionnumber === null || row.versionnumber === undefined ? null : String(row.versionnumber),
    };
  }

  private executionContext(
    registration: WebhookRegistration & { stepId: string },
    event: ChangeEvent,
    correlationId: string,
    truncated: boolean,
  ): Record<string, unknown> {
    const table = event.table;
    const userId = event.context.userId ?? '00000000-0000-0000-0000-000000000000';
    const target =
      event.message === 'Delete'
        ? {
            __type: `EntityReference:${contractNs}`,
            Id: event.id,
            KeyAttributes: [],
            LogicalName: table.logicalName,
            Name: null,
            RowVersion: null,
          }
        : this.entity(
            table,
            event.row,
            event.message === 'Create'
              ? table.columns.map((c) => c.logicalName)
              : [...event.changedColumns, table.primaryIdAttribute, 'modifiedon'],
            event.id,
          );
    const primaryName = [table.primaryNameAttribute, table.primaryIdAttribute];
    const postImages =
      event.message === 'Delete'
        ? []
        : [
            {
              key: 'AsynchronousStepPrimaryName',
              value: this.entity(table, event.row, primaryName, event.id),
            },
          ];
    const sharedVariables: { key: string; value: unknown }[] = [
      { key: 'IsAutoTransact', value: true },
      {
        key: 'ChangedEntityTypes',
        value: [
          {
            __type: `KeyValuePairOfstringstring:#System.Collections.Generic`,
            key: table.logicalName,
            value: event.message,
          },
        ],
      },
    ];
    if (event.context.tag !== undefined) sharedVariables.push({ key: 'tag', value: event.context.tag });
    return {
      BusinessUnitId: this.options.businessUnitId,
      CorrelationId: correlationId,
      Depth: event.context.depth ?? 1,
      InitiatingUserAzureActiveDirectoryObjectId: userId,
      InitiatingUserId: userId,
      InputParameters: truncated
        ? []
        : [
            { key: 'Target', value: target },
            ...(event.message === 'Update' ? [{ key: 'ConcurrencyBehavior', value: 0 }] : []),
          ],
      IsExecutingOffline: false,
      IsInTransaction: false,
      IsOfflinePlayback: false,
      IsolationMode: 1,
      MessageName: event.message,
      Mode: 1,
      OperationCreatedOn: msDate(this.options.clock.now()),
      OperationId: randomUUID(),
      OrganizationId: this.options.organizationId,
      OrganizationName: this.options.organizationName,
      OutputParameters: event.message === 'Create' ? [{ key: 'id', value: event.id }] : [],
      OwningExtension: {
        Id: registration.stepId,
        KeyAttributes: [],
        LogicalName: 'sdkmessageprocessingstep',
        Name: `emulator step: ${event.message} of ${table.logicalName}`,
        RowVersion: null,
      },
      ParentContext: null,
      PostEntityImages: truncated ? [] : postImages,
      PreEntityImages: [],
      PrimaryEntityId: event.id,
      PrimaryEntityName: table.logicalName,
      RequestId: randomUUID(),
      SecondaryEntityName: 'none',
      SharedVariables: sharedVariables,
      Stage: 40,
      UserAzureActiveDirectoryObjectId: userId,
      UserId: userId,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.agent.destroy();
    await Promise.allSettled([...this.inFlight]);
  }
}
