import type { PlainRef, SecretRef } from './config-ref.js';
import type { SyncConfig } from './config-schema.js';
import type { Secret } from './secret.js';

/** A config type with its references resolved: secrets become {@link Secret}, plain refs strings. */
export type Resolved<T> = T extends SecretRef
  ? Secret
  : T extends PlainRef
    ? string
    : T extends Secret
      ? Secret
      : T extends readonly (infer Item)[]
        ? readonly Resolved<Item>[]
        : T extends object
          ? { readonly [K in keyof T]: Resolved<T[K]> }
          : T;

/**
 * The configuration the rest of the program receives: defaults applied, secrets resolved into
 * {@link Secret}s (registered with the redactor), file paths absolute, and the whole object deeply
 * frozen.
 */
export type ResolvedConfig = Resolved<SyncConfig>;

export type ResolvedDynamicsConfig = ResolvedConfig['dynamics'];
export type ResolvedCampaignConfig = ResolvedConfig['campaign'];
export type ResolvedSftpConfig = NonNullable<ResolvedCampaignConfig['sftp']>;
export type ResolvedStoreConfig = ResolvedConfig['store'];
export type ResolvedEngineConfig = ResolvedConfig['engine'];
export type ResolvedFlowsConfig = ResolvedConfig['flows'];
export type ResolvedContactsFlow = ResolvedFlowsConfig['contacts'];
export type ResolvedCustomTable = ResolvedFlowsConfig['customTables'][number];
export type ResolvedOptOutFlow = ResolvedFlowsConfig['optOut'];
export type ResolvedPrivacyConfig = NonNullable<ResolvedConfig['privacy']>;
export type ResolvedServerConfig = ResolvedConfig['server'];
export type ResolvedAlertsConfig = ResolvedConfig['alerts'];
export type ResolvedHealthConfig = ResolvedConfig['health'];
