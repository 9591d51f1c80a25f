import type { FaultSettings } from '../shared/fault-injector.js';
import type { CampaignBehaviourSettings, CampaignEmulatorContext } from './campaign-emulator-context.js';
import type { CampaignLoadSettings, CampaignStats } from './campaign-load-model.js';
import { CampaignOptOutExportSource } from './campaign-opt-out-export-source.js';
import type { PrivacyToolRequest } from './campaign-privacy-tool.js';
import type { CampaignProfileGenerator } from './campaign-profile-generator.js';
import type { LinkRef, StoredRecord } from './campaign-record-store.js';
import type { PrivacyJob } from './privacy-service-emulator.js';
import {
  eventProfileOf,
  type BurstRequest,
  type DeliveryRequest,
  type EventProfile,
  type GeneratedCounts,
} from './journal/campaign-email-event-generator.js';
import { defaultJournalSettings, type JournalSettings } from './journal/campaign-event-journal.js';
import type { CampaignSftpControls } from './campaign-sftp-adapter.js';
import type { WorkflowDefinitionInput } from './campaign-workflow-model.js';
import type { CampaignWorkflows, WorkflowView } from './campaign-workflows.js';

/** A stored record as the admin API shows it, hidden ones included. */
export interface AdminRecordView {
  PKey: string;
  resource: string;
  visible: boolean;
  values: Record<string, string | number | boolean>;
  links: Record<string, LinkRef | null>;
  created: number;
  lastModified: number;
  /** Opt-out attribute change times (ms), including `ccpaOptOut`. */
  attributeModified: Record<string, number>;
  /** Delivery/tracking log entries (profiles). */
  logEntries: number;
}

/** What to seed: generated foreign profiles, profiles with given externalIds, literal payloads. */
export interface SeedProfilesRequest {
  /** Generated profiles without externalId (records the sync must never touch). @default 0 */
  foreign?: number | undefined;
  /** Generated profiles carrying these externalIds. @default [] */
  externalIds?: readonly string[] | undefined;
  /** Literal profile payloads, as a POST would carry them. @default [] */
  records?: ReadonlyArray<Record<string, unknown>> | undefined;
}

/**
 * The in-process handle tests use (the `/_emulator/` routes call the same methods): seed, reset,
 * faults, clock, statistics, operator edits, direct data access (hidden records included),
 * privacy requests and jobs, and the SFTP export workflow when it runs.
 */
export class CampaignEmulatorAdmin {
  /** The profile store seen as the opt-out export workflow's source. */
  readonly optOutExportSource: CampaignOptOutExportSource;
  /** Controls of the SFTP server and export workflow; null when no SFTP port was asked for. */
  sftp: CampaignSftpControls | null = null;

  private readonly initialBehaviour: CampaignBehaviourSettings;

  constructor(
    private readonly context: CampaignEmulatorContext,
    private readonly generator: CampaignProfileGenerator,
    private readonly logsPerProfile: number,
    private readonly reseed: () => void,
    private readonly declareWorkflows: () => void = () => undefined,
  ) {
    this.optOutExportSource = new CampaignOptOutExportSource(context.store);
    this.initialBehaviour = { ...context.behaviour };
  }

  get clock() {
    return this.context.clock;
  }

  /**
   * Back to the start state: data re-seeded; statistics, faults, limits, behaviour settings,
   * privacy requests and jobs, and the export workflow's history cleared; the seed's signal and
   * import workflows declared afresh (others dropped, runs forgotten). Tokens stay valid.
   */
  reset(options: { reseed?: boolean | undefined } = {}): void {
    this.context.store.clear();
    this.context.privacyTool.clear();
    this.context.privacyService.clear();
    this.context.load.reset({ settings: true });
    Object.assign(this.context.behaviour, this.initialBehaviour);
    this.context.faults.reset();
    this.sftp?.reset();
    this.context.workflows.clear();
    this.declareWorkflows();
    this.context.journal.clear();
    this.context.journal.configure(defaultJournalSettings);
    if (options.reseed ?? true) this.reseed();
  }

  /** The signal and import workflows (declared by the seed file or {@link defineWorkflow}). */
  get workflows(): CampaignWorkflows {
    return this.context.workflows;
  }

  /** Declare a signal or import workflow (what `POST /_emulator/workflows` does). */
  defineWorkflow(definition: WorkflowDefinitionInput): WorkflowView {
    return this.context.workflows.define(definition);
  }

