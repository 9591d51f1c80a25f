import type { FastifyRequest } from 'fastify';
import type { LoginRateLimiter } from '../auth/login-rate-limiter.js';
import { actorOf } from '../auth/request-auth.js';
import type { SessionStore } from '../auth/session-store.js';
import type { OperatorMetrics } from '../metrics/operator-metrics.js';
import type { ServerDependencies } from '../server-dependencies.js';
import type { StatusHistory } from '../status/status-history.js';
import type { StatusReader } from '../status/status-reader.js';

/** What every route module receives. */
export interface RouteContext {
  deps: ServerDependencies;
  status: StatusReader;
  history: StatusHistory;
  metrics: OperatorMetrics;
  sessions: SessionStore;
  loginLimiter: LoginRateLimiter;
  webhookBodyLimitBytes: number;
  /** Append one audit entry for an operator action (ids and counts only). */
  audit(
    request: FastifyRequest,
    action: string,
    entry: { flow?: string | null; outcome: string; detail?: string | null },
  ): Promise<void>;
}

/** The audit writer shared by the routes. */
export function createAuditWriter(deps: ServerDependencies): RouteContext['audit'] {
  return async (request, action, entry) => {
    await deps.store.audit.append([
      {
        at: deps.clock.now(),
        actor: actorOf(request),
        action,
        flow: entry.flow ?? null,
        recordKey: null,
        fields: [],
        outcome: entry.outcome,
        detail: entry.detail ?? null,
      },
    ]);
  };
}
