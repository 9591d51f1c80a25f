import { CampaignApi, type CampaignApiOptions } from './campaign-api.js';
import { CampaignCollections } from './campaign-collections.js';
import { CampaignMetadataReader } from './campaign-metadata-reader.js';
import { CampaignPrivacyTool } from './campaign-privacy-tool.js';
import { CampaignProfiles, type CampaignProfileLookupOptions } from './campaign-profiles.js';
import { CampaignRecords } from './campaign-records.js';
import { CampaignResourceRoots, type CampaignResourceRootsOptions } from './campaign-resource-roots.js';
import {
  CampaignWorkflows,
  type CampaignSignalInput,
  type CampaignWorkflowCommand,
  type CampaignWorkflowExecution,
} from './campaign-workflows.js';
import type {
  CampaignCallOptions,
  CampaignListOptions,
  CampaignPage,
  CampaignRecord,
  CampaignResourceMetadata,
  CampaignRoot,
  CampaignWriteAck,
  PrivacyToolRequestInput,
  PrivacyToolRequestState,
} from './campaign-types.js';

/** Everything a {@link CampaignClient} needs: the organization and credential, resource roots, profile look-up. */
export interface CampaignClientOptions
  extends CampaignApiOptions, CampaignResourceRootsOptions, CampaignProfileLookupOptions {}

/**
 * Production client of the Campaign Standard REST API, one object for the ports that use it
 * (record sink, privacy reader, metadata source): profiles by externalId, custom resources with
 * links, collections (following `next.href`), counts, metadata for pre-flight checks and the
 * privacy tool. Each concern lives in its own class (campaign-records, -collections, -profiles,
 * -metadata-reader, -privacy-tool) over one {@link CampaignApi}; every call passes the shared call
 * budget, and failures are ConnectorErrors with stable codes (see campaign-error.ts).
 */
export class CampaignClient {
  private readonly api: CampaignApi;
  private readonly records: CampaignRecords;
  private readonly collections: CampaignCollections;
  private readonly profiles: CampaignProfiles;
  private readonly metadata: CampaignMetadataReader;
  private readonly privacyTool: CampaignPrivacyTool;
  private readonly workflows: CampaignWorkflows;

  constructor(options: CampaignClientOptions) {
    this.api = new CampaignApi(options);
    const roots = new CampaignResourceRoots(this.api, options);
    this.records = new CampaignRecords(this.api, roots);
    this.collections = new CampaignCollections(this.api, roots);
    this.profiles = new CampaignProfiles(this.records, this.collections, options);
    this.metadata = new CampaignMetadataReader(this.api, roots);
    this.privacyTool = new CampaignPrivacyTool(this.api);
    this.workflows = new CampaignWorkflows(this.api);
  }

  // ------------------------------------------------------------------ profiles

  /** The profile whose `externalId` is `externalId`, or null. */
  findProfileByExternalId(externalId: string, options?: CampaignCallOptions): Promise<CampaignRecord | null> {
    return this.profiles.findByExternalId(externalId, options);
  }

  /** Profiles whose email is `email` (`byEmail` filter). */
  findProfilesByEmail(email: string, options?: CampaignCallOptions): Promise<CampaignRecord[]> {
    return this.profiles.findByEmail(email, options);
  }

  getProfile(pkey: string, options?: CampaignCallOptions): Promise<CampaignRecord | null> {
    return this.records.getRecord('profile', pkey, options);
  }

  createProfile(fields: Record<string, unknown>, options?: CampaignCallOptions): Promise<CampaignRecord> {
    return this.records.createRecord('profile', fields, options);
  }

  updateProfile(
    pkey: string,
    fields: Record<string, unknown>,
    options?: CampaignCallOptions,
  ): Promise<CampaignWriteAck> {
    return this.records.updateRecord('profile', pkey, fields, options);
  }

  deleteProfile(pkey: string, options?: CampaignCallOptions): Promise<void> {
    return this.records.deleteRecord('profile', pkey, options);
  }

  // ------------------------------------------------------------------ any resource

  /** A record by PKey, or null when Campaign answers 404 (missing or hidden). */
  getRecord(resource: string, pkey: string, options?: CampaignCallOptions): Promise<CampaignRecord | null> {
    return this.records.getRecord(resource, pkey, options);
  }

