import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { TraceAnswer } from '../../core/record-trace.js';
import { RecordTraceReader } from '../../engine/trace/record-trace-reader.js';
import { parseInput } from './route-input.js';
import type { RouteContext } from './route-context.js';

export type {
  TraceAnswer,
  TraceMatch,
  TraceRecordRef,
  TraceRecordState,
  TraceStep,
  TraceStepKind,
} from '../../core/record-trace.js';

const traceQuery = z.object({
  /** A Dynamics id (any case), a Campaign PKey, a record key, or an e-mail (asked of Dynamics live). */
  key: z.string().trim().min(1).max(200),
  /** A flow id (`contacts`, `table:new_order`) or a table name. */
  flow: z.string().min(1).max(200).optional(),
});

/**
 * `GET /api/trace?key=…[&flow=…]`: every step of one record's life the store holds, newest first,
 * one match per flow holding the key (docs/trace.md). Ids, codes and field names — never values.
 */
export function registerTraceRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;
  const reader = new RecordTraceReader({
    store: deps.store,
    clock: deps.clock,
    flows: () => deps.engine.flows.map((flow) => flow.id),
    scrub: (text) => deps.redactor.scrub(text),
    contacts: deps.contactFinder,
  });

  app.get('/api/trace', async (request): Promise<TraceAnswer> => {
    const query = parseInput(traceQuery, request.query, 'query');
    const flow =
      query.flow === undefined
        ? undefined
        : (deps.engine.flows.find((f) => f.id === query.flow || f.table === query.flow)?.id ?? query.flow);
    return reader.trace(query.key, { flow });
  });
}
