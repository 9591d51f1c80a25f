import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SyncError } from '../../core/errors.js';
import { runKinds, type RunRecord } from '../../core/ports/state-store.js';
import { toRunView, type RunView } from '../../engine/runs/run-view.js';
import { definedOnly, pageQuerySchema, parseInput } from './route-input.js';
import type { RouteContext } from './route-context.js';

export type { RunView, RunProgress, FlowPhase } from '../../engine/runs/run-view.js';
export type {
  RunCounts,
  RunEvent,
  RunKind,
  RunOutcome,
  RunPhase,
  RunTrigger,
} from '../../core/ports/state-store.js';

/** `GET /api/runs`: one page of runs, newest first. */
export interface RunListAnswer {
  items: RunView[];
  /** Cursor of the next (older) page; null on the last. */
  nextCursor: string | null;
}

/** `GET /api/runs/:id`: one run with its events, oldest first. */
export type RunAnswer = RunView & { events: NonNullable<RunView['events']> };

const listQuery = pageQuerySchema.extend({
  flow: z.string().min(1).max(200).optional(),
  kind: z.enum(runKinds).optional(),
});

const runParams = z.object({ id: z.string().regex(/^\d{1,19}$/, 'must be a run id (digits)') });

/** Run history: initial loads, replays, re-baselines, opt-out files, privacy requests. */
export function registerRunRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;
  // A run this process follows shows its measured rate and ETA; any other its stored figures.
  const view = (run: RunRecord): RunView =>
    (run.outcome === 'running' ? deps.engine.liveRun?.(run.id) : null) ?? toRunView(run, deps.clock.now());

  app.get('/api/runs', async (request): Promise<RunListAnswer> => {
    const query = parseInput(listQuery, request.query, 'query');
    const page = await deps.store.runs.list(
      definedOnly({ flow: query.flow, kind: query.kind }),
      definedOnly({ cursor: query.cursor, limit: query.limit }),
    );
    return { items: page.items.map(view), nextCursor: page.nextCursor };
  });

  app.get('/api/runs/:id', async (request): Promise<RunAnswer> => {
    const { id } = parseInput(runParams, request.params, 'path');
    const run = await deps.store.runs.get(id);
    if (!run) throw new SyncError('RUN_NOT_FOUND', 'no such run; GET /api/runs lists them');
    const { events, ...record } = run;
    return { ...view(record), events };
  });
}
