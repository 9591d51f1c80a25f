import { SeededRandom } from '../../shared/seeded-random.js';
import type { EmulatorClock } from '../../shared/emulator-clock.js';
import type { FaultInjector, FaultSettings } from '../../shared/fault-injector.js';
import type { EntraTokenService } from '../auth/entra-token-service.js';
import { dataverseErrorCodes } from '../dataverse-error.js';
import type {
  ServiceProtectionLimiter,
  ServiceProtectionLimits,
} from '../limits/service-protection-limiter.js';
import type { AlternateKey } from '../schema/table-schema.js';
import type { SeedFile } from '../schema/seed-file.js';
import type { DataverseDataGenerator } from '../store/dataverse-data-generator.js';
import type { DataverseDataStore, Row, RowValue } from '../store/dataverse-data-store.js';
import type {
  WebhookDelivery,
  WebhookDispatcher,
  WebhookRegistration,
} from '../webhooks/webhook-dispatcher.js';
import type { DeltaLinkRefusal, LaterDeltaPagesContext } from '../web-api/collection-reader.js';
import type { EmulatorStats, RequestStatistics } from './request-statistics.js';

/** Settings an admin can change at run time (the "facts were silent" knobs). */
export interface EmulatorSettings {
  /** `expirechangetrackingindays`. */
  retentionDays: number;
  maxPageSize: number;
  expiredTokenStatus: number;
  maxBatchRequests: number;
  countLimit: number;
  /** Fault: drop `@odata.deltaLink` from the last change-tracking page. */
  omitDeltaLink: boolean;
  /** `@odata.context` of a delta read's later pages: with the `/$delta` suffix, or `plain`. */
  laterDeltaPagesContext: LaterDeltaPagesContext;
  /** Fault: answer delta links with this error (an undocumented refusal); null = off. */
  deltaLinkRefusal: DeltaLinkRefusal | null;
}

export interface ResetOptions {
  /** Contacts to generate after clearing. @default the start-up count */
  contacts?: number | undefined;
  /** Generator seed. @default the start-up seed */
  seed?: number | undefined;
}

export interface MutateOptions {
  /** Table logical name. @default 'contact' */
  table?: string | undefined;
  creates?: number | undefined;
  updates?: number | undefined;
  deletes?: number | undefined;
  /** @default 1 */
  seed?: number | undefined;
}

export interface MutateResult {
  created: string[];
  updated: string[];
  deleted: string[];
}

/**
 * The in-process control handle of the emulator (also served over HTTP under `/_emulator/`).
 * Data helpers go through the same store operations as the Web API, so versions, change tracking
 * and webhooks see them like any other write.
 */
export class DynamicsEmulatorAdmin {
  constructor(
    private readonly deps: {
      store: DataverseDataStore;
      generator: DataverseDataGenerator;
      tokens: EntraTokenService;
      limiter: ServiceProtectionLimiter;
      faultInjector: FaultInjector;
      webhookDispatcher: WebhookDispatcher;
      statistics: RequestStatistics;
      clock: EmulatorClock;
      settings: EmulatorSettings;
      startup: { contacts: number; seed: number; seedFile: SeedFile | undefined };
    },
  ) {}

  /** The emulator's clock: `advance(ms)`, `freeze(at?)`, `unfreeze()`, `now()`. */
  get clock(): EmulatorClock {
    return this.deps.clock;
  }

  /** Live settings (retention, page size, expired-token status, batch limit). */
  get settings(): EmulatorSettings {
    return this.deps.settings;
  }

  // --- data -------------------------------------------------------------------------------

  /** Clear every table and re-seed: generated contacts, then seed-file rows and generated custom rows. */
  reset(options: ResetOptions = {}): void {
    const { store, generator, startup } = this.deps;
    store.clear();
    const seed = options.seed ?? startup.seed;
    generator.generate('contact', options.contacts ?? startup.contacts, seed);
    const seedFile = startup.seedFile;
    if (!seedFile) return;
    for (const row of seedFile.contact?.rows ?? []) store.create('contact', row);
    for (const [index, table] of seedFile.tables.entries()) {
      for (const row of table.rows) store.create(table.logicalName, row);
      const generate = table.generate;
      if (!generate) continue;
      let count = generate.count ?? 0;
      if (generate.perParent !== undefined) {
        const parent = table.columns.find((c) => c.type === 'lookup')?.target;
        count += Math.round((store.table(parent ?? '')?.rows.size ?? 0) * generate.perParent);
      }
      generator.generate(table.logicalName, count, seed + index + 1);
    }
  }

