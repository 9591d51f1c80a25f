import type { EmulatorClock } from '../shared/emulator-clock.js';
import type { FaultInjector } from '../shared/fault-injector.js';
import type { CampaignLoadModel } from './campaign-load-model.js';
import type { CampaignPKeyCodec } from './campaign-pkey-codec.js';
import type { CampaignPrivacyTool } from './campaign-privacy-tool.js';
import type { CampaignRecordStore } from './campaign-record-store.js';
import type { CampaignWorkflows } from './campaign-workflows.js';
import type { ErrorEnvelope } from './campaign-wire-format.js';
import type { ImsTokenIssuer } from './ims-token-issuer.js';
import type { CampaignEmailEventGenerator } from './journal/campaign-email-event-generator.js';
import type { CampaignEventJournal } from './journal/campaign-event-journal.js';
import type { PrivacyServiceEmulator } from './privacy-service-emulator.js';

/** What a by-key URL answers when the resource's identification key is not declared (issue 18). */
export const undeclaredKeyAnswers = ['not-found', 'xtk-500'] as const;
export type UndeclaredKeyAnswer = (typeof undeclaredKeyAnswers)[number];

/**
 * Identification-key addressing on the wire (`GET/PATCH/DELETE …/<resource>/<key value>`) when the
 * key is not declared — independent of what the resource metadata says (see README "Choices").
 */
export interface CampaignKeyAddressingSettings {
  /**
   * `not-found`: 404 RST-360011 "Unable to find document …" (the documented answer to an unknown
   * raw id); `xtk-500`: 500 "… XTK-170036 Unable to parse expression …" (documented for malformed
   * PKeys; assumed for key values of an undeclared key). @default 'not-found'
   */
  undeclaredKeyAnswer: UndeclaredKeyAnswer;
  /**
   * Resources (`profile`, `cus…`) whose key is answered as not declared on by-key URLs although
   * the seed declares it (metadata, uniqueness and filters unchanged): a tenant whose metadata
   * and addressing disagree. @default []
   */
  undeclaredKeyResources: string[];
}

/** Behaviour switches for the places the facts leave open (see README "Choices"). */
export interface CampaignBehaviourSettings extends CampaignKeyAddressingSettings {
  /** Rows above which `next` needs `_forcePagination=true` (XtkBigTableThreshold). @default 100_000 */
  bigTableThreshold: number;
  /** Envelope of application errors. @default 'code-message' (`{"code":404,"message":"RST-…"}`) */
  errorEnvelope: ErrorEnvelope;
  /** Status of a PATCH/DELETE on a hidden (orphan) child. @default 404 */
  hiddenWriteStatus: 404 | 500;
  /**
   * Shortest time between two accepted External signals of one workflow (documented: "cannot be
   * triggered more often than every 10 minutes"). @default 600_000
   */
  signalMinIntervalMs: number;
  /** Status of a refused signal (undocumented; RST/XTK errors are 500 elsewhere). @default 500 */
  signalErrorStatus: 400 | 500;
}

export const defaultBehaviourSettings: CampaignBehaviourSettings = {
  undeclaredKeyAnswer: 'not-found',
  undeclaredKeyResources: [],
  bigTableThreshold: 100_000,
  errorEnvelope: 'code-message',
  hiddenWriteStatus: 404,
  signalMinIntervalMs: 600_000,
  signalErrorStatus: 500,
};

/** Everything the emulator's routes and admin handle share. */
export interface CampaignEmulatorContext {
  readonly org: string;
  readonly imsOrgId: string;
  readonly clock: EmulatorClock;
  readonly codec: CampaignPKeyCodec;
  readonly store: CampaignRecordStore;
  readonly tokens: ImsTokenIssuer;
  readonly load: CampaignLoadModel;
  readonly faults: FaultInjector;
  readonly privacyTool: CampaignPrivacyTool;
  readonly privacyService: PrivacyServiceEmulator;
  /** Workflows other than the opt-out export (signal and import workflows). */
  readonly workflows: CampaignWorkflows;
  /** Adobe I/O Events journal of Campaign's e-mail events, and what fills it. */
  readonly journal: CampaignEventJournal;
  readonly emailEvents: CampaignEmailEventGenerator;
  /** Mutable: the admin API changes it at run time. */
  readonly behaviour: CampaignBehaviourSettings;
  /** Run time-driven processes (privacy requests and jobs) up to the emulated now. */
  tick(): void;
}
