/**
 * Routine outcomes at port boundaries are values, not exceptions (Nango's `Result`, as a plain
 * discriminated union). Broken invariants still throw.
 */
export type Result<T, E = Error> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function err<E>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}
