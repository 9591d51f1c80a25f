import { StoreError } from '../../core/errors.js';

/** Dataverse `versionnumber` is a rowversion: up to 20 decimal digits, beyond `Number` and `int8`. */
const sourceVersionPattern = /^\d{1,20}$/;

/** Check a source version from the caller; `undefined` and `null` mean "unknown". */
export function parseSourceVersion(value: string | null | undefined, where: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !sourceVersionPattern.test(value)) {
    throw new StoreError(
      'STORE_INVALID_INPUT',
      `${where}: sourceVersion must be a decimal string of 1 to 20 digits`,
    );
  }
  return value;
}

/** Numeric comparison of two decimal source versions (`'10' > '9'`). */
export function compareSourceVersions(a: string, b: string): number {
  const left = BigInt(a);
  const right = BigInt(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** True when `candidate` is known to be older than `current`; unknown versions are never stale. */
export function isOlderSourceVersion(candidate: string | null, current: string | null): boolean {
  return candidate !== null && current !== null && compareSourceVersions(candidate, current) < 0;
}

/** The higher of two versions, ignoring unknowns. */
export function newerSourceVersion(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareSourceVersions(a, b) >= 0 ? a : b;
}
