import { ConnectorError, isRetryable } from '../core/errors.js';
import { computeRetryDelay, hasAttemptsLeft, resolveRetryPolicy } from '../core/retry-policy.js';
import type { MetadataSource, SourceTableMetadata, TargetResourceMetadata } from '../core/ports/metadata.js';

/** The two metadata readers (the production `DynamicsMetadataReader` and `CampaignClient` satisfy them). */
export interface MetadataReaders {
  dynamics: { getTableMetadata(logicalName: string): Promise<SourceTableMetadata> };
  campaign: { describeResource(resource: string): Promise<TargetResourceMetadata> };
}

/** A metadata read that fails with a retryable error (5xx, 429, timeouts) is tried 5 times in all. */
const readRetry = resolveRetryPolicy(
  { initialDelayMs: 100, maxDelayMs: 1600, maxAttempts: 5, jitter: 'none' },
  'metadata read',
);

/**
 * Read once, null when the remote says "not found"; retryable failures are tried again a few
 * times, so a passing 5xx does not stop a start-up or fail `validate`.
 */
async function readOrAbsent<T>(read: () => Promise<T>): Promise<T | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (error instanceof ConnectorError && error.status === 404) return null;
      if (!hasAttemptsLeft(readRetry, attempt) || !isRetryable(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, computeRetryDelay(readRetry, attempt)));
    }
  }
}

/**
 * A metadata source over both readers, each table and resource read once (the pre-flight and the
 * flow builder ask about the same ones). A "not found" answer means absent; other failures throw.
 */
export function createMetadataSource(readers: MetadataReaders): MetadataSource {
  const tables = new Map<string, Promise<SourceTableMetadata | null>>();
  const resources = new Map<string, Promise<TargetResourceMetadata | null>>();
  function once<T>(cache: Map<string, Promise<T>>, name: string, read: () => Promise<T>): Promise<T> {
    let pending = cache.get(name);
    if (!pending) {
      pending = read();
      cache.set(name, pending);
      // A failed read is not remembered: the next caller asks again.
      pending.catch(() => cache.delete(name));
    }
    return pending;
  }
  return {
    sourceTable: (logicalName) =>
      once(tables, logicalName, () => readOrAbsent(() => readers.dynamics.getTableMetadata(logicalName))),
    targetResource: (name) =>
      once(resources, name, () => readOrAbsent(() => readers.campaign.describeResource(name))),
  };
}
