import { createSyncEngine } from '../../src/cli/runtime/start-sync.js';
import type { SyncRuntime } from '../../src/cli/runtime/sync-runtime.js';
import { FlowControl } from '../../src/engine/flow-control.js';
import { readCheckpointIfAny } from '../../src/engine/checkpoints.js';
import { cursorCheckpoint, type CursorState } from '../../src/engine/feed-cursor.js';
import type { SyncEngine } from '../../src/engine/sync-engine.js';
import type { SyncTestBed } from './sync-test-bed.js';

/**
 * Poll `check` until it holds. The bound only turns a hang into a readable failure; nothing is
 * asserted about how long it took.
 */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  boundMs = 60_000,
): Promise<void> {
  const giveUpAt = Date.now() + boundMs;
  while (!(await check())) {
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The persisted read position of a flow, or null before its first read. */
export async function readCursor(runtime: SyncRuntime, flowId: string): Promise<CursorState | null> {
  return readCheckpointIfAny(runtime.store.checkpoints, cursorCheckpoint, flowId);
}

/** True once every flow's last read ended (delta phase, caught up) at or after `since`. */
export async function allCaughtUpSince(
  runtime: SyncRuntime,
  flowIds: readonly string[],
  since: number,
): Promise<boolean> {
  for (const flowId of flowIds) {
    const cursor = await readCursor(runtime, flowId);
    if (cursor?.phase !== 'delta' || cursor.caughtUpAt === null || cursor.caughtUpAt < since) return false;
  }
  return true;
}

/**
 * Run the pollers of a fresh process until each of `flowIds` has read Dynamics to its end (a
 * re-baseline included), with the workers left as they are asked: `work: false` stages changes
 * without writing any (the workers are elsewhere, busy or down), `work: true` writes too (use with
 * a throttled Campaign). Flows in `paused` are neither read nor written.
 */
export async function readUntilCaughtUp(
  bed: SyncTestBed,
  options: {
    flowIds: readonly string[];
    work: boolean;
    paused?: readonly string[];
    allFlows?: readonly string[];
    /** Called after the engine is built (its pre-flight read Campaign) and before it starts. */
    beforeStart?: () => void;
    /** Also wait for this before stopping (e.g. the workers tried what was staged). */
    until?: (runtime: SyncRuntime) => Promise<boolean>;
  },
): Promise<{ runtime: SyncRuntime; engine: SyncEngine }> {
  const runtime = await bed.openRuntime();
  const engine = await createSyncEngine(runtime, { work: options.work });
  const control = new FlowControl(runtime.store, runtime.clock);
  for (const flow of options.allFlows ?? options.flowIds) {
    if (options.paused?.includes(flow)) await control.pause(flow, 'test: read later');
    else await control.resume(flow);
  }
  options.beforeStart?.();
  const since = runtime.clock.now();
  await engine.start();
  await waitUntil('every flow caught up', () => allCaughtUpSince(runtime, options.flowIds, since));
  if (options.until) await waitUntil('the condition asked for', () => options.until!(runtime));
  await engine.stop();
  return { runtime, engine };
}
