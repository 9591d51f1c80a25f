import { StoreError } from '../../core/errors.js';
import { isSourceVersion } from '../../core/record-key.js';

/** Check a source version from the caller; `undefined` and `null` mean "unknown". */
export function parseSourceVersion(value: string | null | undefined, where: string): string | null {
  if (value === undefined || value === null) return null;
  if (!isSourceVersion(value)) {
    throw new StoreError(
      'STORE_INVALID_INPUT',
      `${where}: sourceVersion must be a decimal string of 1 to 20 digits`,
    );
  }
  return value;
}
