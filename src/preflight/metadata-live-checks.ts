import type { ConfigFinding } from '../config/config-finding.js';
import type { LiveCheck } from '../config/live-check.js';
import type { ResolvedConfig } from '../config/resolved-config.js';
import type { MetadataSource } from '../core/ports/metadata.js';
import { checkCustomTables } from './custom-table-preflight.js';
import { checkContactFlow } from './contact-flow-preflight.js';

/** A metadata source over clients that must be closed after the check. */
export interface OpenedMetadataSource {
  readonly source: MetadataSource;
  close(): Promise<void>;
}

/** Opens clients of both tenants for one configuration (wired by the CLI). */
export type OpenMetadataSource = (config: ResolvedConfig) => OpenedMetadataSource;

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** A live check that reads both tenants' metadata through the opened readers. */
function metadataLiveCheck(
  name: string,
  appliesTo: (config: ResolvedConfig) => boolean,
  check: (config: ResolvedConfig, source: MetadataSource) => Promise<ConfigFinding[]>,
  open: OpenMetadataSource,
): LiveCheck {
  return {
    name,
    appliesTo,
    async run({ config, signal }) {
      const opened = open(config);
      try {
        return await abortable(check(config, opened.source), signal);
      } finally {
        await opened.close();
      }
    },
  };
}

/**
 * `validate`'s live check of the custom tables (`custom-tables`): the rules of
 * {@link checkCustomTables}, read from both tenants' metadata.
 */
export function createCustomTableLiveCheck(open: OpenMetadataSource): LiveCheck {
  return metadataLiveCheck(
    'custom-tables',
    (config) => config.flows.customTables.some((table) => table.enabled),
    (config, source) => checkCustomTables(config.flows, source),
    open,
  );
}

/**
 * `validate`'s live check of the contact flow and the opt-out mapping (`contacts`): the rules of
 * {@link checkContactFlow} (opt-out columns must be Boolean columns, mapped fields must exist).
 */
export function createContactFlowLiveCheck(open: OpenMetadataSource): LiveCheck {
  return metadataLiveCheck(
    'contacts',
    (config) => config.flows.contacts.enabled || config.flows.optOut.mode !== 'disabled',
    (config, source) => checkContactFlow(config.flows, source),
    open,
  );
}
