import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time comparison of a presented credential with the expected one. Both are hashed first,
 * so neither the content nor the length of the expected value leaks through timing.
 */
export function isSameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}
