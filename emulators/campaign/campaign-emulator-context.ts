import type { EmulatorClock } from '../shared/emulator-clock.js';
import type { FaultInjector } from '../shared/fault-injector.js';
import type { CampaignLoadModel } from './campaign-load-model.js';
import type { CampaignPKeyCodec } from './campaign-pkey-codec.js';
import type { CampaignPrivacyTool } from './campaign-privacy-tool.js';
import type { CampaignRecordStore } from './campaign-record-store.js';
import type { ErrorEnvelope } from './campaign-wire-format.js';
import type { ImsTokenIssuer } from './ims-token-issuer.js';
import type { PrivacyServiceEmulator } from './privacy-service-emulator.js';

/** Behaviour switches for the places the facts leave open (see README "Choices"). */
export interface CampaignBehaviourSettings {
  /** Rows above which `next` needs `_forcePagination=true` (XtkBigTableThreshold). @default 100_000 */
  bigTableThreshold: number;
  /** Envelope of application errors. @default 'code-message' (`{"code":404,"message":"RST-…"}`) */
  errorEnvelope: ErrorEnvelope;
  /** Status of a PATCH/DELETE on a hidden (orphan) child. @default 404 */
  hiddenWriteStatus: 404 | 500;
}

export const defaultBehaviourSettings: CampaignBehaviourSettings = {
  bigTableThreshold: 100_000,
  errorEnvelope: 'code-message',
  hiddenWriteStatus: 404,
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
  /** Mutable: the admin API changes it at run time. */
  readonly behaviour: CampaignBehaviourSettings;
  /** Run time-driven processes (privacy requests and jobs) up to the emulated now. */
  tick(): void;
}
