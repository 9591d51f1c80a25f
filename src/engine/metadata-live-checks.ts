import type { LiveCheck } from '../../config/live-check.js';
import type { ResolvedConfig } from '../../config/resolved-config.js';
import type { CustomTableMetadataSource } from './custom-table-metadata-source.js';
import { checkCustomTables } from './custom-table-preflight.js';

/** A metadata source over clients that must be closed after the check. */
export interface OpenedMetadataSource {
  readonly source: CustomTableMetadataSource;
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

/**
 * `validate`'s live check of the custom tables (`custom-tables`): the rules of
 * {@link checkCustomTables}, read from both tenants' metadata.
 */
export function createCustomTableLiveCheck(open: OpenMetadataSource): LiveCheck {
  return {
    name: 'custom-tables',
    appliesTo: (config) => config.flows.customTables.some((table) => table.enabled),
    async run({ config, signal }) {
      const opened = open(config);
      try {
        return await abortable(checkCustomTables(config.flows, opened.source), signal);
      } finally {
        await opened.close();
      }
    },
  };
}
