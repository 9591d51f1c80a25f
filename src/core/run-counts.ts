import type { RunCounts, RunCountsDelta } from './ports/state-store.js';

/** The plain count fields of a run (every field of `RunCounts` but `skipped`). */
export const runScalarCounts = [
  'read',
  'created',
  'updated',
  'adopted',
  'deleted',
  'unchanged',
  'parked',
  'deadLettered',
  'campaignCalls',
] as const satisfies readonly Exclude<keyof RunCounts, 'skipped'>[];

/** Counts of a run that has done nothing yet. */
export function emptyRunCounts(): RunCounts {
  return {
    read: 0,
    created: 0,
    updated: 0,
    adopted: 0,
    deleted: 0,
    unchanged: 0,
    skipped: {},
    parked: 0,
    deadLettered: 0,
    campaignCalls: 0,
  };
}

/**
 * `base` plus `delta` (skipped per reason), as a new object. `check` sees each added value with
 * the name of its field first (the store refuses what is not a non-negative integer).
 */
export function addRunCounts(
  base: RunCounts,
  delta: RunCountsDelta | RunCounts | undefined,
  check: (field: string, value: number) => void = () => {},
): RunCounts {
  if (delta === undefined) return base;
  const out: RunCounts = { ...base, skipped: { ...base.skipped } };
  for (const key of runScalarCounts) {
    const add = delta[key];
    if (add === undefined) continue;
    check(key, add);
    out[key] += add;
  }
  for (const [reason, add] of Object.entries(delta.skipped ?? {})) {
    check(`skipped.${reason}`, add);
    out.skipped[reason] = (out.skipped[reason] ?? 0) + add;
  }
  return out;
}
