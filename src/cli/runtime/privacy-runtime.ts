import { readFileSync } from 'node:fs';
import { ConfigError, ConnectorError } from '../../core/errors.js';
import type { AlertSink } from '../../core/ports/alert-sink.js';
import type { PrivacyDynamicsTarget, PrivacyLinkedTable } from '../../core/ports/privacy-systems.js';
import type { DynamicsTableMetadata } from '../../connectors/dynamics/dynamics-metadata-reader.js';
import { PrivacyServiceClient } from '../../connectors/privacy/privacy-service-client.js';
import { tableFlowId } from '../../engine/records/record-flow.js';
import {
  PrivacyRequestRunner,
  privacyCheckpoints,
  type PrivacyCheckpoint,
} from '../../engine/privacy/privacy-request-runner.js';
import { PrivacyRequestLoop } from '../../engine/privacy/privacy-request-loop.js';
import { PrivacySubjectReader } from '../../engine/privacy/privacy-subject-reader.js';
import { lookupReadName } from './build-flows.js';
import { LogAlertSink } from './log-alert-sink.js';
import { StorePrivacyProvider } from './store-privacy-provider.js';
import type { SyncRuntime } from './sync-runtime.js';
import { plain } from './tenant-clients.js';

/**
 * Fault injection for resilience tests: `DCSYNC_PRIVACY_CRASH_AT=<checkpoint>` makes the process
 * kill itself (SIGKILL, like a power cut) when a privacy request reaches that checkpoint.
 */
export const privacyCrashEnv = 'DCSYNC_PRIVACY_CRASH_AT';

export interface PrivacyRuntime {
  readonly runner: PrivacyRequestRunner;
  close(): Promise<void>;
}

export interface PrivacyRuntimeOptions {
  /** Extra alert sink; alerts always go to the log too. */
  alerts?: AlertSink | undefined;
  /** Environment read for {@link privacyCrashEnv}. @default none */
  env?: NodeJS.ProcessEnv | undefined;
}

/** Dynamics side of a privacy request over the production writer and metadata reader. */
class DynamicsPrivacyAdapter implements PrivacyDynamicsTarget {
  private readonly metadata = new Map<string, Promise<DynamicsTableMetadata>>();

  constructor(
    private readonly runtime: SyncRuntime,
    private readonly contactTable: string,
  ) {}

  async getContact(contactKey: string): Promise<Record<string, unknown> | null> {
    const table = await this.table(this.contactTable);
    const row = await this.runtime.dynamics.writer.getRecord(table.entitySetName, contactKey);
    return row ? row.columns : null;
  }

  async deleteContact(contactKey: string): Promise<'deleted' | 'absent'> {
    const table = await this.table(this.contactTable);
    try {
      await this.runtime.dynamics.writer.deleteRecord(table.entitySetName, contactKey);
      return 'deleted';
    } catch (error) {
      if (error instanceof ConnectorError && error.status === 404) return 'absent';
      throw error;
    }
  }

  async deleteContactHistory(contactKey: string): Promise<number> {
    const table = await this.table(this.contactTable);
    return this.runtime.dynamics.writer.deleteRecordChangeHistory(
      this.contactTable,
      table.primaryIdAttribute,
      contactKey,
    );
  }

  async findLinkedRows(linked: PrivacyLinkedTable, parentKey: string): Promise<string[]> {
    const table = await this.table(linked.table);
    if (!/^[0-9a-f-]{36}$/i.test(parentKey)) return [];
    const ids: string[] = [];
    let path: string = table.entitySetName;
    let query: Record<string, string> | undefined = {
      $select: table.primaryIdAttribute,
      $filter: `${linked.lookup} eq ${parentKey}`,
    };
    for (let page = 0; page < 10; page++) {
      const response = await this.runtime.dynamics.client.request<{
        value?: Record<string, unknown>[];
        '@odata.nextLink'?: string;
      }>({ method: 'GET', path, ...(query ? { query } : {}), headers: { prefer: 'odata.maxpagesize=500' } });
      for (const row of response.body?.value ?? []) {
        const id = row[table.primaryIdAttribute];
        if (typeof id === 'string') ids.push(id.toLowerCase());
      }
      const next = response.body?.['@odata.nextLink'];
      if (!next) break;
      path = next;
      query = undefined;
    }
    return ids;
  }

  private table(logicalName: string): Promise<DynamicsTableMetadata> {
    let cached = this.metadata.get(logicalName);
    if (!cached) {
      cached = this.runtime.dynamics.metadata.getTableMetadata(logicalName);
      cached.catch(() => this.metadata.delete(logicalName));
      this.metadata.set(logicalName, cached);
    }
    return cached;
  }
}

