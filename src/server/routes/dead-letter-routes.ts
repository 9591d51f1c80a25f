import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { DeadLetter, DeadLetterFilter } from '../../core/ports/state-store.js';
import { definedOnly, idListSchema, pageQuerySchema, parseInput } from './route-input.js';
import type { RouteContext } from './route-context.js';

/** A dead letter as the API shows it: no payload (it holds the record's personal data). */
export interface DeadLetterView {
  id: string;
  flow: string;
  recordKey: string;
  sourceVersion: string | null;
  code: string;
  message: string;
  attempts: number;
  firstFailedAt: number;
  lastFailedAt: number;
}

function toView(letter: DeadLetter): DeadLetterView {
  return {
    id: letter.id,
    flow: letter.flow,
    recordKey: letter.recordKey,
    sourceVersion: letter.sourceVersion,
    code: letter.code,
    message: letter.message,
    attempts: letter.attempts,
    firstFailedAt: letter.firstFailedAt,
    lastFailedAt: letter.lastFailedAt,
  };
}

const listQuery = pageQuerySchema.extend({
  flow: z.string().min(1).max(200).optional(),
  code: z.string().min(1).max(100).optional(),
  /** Exact record key, or a prefix ending in `*`. */
  recordKey: z.string().min(1).max(200).optional(),
  /** `false` skips counting the matches (faster on huge filters). @default true */
  total: z.enum(['true', 'false']).default('true'),
});

/** Dead letters: server-side paging, search by record key (prefix), counts, retry, discard. */
export function registerDeadLetterRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;

  app.get('/api/dead-letters', async (request) => {
    const query = parseInput(listQuery, request.query, 'query');
    const filter: DeadLetterFilter = definedOnly({
      flow: query.flow,
      code: query.code,
      recordKey: query.recordKey,
    });
    const [page, total] = await Promise.all([
      deps.store.deadLetters.list(filter, definedOnly({ cursor: query.cursor, limit: query.limit })),
      query.total === 'true' ? deps.store.deadLetters.count(filter) : Promise.resolve(null),
    ]);
    return { items: page.items.map(toView), nextCursor: page.nextCursor, total };
  });

  app.get('/api/dead-letters/counts', async () => {
    const byCode = await deps.store.deadLetters.countByCode();
    return { total: byCode.reduce((n, row) => n + row.count, 0), items: byCode };
  });

  app.post('/api/dead-letters/retry', async (request) => {
    const { ids } = parseInput(idListSchema, request.body, 'body');
    const retried = await deps.store.deadLetters.retry(ids);
    await ctx.audit(request, 'dlq.retry', {
      outcome: 'ok',
      detail: `retried ${retried} of ${ids.length} dead letters`,
    });
    ctx.status.invalidate();
    if (retried > 0) deps.engine.wake();
    return { requested: ids.length, retried };
  });

  app.post('/api/dead-letters/discard', async (request) => {
    const { ids } = parseInput(idListSchema, request.body, 'body');
    const discarded = await deps.store.deadLetters.discard(ids);
    await ctx.audit(request, 'dlq.discard', {
      outcome: 'ok',
      detail: `discarded ${discarded} of ${ids.length} dead letters`,
    });
    ctx.status.invalidate();
    return { requested: ids.length, discarded };
  });
}
