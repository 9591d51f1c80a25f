import { setFlagsFromString } from 'node:v8';
import type { BulkWorkHooks } from '../../engine/records/bulk-loader.js';

/**
 * Keeps the process's heap tight while a bulk lane works (docs/bulk-loads.md, Memory). The lane's
 * batches (5,000-record pages, lease and settle slices) live long enough to reach V8's old
 * generation and die there; V8 collects that generation when it has grown by an adaptive factor
 * over what survived the last full collection — up to 4× on a large machine, so ~50 MiB live let
 * the heap reach ~200 MiB. While a lane works, V8's `--heap-growing-percent` is set to the lane's
 * `heapGrowthPercent` (the old generation grows to (1 + p/100) × its live size before a full
 * collection). Not a limit: the heap still grows as far as the live data needs, at the cost of more
 * full collections (CPU). The flag is process-wide, so one instance serves every lane of the
 * process: the smallest percent of the lanes that work applies, and V8's default (0: adaptive) is
 * back when none does. An operator's own `--heap-growing-percent` (command line or `NODE_OPTIONS`)
 * is left alone; a lane with percent 0 asks for nothing.
 */
export class BulkHeapGrowth {
  private readonly working = new Map<object, number>();
  private applied = 0;
  private readonly setFlags: (flags: string) => void;
  private readonly operatorSet: boolean;

  constructor(
    options: {
      /** @default node's v8.setFlagsFromString */
      setFlags?: (flags: string) => void;
      /** Node's own flags. @default process.execArgv and NODE_OPTIONS */
      nodeFlags?: readonly string[];
    } = {},
  ) {
    this.setFlags = options.setFlags ?? setFlagsFromString;
    const nodeFlags = options.nodeFlags ?? [
      ...process.execArgv,
      ...(process.env.NODE_OPTIONS ?? '').split(/\s+/),
    ];
    this.operatorSet = nodeFlags.some((f) => /^--heap[-_]growing[-_]percent(=|$)/.test(f));
  }

  /** The hooks of one lane asking for `percent` (0: nothing) while it works. */
  hooks(percent: number): BulkWorkHooks {
    const lane = {};
    return {
      engaged: () => {
        if (percent > 0) this.working.set(lane, percent);
        this.apply();
      },
      disengaged: () => {
        this.working.delete(lane);
        this.apply();
      },
    };
  }

  private apply(): void {
    if (this.operatorSet) return;
    const wanted = this.working.size === 0 ? 0 : Math.min(...this.working.values());
    if (wanted === this.applied) return;
    this.setFlags(`--heap-growing-percent=${wanted}`);
    this.applied = wanted;
  }
}