  /**
   * The profiles events are about: the given ones (PKeys or identification-key values), else every
   * visible profile with an e-mail address, in creation order. A given profile without an e-mail
   * address is left out and counted, as Campaign's target analysis excludes it ("address not
   * specified"); a reference to no profile at all throws.
   */
  private eventProfiles(refs: readonly string[] | undefined): { profiles: EventProfile[]; noEmail: number } {
    const profiles: EventProfile[] = [];
    if (refs === undefined) {
      for (const record of this.context.store.all('profile')) {
        const profile = this.context.store.isVisible(record) ? eventProfileOf(record) : undefined;
        if (profile) profiles.push(profile);
      }
      return { profiles, noEmail: 0 };
    }
    let noEmail = 0;
    for (const ref of refs) {
      const record = this.find('profile', ref);
      if (!record) throw new Error(`no profile ${ref}`);
      const profile = eventProfileOf(record);
      if (profile) profiles.push(profile);
      else noEmail++;
    }
    return { profiles, noEmail };
  }

  /**
   * Send a delivery to profiles: a send event each (or a bounce for a share of them), then opens
   * and clicks for shares of the delivered, all at the emulator's now, appended to the journal.
   * Targeted profiles without an e-mail address get nothing and are counted in `excluded`.
   */
  sendDelivery(request: DeliveryRequest & { profiles?: readonly string[] | undefined } = {}): {
    campaign: { id: string; label: string };
    delivery: { id: string; label: string };
    counts: GeneratedCounts;
    excluded: { noEmail: number };
    lastPosition: string | null;
  } {
    const { profiles, noEmail } = this.eventProfiles(request.profiles);
    const result = this.context.emailEvents.delivery(profiles, request, this.context.clock.now());
    const lastPosition = result.events.length > 0 ? this.context.journal.append(result.events) : null;
    return {
      campaign: result.campaign,
      delivery: result.delivery,
      counts: result.counts,
      excluded: { noEmail },
      lastPosition,
    };
  }

  /** Append `count` events fast (benchmarks), cycling through the profiles. */
  burstEvents(request: BurstRequest & { profiles?: readonly string[] | undefined }): {
    counts: GeneratedCounts;
    lastPosition: string | null;
  } {
    const result = this.context.emailEvents.burst(
      this.eventProfiles(request.profiles).profiles,
      request,
      this.context.clock.now(),
    );
    const lastPosition = result.events.length > 0 ? this.context.journal.append(result.events) : null;
    return { counts: result.counts, lastPosition };
  }

  journalStatus(): ReturnType<CampaignEmulatorContext['journal']['status']> {
    return this.context.journal.status();
  }

  /** Retention, empty-answer Retry-After and batch sizes of the journal. */
  configureJournal(patch: Partial<JournalSettings>): JournalSettings {
    return this.context.journal.configure(patch);
  }

  /** Remove every event; positions handed out so far expire. */
  clearJournal(): void {
    this.context.journal.clear();
  }

  /** Insert generated or literal profiles directly (no API call is counted). Returns their PKeys. */
  seedProfiles(request: SeedProfilesRequest): string[] {
    const payloads: Array<Record<string, unknown>> = [];
    for (let i = 0; i < (request.foreign ?? 0); i++) payloads.push(this.generator.next());
    for (const externalId of request.externalIds ?? []) payloads.push(this.generator.next(externalId));
    payloads.push(...(request.records ?? []));
    return payloads.map((payload) => {
      const record = this.context.store.insert('profile', payload);
      if (this.logsPerProfile > 0) this.context.store.addLogs(record.id, this.logsPerProfile);
      return record.pkey;
    });
  }

  /** Insert a record of any resource directly (links as `{PKey}` or `{<keyField>: value}`). */
  insertRecord(resource: string, payload: Record<string, unknown>): string {
    this.assertResource(resource);
    return this.context.store.insert(resource, payload).pkey;
  }

  /** A record by PKey or identification-key value, hidden ones included. */
  getRecord(resource: string, ref: string): AdminRecordView | undefined {
    const record = this.find(resource, ref);
    return record ? this.view(record) : undefined;
  }

