import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Page, RetryingItem } from '../../core/ports/state-store.js';
import type { DispatchedAlert } from '../../engine/alert-dispatcher.js';
import type { StatusSample } from '../status/status-history.js';
import type { FlowView } from '../status/status-reader.js';
import { definedOnly, pageQuerySchema, parseInput } from './route-input.js';
import type { RouteContext } from './route-context.js';
import { SyncError } from '../../core/errors.js';

const flowParams = z.object({ flow: z.string().min(1).max(200) });
const pauseBody = z.strictObject({ reason: z.string().max(200).optional() });
const resumeBody = z.strictObject({ acceptMassChange: z.boolean().optional() });
/** A journal flow's (F6) replay may start from a date (ISO-8601); a table flow's re-reads every row. */
const replayBody = z
  .strictObject({
    since: z
      .string()
      .refine((text) => !Number.isNaN(Date.parse(text)), 'must be an ISO-8601 date-time')
      .optional(),
  })
  .optional();
const retryingQuery = pageQuerySchema.extend({ flow: z.string().min(1).max(200).optional() });
const historyQuery = z.object({ since: z.coerce.number().int().nonnegative().optional() });

/** `GET /api/history`: status samples, oldest first. */
export interface HistoryAnswer {
  intervalMs: number;
  items: StatusSample[];
}

/** One change waiting for a retry, as the API shows it (no payload: it holds personal data). */
export type RetryingItemView = Omit<RetryingItem, 'id'>;

/** `GET /api/retrying`: one page of changes waiting for a retry, oldest first, and how many match. */
export interface RetryingListAnswer extends Page<RetryingItemView> {
  total: number;
}

/** An allow-list copy, so a field the store adds later is not shown before someone decides to. */
function toRetryingView(item: RetryingItem): RetryingItemView {
  return {
    flow: item.flow,
    recordKey: item.recordKey,
    code: item.code,
    message: item.message,
    attempts: item.attempts,
    firstFailedAt: item.firstFailedAt,
    nextAttemptAt: item.nextAttemptAt,
  };
}

/** `GET /api/alerts`: alerts since start, newest first. */
export interface AlertsAnswer {
  items: DispatchedAlert[];
}

/** Status, flows (+ pause/resume/replay), backlog, lag, throughput, budget, history, alerts. */
export function registerStatusRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps, status } = ctx;

  const findFlow = async (params: unknown): Promise<FlowView> => {
    const { flow } = parseInput(flowParams, params, 'path');
    const found = (await status.read()).flows.find((f) => f.id === flow);
    if (!found) throw new SyncError('FLOW_NOT_FOUND', 'no such flow; GET /api/flows lists them');
    return found;
  };

  app.get('/api/status', () => status.read());

  app.get('/api/flows', async () => ({ items: (await status.read()).flows }));

  app.get('/api/flows/:flow', (request) => findFlow(request.params));

  app.post('/api/flows/:flow/pause', async (request) => {
    const flow = await findFlow(request.params);
    const body = parseInput(pauseBody, request.body, 'body');
    // The reason is shown to other operators: keep it to plain words, never data.
    const reason = `paused by operator${body.reason ? `: ${deps.redactor.scrub(body.reason)}` : ''}`;
    await deps.engine.control.pause(flow.id, reason);
    await ctx.audit(request, 'flow.pause', { flow: flow.id, outcome: 'ok' });
    status.invalidate();
    return { flow: flow.id, state: 'paused' };
  });

  app.post('/api/flows/:flow/resume', async (request) => {
    const flow = await findFlow(request.params);
    const body = parseInput(resumeBody, request.body, 'body');
    await deps.engine.control.resume(flow.id, body.acceptMassChange ?? false);
    deps.engine.wake(flow.id);
    await ctx.audit(request, 'flow.resume', {
      flow: flow.id,
      outcome: 'ok',
      detail: body.acceptMassChange ? 'mass change accepted' : null,
    });
    status.invalidate();
    return { flow: flow.id, state: 'running' };
  });

  app.post('/api/flows/:flow/replay', async (request, reply) => {
    const flow = await findFlow(request.params);
    const body = parseInput(replayBody, request.body ?? undefined, 'body');
    await deps.engine.requestReplay(
      flow.id,
      body?.since === undefined ? {} : { sinceMs: Date.parse(body.since) },
    );
    deps.engine.wake(flow.id);
    await ctx.audit(request, 'flow.replay', { flow: flow.id, outcome: 'requested' });
    status.invalidate();
    return reply.code(202).send({ flow: flow.id, replay: 'requested' });
  });

  app.get('/api/backlog', async () => {
    const snapshot = await status.read();
    return {
      total: { queued: snapshot.backlog.queued, leased: snapshot.backlog.leased },
      items: snapshot.flows.map((f) => ({ flow: f.id, ...f.backlog })),
      byLane: snapshot.backlog.byLane,
    };
  });

  app.get('/api/lag', async () => {
    const snapshot = await status.read();
    return { recent: snapshot.lag, items: snapshot.flows.map((f) => ({ flow: f.id, lagMs: f.lagMs })) };
  });

  app.get('/api/throughput', async () => {
    const snapshot = await status.read();
    return { ...snapshot.throughput, totals: snapshot.totals, byFlow: deps.engine.stats.byFlow() };
  });

  app.get('/api/budget', async () => (await status.read()).budget);

  app.get('/api/history', (request): HistoryAnswer => {
    const { since } = parseInput(historyQuery, request.query, 'query');
    return { intervalMs: ctx.history.intervalMillis, items: ctx.history.samples(since) };
  });

  app.get('/api/retrying', async (request): Promise<RetryingListAnswer> => {
    const query = parseInput(retryingQuery, request.query, 'query');
    const filter = definedOnly({ flow: query.flow });
    const [page, total] = await Promise.all([
      deps.store.queue.listRetrying(filter, definedOnly({ cursor: query.cursor, limit: query.limit })),
      deps.store.queue.countRetrying(filter),
    ]);
    return { items: page.items.map(toRetryingView), nextCursor: page.nextCursor, total };
  });

  app.get('/api/alerts', (): AlertsAnswer => ({
    items: deps.alerts ? [...deps.alerts.recent()].reverse() : [],
  }));
}