  /** Generate `count` rows for a table (default contacts) through the seeding fast path. */
  generate(count: number, options: { table?: string; seed?: number } = {}): string[] {
    const seed = options.seed ?? this.deps.startup.seed + this.deps.store.version;
    return this.deps.generator.generate(options.table ?? 'contact', count, seed);
  }

  createRow(table: string, values: Record<string, unknown>): Row {
    return this.deps.store.transaction(() => ({ ...this.deps.store.create(table, values) }));
  }

  updateRow(table: string, id: string, values: Record<string, unknown>): Row {
    return this.deps.store.transaction(() => ({ ...this.deps.store.update(table, id, values) }));
  }

  deleteRow(table: string, id: string): void {
    this.deps.store.transaction(() => this.deps.store.delete(table, id));
  }

  createContact(values: Record<string, unknown>): Row {
    return this.createRow('contact', values);
  }

  updateContact(id: string, values: Record<string, unknown>): Row {
    return this.updateRow('contact', id, values);
  }

  deleteContact(id: string): void {
    this.deleteRow('contact', id);
  }

  /** A copy of one row, or undefined. */
  getRow(table: string, id: string): Row | undefined {
    const row = this.deps.store.table(table)?.rows.get(id.toLowerCase());
    return row ? { ...row } : undefined;
  }

  getContact(id: string): Row | undefined {
    return this.getRow('contact', id);
  }

  /** Copies of all rows of a table (tests; avoid on millions of rows). */
  listRows(table: string): Row[] {
    return [...(this.deps.store.table(table)?.rows.values() ?? [])].map((r) => ({ ...r }));
  }

  countRows(table: string): number {
    return this.deps.store.table(table)?.rows.size ?? 0;
  }

  /** Ids of all rows of a table, in change order. */
  listIds(table: string): string[] {
    return [...(this.deps.store.table(table)?.rows.keys() ?? [])];
  }

  /**
   * Random creates, updates (opt-out flags, e-mail, names) and deletes through the normal write
   * path, for streaming and delta scenarios.
   */
  mutate(options: MutateOptions): MutateResult {
    const { store, generator } = this.deps;
    const table = options.table ?? 'contact';
    const data = store.requireTable(table);
    const random = new SeededRandom(options.seed ?? 1);
    const result: MutateResult = { created: [], updated: [], deleted: [] };
    store.transaction(() => {
      for (let i = 0; i < (options.creates ?? 0); i++) {
        const values = generator.rowValues(data, random, data.rows.size + i + 1);
        const row = store.create(table, { ...values, [data.schema.primaryIdAttribute]: random.guid() });
        result.created.push(row[data.schema.primaryIdAttribute] as string);
      }
      const ids = [...data.rows.keys()];
      const pickId = (): string | undefined =>
        ids.length === 0 ? undefined : ids.splice(random.int(0, ids.length - 1), 1)[0];
      for (let i = 0; i < (options.updates ?? 0); i++) {
        const id = pickId();
        if (!id) break;
        const values: Record<string, RowValue> =
          table === 'contact'
            ? {
                donotemail: random.chance(0.5),
                donotbulkemail: random.chance(0.3),
                jobtitle: `Title ${random.int(1, 99)}`,
              }
            : this.randomUpdate(table, random);
        store.update(table, id, values);
        result.updated.push(id);
      }
      for (let i = 0; i < (options.deletes ?? 0); i++) {
        const id = pickId();
        if (!id) break;
        store.delete(table, id);
        result.deleted.push(id);
      }
    });
    return result;
  }

  private randomUpdate(table: string, random: SeededRandom): Record<string, RowValue> {
    const data = this.deps.store.requireTable(table);
    const values = this.deps.generator.rowValues(data, random, data.rows.size);
    const name = data.schema.primaryNameAttribute;
    return name in values ? { [name]: values[name] ?? null } : {};
  }

  // --- change tracking -------------------------------------------------------------------------

