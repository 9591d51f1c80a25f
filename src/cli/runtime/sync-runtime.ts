import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { systemClock, type Clock } from '../../core/clock.js';
import { DutyRoster } from '../../engine/duty.js';
import type { WorkerIdentity } from '../../engine/worker-registry.js';
import { storeSchemaVersion } from '../../store/sql/migrations/store-migrations.js';
import { readPackageInfo } from '../package-info.js';
import { RateLimitedError } from '../../core/errors.js';
import type { DynamicsRequestGate } from '../../connectors/dynamics/dynamics-client-options.js';
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
import { openCampaignClient, openDynamicsClient, plain } from './tenant-clients.js';

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

/** Dataverse service protection: requests per 5 minutes per application user. */
const dataverseRequestsPer5Min = 6000;

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
  // One name per process start for the worker registry, its duties and its budget slices: host,
  // pid and a random tag (pids are reused).
  const host = hostname();
  const identity: WorkerIdentity = {
    id: `${host}:${process.pid}:${randomUUID().slice(0, 8)}`,
    host,
    pid: process.pid,
    version: readPackageInfo().version,
    schemaVersion: storeSchemaVersion,
  };
  const owner = identity.id;
  const slices = {
    store: store.budgets,
    owner,
    leaseMs: config.campaign.budget.sliceLeaseMs,
    renewMs: config.campaign.budget.sliceRenewMs,
    // Workers split the rate on real time only: a runtime on an injected clock (tests) cannot
    // compare slices with the others', so it takes the whole rate and holds none of it.
    wholeRate: clock !== systemClock,
  };
  // Dataverse's service protection (6,000 requests per 5 minutes per application user) is shared
  // by every worker that uses the user: one shared rate of 20 requests/s holds it in any 5 minutes.
  const dataverseBudget = new CallBudget({
    callsPerSecond: dataverseRequestsPer5Min / 300,
    adaptive: { enabled: false },
    maxWaitMs: 120_000,
    clock,
    shared: {
      ...slices,
      name: `dataverse:${new URL(config.dynamics.url).host}:${plain(config.dynamics.clientId)}`,
    },
  });
  const sharedGate: DynamicsRequestGate = {
    acquire: () =>
      dataverseBudget.acquire('read').catch((error: unknown) => {
        if (!(error instanceof RateLimitedError)) throw error;
        throw new RateLimitedError(
          'dynamics',
          'The Dynamics request budget shared by the workers is used up for now (client-side pacing).',
          {
            code: 'DYNAMICS_BUDGET_EXHAUSTED',
            ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
          },
        );
      }),
    throttled: (retryAfterMs) => dataverseBudget.record({ status: 429, latencyMs: 0, retryAfterMs }),
  };
  // Only several processes need it: on SQLite (one process) the client's own pacing is the budget.
  // Workers share it on real time only: a runtime on an injected clock (tests) paces by itself.
  const shareDataverse = store.dialect === 'postgres' && clock === systemClock;
  const dynamicsClient = openDynamicsClient(config, {
    metrics: callMetrics,
    clock,
    ...(shareDataverse ? { sharedGate } : {}),
  });
  const budget = new CallBudget({
    callsPerSecond: config.campaign.budget.callsPerSecond,
    callsPerDay: config.campaign.budget.callsPerDay,
    engineCallsPerDay: config.campaign.budget.engineCallsPerDay ?? null,
    adaptive: { enabled: config.campaign.budget.adaptive },
    clock,
    // One budget for every worker on the store, and day counts that survive restarts
    // (docs/store.md, "Shared call budget").
    shared: slices,
  });
  // Commands that only read the store lease a slice when (if ever) they call Campaign.
  if (!options.skipMigrations && (options.storeIfMissing ?? 'create') === 'create') {
    try {
      await Promise.all([budget.start(), shareDataverse ? dataverseBudget.start() : undefined]);
    } catch (error) {
      logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'could not lease a slice of the shared Campaign call budget yet; calls wait until a lease succeeds',
      );
    }
  }
  const campaignClient = openCampaignClient(config, budget, { metrics: callMetrics, clock });
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
      await Promise.all([budget.closeAndRelease(), dataverseBudget.closeAndRelease()]);
      await Promise.allSettled([campaignClient.close(), dynamicsClient.close()]);
      await store.close();
      logger.flush();
    },
  };
}