  /**
   * A record by its identification-key value (`GET …/<resource>/<key>`), or null. An undeclared
   * key throws `CAMPAIGN_KEY_NOT_DECLARED` naming `keyField` (a RemoteSetupError).
   */
  findByKey(
    resource: string,
    keyValue: string,
    options?: CampaignCallOptions,
    keyField?: string,
  ): Promise<CampaignRecord | null> {
    return this.records.findByKey(resource, keyValue, options, keyField);
  }

  /** `POST`: returns the created record as Campaign echoes it (201). */
  createRecord(
    resource: string,
    fields: Record<string, unknown>,
    options?: CampaignCallOptions,
  ): Promise<CampaignRecord> {
    return this.records.createRecord(resource, fields, options);
  }

  /** `PATCH` by PKey or identification-key value; returns `{PKey, href}`. */
  updateRecord(
    resource: string,
    ref: string,
    fields: Record<string, unknown>,
    options?: CampaignCallOptions,
  ): Promise<CampaignWriteAck> {
    return this.records.updateRecord(resource, ref, fields, options);
  }

  /** `DELETE` by PKey or identification-key value. */
  deleteRecord(resource: string, ref: string, options?: CampaignCallOptions): Promise<void> {
    return this.records.deleteRecord(resource, ref, options);
  }

  // ------------------------------------------------------------------ collections

  /** One page of a collection (the first, or the one `nextHref` names). */
  listPage(
    resource: string,
    options?: CampaignListOptions & { nextHref?: string | null },
  ): Promise<CampaignPage> {
    return this.collections.listPage(resource, options);
  }

  /** Every record of a collection, page after page, following `next.href`. */
  list(resource: string, options?: CampaignListOptions): AsyncGenerator<CampaignRecord> {
    return this.collections.list(resource, options);
  }

  /** `_count` over the same filters. */
  count(resource: string, options?: CampaignListOptions): Promise<number> {
    return this.collections.count(resource, options);
  }

  // ------------------------------------------------------------------ metadata

  /** Fields, types, identification key and links (cardinality, deletion) of a resource. */
  describeResource(resource: string, options?: CampaignCallOptions): Promise<CampaignResourceMetadata> {
    return this.metadata.describeResource(resource, options);
  }

  /** Names of the resources a root serves (`GET /<root>/`). */
  listResources(root: CampaignRoot, options?: CampaignCallOptions): Promise<string[]> {
    return this.metadata.listResources(root, options);
  }

  // ------------------------------------------------------------------ privacy tool

  createPrivacyRequest(
    input: PrivacyToolRequestInput,
    options?: CampaignCallOptions,
  ): Promise<PrivacyToolRequestState> {
    return this.privacyTool.createRequest(input, options);
  }

  getPrivacyRequest(pkey: string, options?: CampaignCallOptions): Promise<PrivacyToolRequestState | null> {
    return this.privacyTool.getRequest(pkey, options);
  }

  listPrivacyRequests(options?: CampaignCallOptions): Promise<PrivacyToolRequestState[]> {
    return this.privacyTool.listRequests(options);
  }

  // ------------------------------------------------------------------ workflows

  /** `GET /workflow/execution/{id}`: state and activities (External signals with their trigger URL). */
  getWorkflowExecution(
    workflowId: string,
    options?: CampaignCallOptions,
  ): Promise<CampaignWorkflowExecution> {
    return this.workflows.getExecution(workflowId, options);
  }

  /** The trigger URL of the workflow's External signal activity (`activity`, or its only one). */
  getSignalTriggerUrl(workflowId: string, activity?: string, options?: CampaignCallOptions): Promise<string> {
    return this.workflows.signalTriggerUrl(workflowId, activity, options);
  }

  /** `start`, `pause`, `resume` or `stop` a workflow. */
  controlWorkflow(
    workflowId: string,
    command: CampaignWorkflowCommand,
    options?: CampaignCallOptions,
  ): Promise<void> {
    return this.workflows.sendCommand(workflowId, command, options);
  }

  /** Trigger an External signal (typed errors: parameters, not started, too soon). */
  triggerSignal(
    triggerUrl: string,
    input: CampaignSignalInput,
    options?: CampaignCallOptions,
  ): Promise<void> {
    return this.workflows.triggerSignal(triggerUrl, input, options);
  }

  async close(): Promise<void> {
    await this.api.close();
  }
}
