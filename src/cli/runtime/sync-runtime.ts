import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { systemClock, type Clock } from '../../core/clock.js';
import { DutyRoster } from '../../engine/duty.js';
import type { WorkerIdentity } from '../../engine/worker-registry.js';
import { storeSchemaVersion } from '../../store/sql/migrations/store-migrations.js';
import { readPackageInfo } from '../package-info.js';
import type { StateStore } from '../../core/ports/state-store.js';
import type { ResolvedConfig } from '../../config/resolved-config.js';
import type { DynamicsWebApiClient } from '../../connectors/dynamics/dynamics-web-api-client.js';
import { DynamicsChangeReader } from '../../connectors/dynamics/dynamics-change-reader.js';
import { DynamicsMetadataReader } from '../../connectors/dynamics/dynamics-metadata-reader.js';
import { DynamicsRecordWriter } from '../../connectors/dynamics/dynamics-record-writer.js';
import { CallBudget } from '../../connectors/campaign/call-budget.js';
import type { CampaignClient } from '../../connectors/campaign/campaign-client.js';
import { openStateStore, type OpenStateStoreOptions } from '../../store/open-state-store.js';
import { Registry } from 'prom-client';
import { CallMetricsCounter } from '../../server/metrics/call-metrics.js';
import type { CallMetrics } from '../../core/ports/call-metrics.js';
import { createLogger, type Logger } from '../../logging/logger.js';
import type { Redactor } from '../../logging/redactor.js';
import { openCampaignClient, openDynamicsClient } from './tenant-clients.js';

/** Everything a running sync needs, built from the configuration (the composition root's wiring). */
export interface SyncRuntime {
  readonly config: ResolvedConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly redactor: Redactor;
  readonly store: StateStore;
  readonly dynamics: {
    readonly client: DynamicsWebApiClient;
    readonly reader: DynamicsChangeReader;
    readonly metadata: DynamicsMetadataReader;
    readonly writer: DynamicsRecordWriter;
  };
  readonly campaign: {
    readonly client: CampaignClient;
    readonly budget: CallBudget;
  };
  /** Prometheus registry served at `/metrics`; the clients count their calls on it. */
  readonly metricsRegistry: Registry;
  readonly callMetrics: CallMetrics;
  /**
   * This process as a worker: who it is (unique per start) and its singleton duties (pollers,
   * opt-out file ingestor, privacy runner, alert monitor), which only a running service starts.
   */
  readonly worker: { readonly identity: WorkerIdentity; readonly duties: DutyRoster };
  close(): Promise<void>;
}

export interface OpenRuntimeOptions {
  clock?: Clock;
  /** Where log lines go. @default stdout */
  logDestination?: NodeJS.WritableStream;
  /** Override the configured log level. */
  logLevel?: string;
  /** Open the store without running migrations. @default false */
  skipMigrations?: boolean;
  /** A missing SQLite store: create it, fail (read-only commands) or read an empty one. @default 'create' */
  storeIfMissing?: OpenStateStoreOptions['ifMissing'];
}

/** Build clients, store and logger from a resolved configuration. */
export async function openSyncRuntime(
  config: ResolvedConfig,
  redactor: Redactor,
  options: OpenRuntimeOptions = {},
): Promise<SyncRuntime> {
  const clock = options.clock ?? systemClock;
  const logger = createLogger(redactor, {
    level: options.logLevel ?? config.logging.level,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
    name: 'dcsync',
  });
  const store = await openStateStore(config.store.url, {
    clock,
    ...(config.store.schema ? { schema: config.store.schema } : {}),
    ...(config.store.password ? { password: config.store.password.reveal() } : {}),
    busyTimeoutMs: config.store.busyTimeoutMs,
    migrate: !options.skipMigrations,
    ifMissing: options.storeIfMissing,
  });
  const metricsRegistry = new Registry();
  const callMetrics = new CallMetricsCounter(metricsRegistry);
  const dynamicsClient = openDynamicsClient(config, { metrics: callMetrics, clock });
  const budget = new CallBudget({
    callsPerSecond: config.campaign.budget.callsPerSecond,
    callsPerDay: config.campaign.budget.callsPerDay,
    engineCallsPerDay: config.campaign.budget.engineCallsPerDay ?? null,
    adaptive: { enabled: config.campaign.budget.adaptive },
    clock,
  });
  const campaignClient = openCampaignClient(config, budget, { metrics: callMetrics, clock });
  const host = hostname();
  const identity: WorkerIdentity = {
    id: `${host}:${process.pid}:${randomUUID().slice(0, 8)}`,
    host,
    pid: process.pid,
    version: readPackageInfo().version,
    schemaVersion: storeSchemaVersion,
  };
  const duties = new DutyRoster({
    store,
    clock,
    logger,
    owner: identity.id,
    timing: { ttlMs: config.workers.dutyTtlMs },
  });
  return {
    config,
    clock,
    logger,
    redactor,
    store,
    dynamics: {
      client: dynamicsClient,
      reader: new DynamicsChangeReader(dynamicsClient),
      metadata: new DynamicsMetadataReader(dynamicsClient),
      writer: new DynamicsRecordWriter(dynamicsClient),
    },
    campaign: { client: campaignClient, budget },
    metricsRegistry,
    callMetrics,
    worker: { identity, duties },
    async close() {
      budget.close();
      await Promise.allSettled([campaignClient.close(), dynamicsClient.close()]);
      await store.close();
      logger.flush();
    },
  };
}
