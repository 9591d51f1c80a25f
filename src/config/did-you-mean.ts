/** Optimal string alignment distance: edits plus adjacent transpositions (`prot` → `port` is 1). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The candidate closest to `input`, if it is close enough to be a likely typo (case differences
 * count as near; otherwise at most a third of the length may differ).
 */
export function suggestClosest(input: string, candidates: Iterable<string>): string | undefined {
  const lowered = input.toLowerCase();
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    if (candidate === input) continue;
    const distance = candidate.toLowerCase() === lowered ? 0 : editDistance(lowered, candidate.toLowerCase());
    if (best === undefined || distance < best.distance) best = { candidate, distance };
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(1, Math.floor(Math.max(input.length, best.candidate.length) / 3));
  return best.distance <= allowed ? best.candidate : undefined;
}

/** ` (did you mean "x"?)` or an empty string. */
export function formatHint(input: string, candidates: Iterable<string>): string {
  const suggestion = suggestClosest(input, candidates);
  return suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
}