  listRecords(resource: string, options: { includeHidden?: boolean } = {}): AdminRecordView[] {
    this.assertResource(resource);
    const out: AdminRecordView[] = [];
    for (const record of this.context.store.all(resource)) {
      const view = this.view(record);
      if (view.visible || options.includeHidden) out.push(view);
    }
    return out;
  }

  countRecords(resource: string): { visible: number; hidden: number; total: number } {
    this.assertResource(resource);
    let visible = 0;
    let total = 0;
    for (const record of this.context.store.all(resource)) {
      total++;
      if (this.context.store.isVisible(record)) visible++;
    }
    return { visible, hidden: total - visible, total };
  }

  /**
   * Change a profile as an operator in the Campaign UI would: same validation as the API, counted
   * nowhere, and `blackList*LastModified` bumped for every opt-out attribute that changes.
   */
  editProfileAsOperator(ref: string, patch: Record<string, unknown>): AdminRecordView {
    const record = this.find('profile', ref);
    if (!record) throw new Error(`no profile ${ref}`);
    this.context.store.update(record, patch);
    return this.view(record);
  }

  /** Add delivery/tracking log entries to a profile. */
  addLogEntries(ref: string, count: number): void {
    const record = this.find('profile', ref);
    if (!record) throw new Error(`no profile ${ref}`);
    this.context.store.addLogs(record.id, count);
  }

  /** Log entries still stored for a profile id, even after a regular delete removed the profile. */
  logEntriesOf(pkey: string): number {
    const decoded = this.context.codec.decodeRecord(pkey);
    return decoded?.resource === 'profile' ? this.context.store.countLogs(decoded.id) : 0;
  }

  setFaults(patch: Partial<FaultSettings>): FaultSettings {
    return this.context.faults.configure(patch);
  }

  clearFaults(): void {
    this.context.faults.reset();
  }

  faults(): FaultSettings {
    return this.context.faults.current();
  }

  /** Move emulated time forward and run what became due (privacy requests, jobs). */
  advanceClock(ms: number): void {
    this.context.clock.advance(ms);
    this.context.tick();
  }

  stats(): CampaignStats {
    return this.context.load.snapshot();
  }

  resetStats(): void {
    this.context.load.reset();
  }

  /** Calls-per-second throttle and its Retry-After (off by default, as the real service). */
  setLimits(patch: Partial<CampaignLoadSettings>): CampaignLoadSettings {
    return this.context.load.configure(patch);
  }

  limits(): CampaignLoadSettings {
    return this.context.load.current();
  }

  /** Behaviour choices where the facts are silent (big-table threshold, error envelope, hidden writes). */
  configure(patch: Partial<CampaignBehaviourSettings>): CampaignBehaviourSettings {
    Object.assign(this.context.behaviour, patch);
    return this.settings();
  }

  settings(): CampaignBehaviourSettings {
    return { ...this.context.behaviour };
  }

  revokeTokens(): number {
    return this.context.tokens.revokeAll();
  }

  expireTokens(): number {
    return this.context.tokens.expireAll();
  }

  privacyRequests(): PrivacyToolRequest[] {
    this.context.tick();
    return this.context.privacyTool.list();
  }

  privacyJobs(): PrivacyJob[] {
    this.context.tick();
    return this.context.privacyService.allJobs();
  }

  failNextPrivacyJobs(count: number): void {
    this.context.privacyService.failNextJobs(count);
  }

  /** Run time-driven processes now. */
  tick(): void {
    this.context.tick();
  }

  private assertResource(resource: string): void {
    if (!this.context.store.definition(resource)) throw new Error(`unknown resource ${resource}`);
  }

  private find(resource: string, ref: string): StoredRecord | undefined {
    this.assertResource(resource);
    if (ref.startsWith('@')) {
      const decoded = this.context.codec.decodeRecord(ref);
      return decoded?.resource === resource ? this.context.store.getById(resource, decoded.id) : undefined;
    }
    return this.context.store.getByKey(resource, ref);
  }

  private view(record: StoredRecord): AdminRecordView {
    return {
      PKey: record.pkey,
      resource: record.resource,
      visible: this.context.store.isVisible(record),
      values: { ...record.values },
      links: { ...record.links },
      created: record.created,
      lastModified: record.lastModified,
      attributeModified: { ...record.attributeModified },
      logEntries: record.resource === 'profile' ? this.context.store.countLogs(record.id) : 0,
    };
  }
}
