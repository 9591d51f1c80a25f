/**
 * Record keys and source versions: the one place their rules live.
 *
 * A record key identifies a record within a flow. For Dynamics rows it is the row id, a GUID, in
 * lower case (Dataverse answers ids in lower case but accepts any case). A source version is
 * Dataverse's `versionnumber`, a rowversion of up to 20 decimal digits (beyond `Number` and
 * `int8`), compared numerically.
 */

const dynamicsIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` can be a Dataverse row id (a GUID, any case). */
export function isDynamicsId(id: string): boolean {
  return dynamicsIdPattern.test(id);
}

/** The record key of a Dataverse row id: the GUID in lower case. */
export function dynamicsRecordKey(id: string): string {
  return id.toLowerCase();
}

const sourceVersionPattern = /^\d{1,20}$/;

/** Whether `value` is a well-formed source version (1 to 20 decimal digits). */
export function isSourceVersion(value: unknown): value is string {
  return typeof value === 'string' && sourceVersionPattern.test(value);
}

/** Numeric comparison of two decimal source versions (`'10' > '9'`, leading zeros ignored). */
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

/** Whether a key field read from Campaign holds this record key (Dynamics ids compare in any case). */
export function holdsRecordKey(value: unknown, recordKey: string): boolean {
  return typeof value === 'string' && value.toLowerCase() === recordKey.toLowerCase();
}