/** Synced custom tables whose rows hang off the contact (the links of the flows config). */
function linkedTablesOf(runtime: SyncRuntime): PrivacyLinkedTable[] {
  const tables = runtime.config.flows.customTables.filter((t) => t.enabled);
  const byResource = new Map(tables.map((t) => [t.resource, t]));
  return tables.flatMap((table) =>
    table.links.flatMap((link): PrivacyLinkedTable[] => {
      const parent = link.target === 'profile' ? null : byResource.get(link.target);
      if (link.target !== 'profile' && !parent) return [];
      return [
        {
          flow: tableFlowId(table.table),
          table: table.table,
          resource: table.resource,
          lookup: lookupReadName(link.lookup),
          campaignLink: link.link,
          parentFlow: parent ? tableFlowId(parent.table) : 'contacts',
        },
      ];
    }),
  );
}

function crashHook(
  env: NodeJS.ProcessEnv | undefined,
): ((checkpoint: PrivacyCheckpoint) => void) | undefined {
  const wanted = env?.[privacyCrashEnv];
  if (!wanted) return undefined;
  if (!(privacyCheckpoints as readonly string[]).includes(wanted)) {
    throw new ConfigError(`${privacyCrashEnv}=${wanted} is not one of: ${privacyCheckpoints.join(', ')}`);
  }
  return (checkpoint) => {
    if (checkpoint === wanted) process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * The privacy orchestration of a runtime: the Privacy Service client (Campaign credentials), the
 * Dynamics adapter and the request runner. Refuses to start without a `privacy` section.
 */
export function openPrivacyRuntime(
  runtime: SyncRuntime,
  options: PrivacyRuntimeOptions = {},
): PrivacyRuntime {
  const { config } = runtime;
  const privacy = config.privacy;
  if (!privacy) {
    throw new ConfigError(
      'privacy is not configured: add a privacy section (imsOrgId, namespaces) to the configuration file',
      { code: 'CONFIG_PRIVACY_MISSING' },
    );
  }
  const jobs = new PrivacyServiceClient({
    url: privacy.serviceUrl,
    imsOrgId: privacy.imsOrgId,
    imsUrl: config.campaign.imsUrl,
    clientId: plain(config.campaign.clientId),
    clientSecret: config.campaign.clientSecret.reveal(),
    caCert: config.campaign.caFile ? readFileSync(config.campaign.caFile, 'utf8') : undefined,
    scope: config.campaign.scope,
    metrics: runtime.callMetrics,
    clock: runtime.clock,
  });
  const emailColumn =
    Object.entries(config.flows.contacts.mapping).find(([, rule]) => rule.to === 'email')?.[0] ??
    'emailaddress1';
  const subject = new PrivacySubjectReader({
    store: runtime.store,
    campaign: runtime.campaign.client,
    dynamics: new DynamicsPrivacyAdapter(runtime, config.flows.contacts.table),
    linkedTables: linkedTablesOf(runtime),
    emailColumn,
  });
  const logSink = new LogAlertSink(runtime.logger);
  const extra = options.alerts;
  const onCheckpoint = crashHook(options.env);
  const runner = new PrivacyRequestRunner({
    store: runtime.store,
    jobs,
    subject,
    namespaces: privacy.namespaces,
    alerts: {
      async raise(alert) {
        await logSink.raise(alert);
        if (extra) await extra.raise(alert);
      },
    },
    logger: runtime.logger,
    clock: runtime.clock,
    owner: runtime.worker.identity.id,
    pollIntervalMs: privacy.pollIntervalMs,
    maxPollIntervalMs: privacy.maxPollIntervalMs,
    ...(onCheckpoint ? { onCheckpoint } : {}),
  });
  return { runner, close: () => jobs.close() };
}

/**
 * Move privacy requests on inside `dcsync run` (every second, due requests only). Returns null
 * when the configuration has no `privacy` section.
 */
export function startPrivacyLoop(
  runtime: SyncRuntime,
  options: PrivacyRuntimeOptions = {},
): { stop(): Promise<void> } | null {
  if (!runtime.config.privacy) return null;
  const privacy = openPrivacyRuntime(runtime, options);
  // One privacy runner per deployment: the duty's holder moves requests on.
  const loop = new PrivacyRequestLoop(
    privacy.runner,
    runtime.logger,
    1000,
    runtime.worker.duties.duty('privacy:runner'),
  );
  loop.start();
  return {
    async stop() {
      await loop.stop();
      await privacy.close();
    },
  };
}

/**
 * The operator server's privacy provider for a runtime (null without a `privacy` section). Close
 * it with the server.
 */
export function openPrivacyProvider(
  runtime: SyncRuntime,
  options: PrivacyRuntimeOptions = {},
): { provider: StorePrivacyProvider; close(): Promise<void> } | null {
  const privacy = runtime.config.privacy;
  if (!privacy) return null;
  const opened = openPrivacyRuntime(runtime, options);
  return {
    provider: new StorePrivacyProvider(runtime.store.privacy, opened.runner, privacy.regulation),
    close: () => opened.close(),
  };
}
