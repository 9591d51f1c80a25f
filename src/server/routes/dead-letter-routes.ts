import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { DeadLetter, DeadLetterFilter, Page } from '../../core/ports/state-store.js';
import { definedOnly, idListSchema, pageQuerySchema, parseInput } from './route-input.js';
import type { RouteContext } from './route-context.js';

/** A dead letter as the API shows it: no payload (it holds the record's personal data). */
export type DeadLetterView = Omit<DeadLetter, 'payload'>;

/** `GET /api/dead-letters`: one page, and how many match (null with `total=false`). */
export interface DeadLetterListAnswer extends Page<DeadLetterView> {
  total: number | null;
}

/** `POST /api/dead-letters/retry` (`retried`) and `/discard` (`discarded`): how many of the ids it acted on. */
export type DeadLetterActionAnswer<Done extends 'retried' | 'discarded'> = { requested: number } & {
  [K in Done]: number;
};

/** An allow-list copy, so a field the store adds later is not shown before someone decides to. */
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

  app.get('/api/dead-letters', async (request): Promise<DeadLetterListAnswer> => {
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

  const bulkActions = [
    { name: 'retry', done: 'retried', run: (ids: string[]) => deps.store.deadLetters.retry(ids) },
    { name: 'discard', done: 'discarded', run: (ids: string[]) => deps.store.deadLetters.discard(ids) },
  ] as const;
  for (const action of bulkActions) {
    app.post(`/api/dead-letters/${action.name}`, async (request) => {
      const { ids } = parseInput(idListSchema, request.body, 'body');
      const count = await action.run(ids);
      await ctx.audit(request, `dlq.${action.name}`, {
        outcome: 'ok',
        detail: `${action.done} ${count} of ${ids.length} dead letters`,
      });
      ctx.status.invalidate();
      if (action.name === 'retry' && count > 0) deps.engine.wake();
      return { requested: ids.length, [action.done]: count };
    });
  }
}
