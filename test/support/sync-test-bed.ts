import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  startDynamicsEmulator,
  type DynamicsEmulator,
  type DynamicsEmulatorOptions,
} from '../../emulators/dynamics/dynamics-emulator.js';
import {
  startCampaignEmulator,
  type CampaignEmulator,
  type CampaignEmulatorOptions,
} from '../../emulators/campaign/campaign-emulator.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { ResolvedConfig } from '../../src/config/resolved-config.js';
import { Redactor } from '../../src/logging/redactor.js';
import {
  openSyncRuntime,
  type OpenRuntimeOptions,
  type SyncRuntime,
} from '../../src/cli/runtime/sync-runtime.js';
import { createSyncEngine } from '../../src/cli/runtime/start-sync.js';
import type { SyncEngine } from '../../src/engine/sync-engine.js';
import { createPostgresTestSchema } from './postgres-test-schema.js';

export const storeKinds = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof storeKinds)[number];

export interface SyncTestBedOptions {
  store?: StoreKind;
  dynamics?: DynamicsEmulatorOptions;
  campaign?: CampaignEmulatorOptions;
  /** Deep-merged over the generated configuration (YAML shape). */
  config?: Record<string, unknown>;
  /** Also merged (after `config`), built from the started emulators (e.g. the Campaign journal's URL). */
  configFor?: (emulators: {
    dynamics: DynamicsEmulator;
    campaign: CampaignEmulator;
  }) => Record<string, unknown>;
}

/** Environment holding the emulator credentials, as an operator would set it. */
export const testEnv: NodeJS.ProcessEnv = {
  DYNAMICS_CLIENT_SECRET: 'demo-secret',
  CAMPAIGN_CLIENT_SECRET: 'demo-secret',
  DCSYNC_ADMIN_TOKEN: 'test-admin-token-0123456789',
  DCSYNC_WEBHOOK_KEY: 'webhook-key-for-tests',
};

function merge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] =
      value &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      current &&
      typeof current === 'object' &&
      !Array.isArray(current)
        ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

/**
 * Both emulators, a configuration file written the way an operator writes one (CA files, env
 * secrets), the real config loader, and a runtime + engine built by the production composition
 * code. Store: a SQLite file in a temp dir, or a fresh PostgreSQL schema.
 */
export class SyncTestBed {
  runtimes: SyncRuntime[] = [];

  private constructor(
    readonly dynamics: DynamicsEmulator,
    readonly campaign: CampaignEmulator,
    readonly dir: string,
    readonly configPath: string,
    private readonly schema: { drop(): Promise<void>; emptyTables(): Promise<void> } | null,
  ) {}

  static async start(options: SyncTestBedOptions = {}): Promise<SyncTestBed> {
    const dir = mkdtempSync(join(tmpdir(), 'dcsync-sync-'));
    const dynamics = await startDynamicsEmulator({ ...options.dynamics });
    const campaign = await startCampaignEmulator({ ...options.campaign });
    writeFileSync(join(dir, 'dynamics-ca.pem'), dynamics.caCert ?? '');
    writeFileSync(join(dir, 'campaign-ca.pem'), campaign.caCert ?? '');
    let storeConfig: Record<string, unknown> = { url: `sqlite:${join(dir, 'state.db')}` };
    let schema: { name: string; drop(): Promise<void>; emptyTables(): Promise<void> } | null = null;
    if (options.store === 'postgres') {
      schema = await createPostgresTestSchema('sync');
      storeConfig = { url: 'postgres://postgres@127.0.0.1:5432/test', schema: schema.name };
    }
    const base: Record<string, unknown> = {
      dynamics: {
        url: dynamics.url,
        authorityHost: dynamics.authorityHost,
        tenantId: 'contoso.onmicrosoft.com',
        clientId: dynamics.clientId,
        clientSecret: 'env:DYNAMICS_CLIENT_SECRET',
        caFile: join(dir, 'dynamics-ca.pem'),
        pageSize: 500,
      },
      campaign: {
        url: campaign.url,
        imsUrl: campaign.imsUrl,
        clientId: campaign.clientId,
        clientSecret: 'env:CAMPAIGN_CLIENT_SECRET',
        caFile: join(dir, 'campaign-ca.pem'),
        budget: { callsPerSecond: 5000, callsPerDay: 10_000_000 },
      },
      store: storeConfig,
      engine: {
        workers: 16,
        leaseMs: 30_000,
        pollIntervalMs: 200,
        retry: { initialDelayMs: 50, maxDelayMs: 500, maxAttempts: 5 },
      },
      flows: {
        contacts: {
          deletes: true,
          mapping: { firstname: 'firstName', lastname: 'lastName', emailaddress1: 'email' },
        },
      },
      server: { port: 0, adminToken: 'env:DCSYNC_ADMIN_TOKEN' },
      logging: { level: 'silent' },
    };
    const configPath = join(dir, 'sync.yaml');
    const merged = merge(base, options.config ?? {});
    writeFileSync(configPath, stringify(merge(merged, options.configFor?.({ dynamics, campaign }) ?? {})));
    return new SyncTestBed(dynamics, campaign, dir, configPath, schema);
  }

  loadConfig(redactor = new Redactor()): ResolvedConfig {
    const loaded = loadConfig(this.configPath, { env: testEnv, redactor });
    if (!loaded.ok) throw new Error(`test config invalid: ${JSON.stringify(loaded.findings)}`);
    return loaded.config;
  }

  async openRuntime(options: OpenRuntimeOptions = {}): Promise<SyncRuntime> {
    const runtime = await openSyncRuntime(this.loadConfig(), new Redactor(), options);
    this.runtimes.push(runtime);
    return runtime;
  }

  /** A fresh runtime and engine (like a new process on the same store). */
  async engine(): Promise<{ runtime: SyncRuntime; engine: SyncEngine }> {
    const runtime = await this.openRuntime();
    return { runtime, engine: await createSyncEngine(runtime) };
  }

  /** Profiles in Campaign keyed by externalId (visible ones). */
  profilesByExternalId(): Map<string, Record<string, unknown>> {
    const out = new Map<string, Record<string, unknown>>();
    for (const p of this.campaign.admin.listRecords('profile')) {
      const ext = p.values.externalId;
      if (typeof ext === 'string' && ext !== '') out.set(ext, { PKey: p.PKey, ...p.values });
    }
    return out;
  }

  /** Close every runtime and empty the store (SQLite file removed, PostgreSQL tables emptied). */
  async resetStore(): Promise<void> {
    for (const runtime of this.runtimes) await runtime.close().catch(() => undefined);
    this.runtimes = [];
    if (this.schema) await this.schema.emptyTables();
    else
      for (const suffix of ['', '-wal', '-shm']) rmSync(join(this.dir, `state.db${suffix}`), { force: true });
  }

  async close(): Promise<void> {
    for (const runtime of this.runtimes) await runtime.close().catch(() => undefined);
    await Promise.allSettled([this.dynamics.close(), this.campaign.close()]);
    if (this.schema) await this.schema.drop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
