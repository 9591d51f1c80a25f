/**
 * A `Retry-After` header (RFC 9110 §10.2.3: delay-seconds or an HTTP date) as milliseconds from
 * `now`, the clock value when the answer arrived; undefined when absent or unreadable. A date in
 * the past, or a negative number, means "now" (0). Repeated headers: the first counts.
 */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  now: number,
): number | undefined {
  const text = typeof value === 'string' ? value : value?.[0];
  if (text === undefined || text.trim() === '') return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
