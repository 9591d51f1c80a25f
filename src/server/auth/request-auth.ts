import type { FastifyReply, FastifyRequest } from 'fastify';
import { isSameSecret } from './secret-compare.js';
import type { Session, SessionStore } from './session-store.js';
import { SyncError } from '../../core/errors.js';

/**
 * Who may call a route:
 * - `admin` (the default for every route that says nothing): the admin token as a bearer, or a
 *   dashboard session cookie — with the CSRF token and a same-origin check on state changes;
 * - `public`: health probes and the login page;
 * - `webhook`: the Dataverse webhook receiver, authenticated by its own shared key.
 */
export const routeAccesses = ['admin', 'public', 'webhook'] as const;
export type RouteAccess = (typeof routeAccesses)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** @default 'admin' */
    access?: RouteAccess;
    /** An HTML page: unauthenticated visitors get a sign-in page instead of JSON. */
    page?: boolean;
  }
  interface FastifyRequest {
    /** Set on admin routes once authenticated. */
    operator?: RequestAuth;
  }
}

/** How a request proved it is the operator. */
export type RequestAuth = { kind: 'bearer' } | { kind: 'session'; session: Session };

export const sessionCookieName = 'dcsync_session';
export const csrfHeaderName = 'x-csrf-token';

const stateChangingMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Whether a method changes state (and so needs CSRF protection under cookie auth). */
export function isStateChanging(method: string): boolean {
  return stateChangingMethods.has(method.toUpperCase());
}

/** The value of one cookie from a `Cookie` header. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** `http://host:port` as the browser sees this server. */
export function ownOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/**
 * True when the request comes from a page of this server: `Origin` must equal our origin; without
 * `Origin`, the `Referer` must point here. Neither present counts as foreign.
 */
export function isSameOrigin(request: FastifyRequest): boolean {
  const expected = ownOrigin(request);
  const origin = request.headers.origin;
  if (typeof origin === 'string' && origin !== '') return origin === expected;
  const referer = request.headers.referer;
  if (typeof referer !== 'string' || referer === '') return false;
  try {
    return new URL(referer).origin === expected;
  } catch {
    return false;
  }
}

/** Builds the `onRequest` hook that enforces {@link RouteAccess} on every route. */
export function createAuthHook(adminToken: string, sessions: SessionStore) {
  const unauthorized = (): SyncError =>
    new SyncError(
      'UNAUTHORIZED',
      'admin token required: send "Authorization: Bearer <admin token>" or sign in at /login',
    );

  const authenticate = (request: FastifyRequest): RequestAuth | null => {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      // A presented but wrong bearer never falls back to the cookie.
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      return match && isSameSecret(match[1]!, adminToken) ? { kind: 'bearer' } : null;
    }
    const id = readCookie(request.headers.cookie, sessionCookieName);
    const session = id ? sessions.get(id) : null;
    return session ? { kind: 'session', session } : null;
  };

  return async function enforceAccess(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const access = request.routeOptions.config?.access ?? 'admin';
    if (access !== 'admin') return;
    const auth = authenticate(request);
    if (!auth) throw unauthorized();
    if (auth.kind === 'session' && isStateChanging(request.method)) {
      const given = request.headers[csrfHeaderName];
      if (typeof given !== 'string' || !isSameSecret(given, auth.session.csrfToken))
        throw new SyncError(
          'CSRF_TOKEN_INVALID',
          `state-changing requests need the ${csrfHeaderName} header of the session`,
        );
      if (!isSameOrigin(request))
        throw new SyncError(
          'CSRF_ORIGIN',
          'cross-origin request refused (Origin/Referer must be this server)',
        );
    }
    request.operator = auth;
    return Promise.resolve();
  };
}

/** `api` for bearer calls, `dashboard` for session calls (audit actors). */
export function actorOf(request: FastifyRequest): string {
  return request.operator?.kind === 'session' ? 'dashboard' : 'api';
}
