import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parkedStates, type Page, type ParkedItem } from '../../core/ports/state-store.js';
import { definedOnly, pageQuerySchema, parseInput } from './route-input.js';
import type { RouteContext } from './route-context.js';

/** A parked child without its payload (personal data). */
export type ParkedView = Omit<ParkedItem, 'payload'>;

/**
 * `GET /api/parked[?flow=…][&state=waiting|orphan]`: one page, and how many match the filter.
 * `state` `orphan`: children with no parent in Dynamics (docs/custom-tables.md).
 */
export interface ParkedListAnswer extends Page<ParkedView> {
  total: number;
}

/** An allow-list copy, as for dead letters. */
function toParkedView(item: ParkedItem): ParkedView {
  return {
    flow: item.flow,
    recordKey: item.recordKey,
    parent: { flow: item.parent.flow, recordKey: item.parent.recordKey },
    state: item.state,
    reason: item.reason,
    sourceVersion: item.sourceVersion,
    parkedAt: item.parkedAt,
    updatedAt: item.updatedAt,
  };
}

const parkedQuery = pageQuerySchema.extend({
  flow: z.string().min(1).max(200).optional(),
  state: z.enum(parkedStates).optional(),
});
const auditQuery = pageQuerySchema.extend({
  flow: z.string().min(1).max(200).optional(),
  recordKey: z.string().min(1).max(200).optional(),
  action: z.string().min(1).max(100).optional(),
  since: z.coerce.number().int().nonnegative().optional(),
});

/** Parked children (with the parent they wait for) and the audit trail. */
export function registerRecordRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { store } = ctx.deps;

  app.get('/api/parked', async (request): Promise<ParkedListAnswer> => {
    const query = parseInput(parkedQuery, request.query, 'query');
    const [page, total] = await Promise.all([
      store.parked.list(
        definedOnly({ flow: query.flow, state: query.state }),
        definedOnly({ cursor: query.cursor, limit: query.limit }),
      ),
      store.parked.count(query.flow, query.state),
    ]);
    return { items: page.items.map(toParkedView), nextCursor: page.nextCursor, total };
  });

  app.get('/api/audit', async (request) => {
    const query = parseInput(auditQuery, request.query, 'query');
    const page = await store.audit.list(
      definedOnly({ flow: query.flow, recordKey: query.recordKey, action: query.action, since: query.since }),
      definedOnly({ cursor: query.cursor, limit: query.limit }),
    );
    return page;
  });
}