  /** Turn change tracking on or off for a table (the emulator allows off, unlike Dataverse). */
  setChangeTracking(table: string, enabled: boolean): void {
    this.deps.store.requireTable(table).schema.changeTrackingEnabled = enabled;
  }

  /**
   * Declare a table's alternate keys (replacing its keys; `[]` removes them), as an administrator
   * would in the table's Keys. Key columns must exist. Rows that already repeat a key's values are
   * left as they are (Dataverse would fail the key's index job instead).
   */
  setAlternateKeys(table: string, keys: readonly AlternateKey[]): void {
    const data = this.deps.store.requireTable(table);
    for (const key of keys) {
      for (const column of key.columns) {
        if (!data.columns.has(column))
          throw new Error(`table ${table} has no column ${column} for key ${key.name}`);
      }
    }
    data.schema.keys = keys.map((k) => ({ name: k.name, columns: [...k.columns] }));
    data.rebuildKeyIndex();
  }

  alternateKeys(table: string): AlternateKey[] {
    return this.deps.store
      .requireTable(table)
      .schema.keys.map((k) => ({ name: k.name, columns: [...k.columns] }));
  }

  /** Make every delta token and tracking paging cookie handed out so far expired. */
  expireDeltaTokens(): void {
    this.deps.store.expireVersionsSoFar();
  }

  // --- tokens ----------------------------------------------------------------------------------

  /** Revoke every access token issued so far (or one, by its `jti`). */
  revokeTokens(tokenId?: string): void {
    this.deps.tokens.revoke(tokenId);
  }

  /** Expire every access token issued so far. */
  expireTokens(): void {
    this.deps.tokens.expireAll();
  }

  setTokenLifetime(seconds: number): void {
    this.deps.tokens.setLifetime(seconds);
  }

  // --- faults and limits ------------------------------------------------------------------------

  /** Merge fault settings (latency, 5xx rate, drops, hangs; see FaultSettings). */
  configureFaults(patch: Partial<FaultSettings>): FaultSettings {
    return this.deps.faultInjector.configure(patch);
  }

  resetFaults(): void {
    this.deps.faultInjector.reset();
    this.deps.limiter.forceThrottle(0, 0);
  }

  faults(): FaultSettings {
    return this.deps.faultInjector.current();
  }

  /** Answer the next `count` Web API requests with 429 and this Retry-After (a burst). */
  throttleNext(
    count: number,
    retryAfterSec = 1,
    reason: 'requests' | 'executionTime' | 'concurrency' = 'requests',
  ): void {
    const code =
      reason === 'executionTime'
        ? dataverseErrorCodes.throttleExecutionTime
        : reason === 'concurrency'
          ? dataverseErrorCodes.throttleConcurrency
          : dataverseErrorCodes.throttleRequests;
    this.deps.limiter.forceThrottle(count, retryAfterSec, code);
  }

  configureLimits(patch: Partial<ServiceProtectionLimits>): ServiceProtectionLimits {
    return this.deps.limiter.configure(patch);
  }

  limits(): ServiceProtectionLimits {
    return this.deps.limiter.current();
  }

  /** Forget every user's request window (e.g. between test cases). */
  resetLimitWindows(): void {
    this.deps.limiter.reset();
  }

  // --- statistics ------------------------------------------------------------------------------

  stats(): EmulatorStats {
    return { ...this.deps.statistics.snapshot(), tokensIssued: this.deps.tokens.tokensIssued };
  }

  resetStats(): void {
    this.deps.statistics.reset();
  }

  // --- webhooks --------------------------------------------------------------------------------

  registerWebhook(registration: WebhookRegistration): string {
    return this.deps.webhookDispatcher.register(registration);
  }

  unregisterWebhook(id: string): boolean {
    return this.deps.webhookDispatcher.unregister(id);
  }

  webhooks(): ReturnType<WebhookDispatcher['list']> {
    return this.deps.webhookDispatcher.list();
  }

  webhookDeliveries(): WebhookDelivery[] {
    return this.deps.webhookDispatcher.deliveries();
  }

  /** Wait until every webhook delivery started so far has finished. */
  async waitForWebhooks(): Promise<void> {
    await this.deps.webhookDispatcher.waitForIdle();
  }
}
