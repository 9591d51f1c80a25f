import { adobeEventsErrors } from './error-codes/adobe-events-error-codes.js';
import { alertErrors } from './error-codes/alert-error-codes.js';
import { campaignErrors } from './error-codes/campaign-error-codes.js';
import { configErrors } from './error-codes/config-error-codes.js';
import { coreErrors } from './error-codes/core-error-codes.js';
import { dynamicsErrors } from './error-codes/dynamics-error-codes.js';
import { engineErrors } from './error-codes/engine-error-codes.js';
import type {
  ErrorCodeEntry,
  ErrorCodeOf,
  ErrorCodeOfKind,
  ErrorCodePattern,
} from './error-codes/error-code-table.js';
import { imsErrors } from './error-codes/ims-error-codes.js';
import { optOutErrors } from './error-codes/opt-out-error-codes.js';
import { preflightErrors } from './error-codes/preflight-error-codes.js';
import { privacyErrors } from './error-codes/privacy-error-codes.js';
import { privacyServiceErrors } from './error-codes/privacy-service-error-codes.js';
import { serverErrors } from './error-codes/server-error-codes.js';
import { sftpErrors } from './error-codes/sftp-error-codes.js';
import { storeErrors } from './error-codes/store-error-codes.js';
import { retryableByKind, type ErrorKind } from './error-kind.js';

/**
 * Every error code of the project, one `as const` table per area (`error-codes/<area>-error-codes.ts`).
 * The tables live in core, not next to the connectors, because SyncError's `code` is typed by their
 * union and the engine matches on connector codes (`DYNAMICS_DELTA_EXPIRED`, `SFTP_NOT_FOUND`)
 * without importing a connector. docs/errors.md is rendered from this list (`npm run docs:errors`).
 */
export const errorCatalogue = [
  configErrors,
  preflightErrors,
  storeErrors,
  engineErrors,
  optOutErrors,
  privacyErrors,
  serverErrors,
  dynamicsErrors,
  campaignErrors,
  imsErrors,
  privacyServiceErrors,
  adobeEventsErrors,
  sftpErrors,
  alertErrors,
  coreErrors,
] as const;

type Catalogue = (typeof errorCatalogue)[number];
export type ErrorArea = Catalogue['area'];
/** Every catalogued code; a code that is not catalogued does not type-check. */
export type ErrorCode = ErrorCodeOf<Catalogue>;

/** The remote systems: their failures are not the caller's (HTTP 502/503) and exit the CLI with 4. */
export const remoteErrorAreas = [
  'dynamics',
  'campaign',
  'ims',
  'privacy-service',
  'adobe-events',
  'sftp',
  'alerts',
] as const satisfies readonly ErrorArea[];
export type RemoteErrorArea = (typeof remoteErrorAreas)[number];

export type ConfigErrorCode = ErrorCodeOf<typeof configErrors>;
export type StoreErrorCode = ErrorCodeOf<typeof storeErrors>;
export type OptOutErrorCode = ErrorCodeOf<typeof optOutErrors>;
export type SftpErrorCode = ErrorCodeOf<typeof sftpErrors>;
/** Codes a ConnectorError may carry: those of the remote systems. */
export type RemoteErrorCode = ErrorCodeOf<Extract<Catalogue, { area: RemoteErrorArea }>>;
/** Codes a RateLimitedError may carry. */
export type ThrottledRemoteCode = ErrorCodeOfKind<Extract<Catalogue, { area: RemoteErrorArea }>, 'throttled'>;

/** A code as the edges and the engine read it. */
export interface ErrorDescription {
  readonly area: ErrorArea;
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  readonly meaning: string;
  readonly remedy: string;
}

const fixedCodes = new Map<string, ErrorDescription>();
const patterns: { area: ErrorArea; pattern: ErrorCodePattern }[] = [];
for (const { area, codes, patterns: own } of errorCatalogue) {
  const entries: Readonly<Record<string, ErrorCodeEntry>> = codes;
  for (const [code, entry] of Object.entries(entries)) {
    fixedCodes.set(code, {
      area,
      kind: entry.kind,
      retryable: entry.retryable ?? retryableByKind[entry.kind],
      meaning: entry.meaning,
      remedy: entry.remedy,
    });
  }
  for (const pattern of own) patterns.push({ area, pattern });
}

/**
 * Area, kind and retryability of a code: a fixed code's entry, or the pattern whose prefix (and,
 * when it lists them, status) the code carries. Undefined for a text that is not a catalogued code
 * (a code read back from durable data written by an older version).
 */
export function describeErrorCode(code: string): ErrorDescription | undefined {
  const fixed = fixedCodes.get(code);
  if (fixed) return fixed;
  const match = patterns.find(
    ({ pattern }) =>
      code.startsWith(pattern.prefix) &&
      (pattern.statuses === undefined || pattern.statuses.some((s) => code === `${pattern.prefix}${s}`)),
  );
  if (!match) return undefined;
  const { area, pattern } = match;
  return {
    area,
    kind: pattern.kind,
    retryable: pattern.retryable ?? retryableByKind[pattern.kind],
    meaning: pattern.meaning,
    remedy: pattern.remedy,
  };
}
