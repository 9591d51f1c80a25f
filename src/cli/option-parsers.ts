import { InvalidArgumentError } from 'commander';

/**
 * A commander argument parser for a whole-number option (`--contacts 10`): anything else — `abc`,
 * `1.5`, `-3`, an empty value, a number past `max` — is a usage error (exit code 2) that names the
 * option, the accepted range and what was given, before the command runs.
 *
 * @param name the option as typed, e.g. `--contacts`
 */
export function wholeNumber(
  name: string,
  range: { min?: number; max?: number } = {},
): (value: string) => number {
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const accepted = range.max === undefined ? `≥ ${min}` : `from ${min} to ${max}`;
  return (value) => {
    const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be a whole number ${accepted}, got '${value}'`);
    return n;
  };
}

/** A whole number ≥ 1 (page sizes, counts), at most `max` when given. */
export function positiveInt(name: string, max?: number): (value: string) => number {
  return wholeNumber(name, max === undefined ? { min: 1 } : { min: 1, max });
}

/** A whole number ≥ 0 (seeds, rates that may be off), at most `max` when given. */
export function nonNegativeInt(name: string, max?: number): (value: string) => number {
  return wholeNumber(name, max === undefined ? { min: 0 } : { min: 0, max });
}

/** A TCP port; 0 picks a free one. */
export const portNumber = (name: string): ((value: string) => number) => nonNegativeInt(name, 65_535);
