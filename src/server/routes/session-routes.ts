import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isSameOrigin, readCookie, sessionCookieName } from '../auth/request-auth.js';
import { isSameSecret } from '../auth/secret-compare.js';
import { renderLoginPage } from '../dashboard/login-page.js';
import type { RouteContext } from './route-context.js';
import { SyncError } from '../../core/errors.js';

function loginCsp(nonce: string): string {
  return `default-src 'none'; style-src 'nonce-${nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;
}

function sendLoginPage(reply: FastifyReply, status: number, error?: string): FastifyReply {
  const nonce = randomBytes(16).toString('base64url');
  return reply
    .code(status)
    .header('content-security-policy', loginCsp(nonce))
    .type('text/html; charset=utf-8')
    .send(renderLoginPage({ nonce, error }));
}

function wantsJson(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').includes('application/json');
}

function cookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${sessionCookieName}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
}

/** Sign-in page, sign-in (failed attempts rate-limited), sign-out. */
export function registerSessionRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  sessionMaxHours: number,
): void {
  app.get('/login', { config: { access: 'public', page: true } }, (_request, reply) =>
    sendLoginPage(reply, 200),
  );

  app.post('/login', { config: { access: 'public', page: true } }, (request, reply) => {
    const waitMs = ctx.loginLimiter.waitMs(request.ip);
    if (waitMs > 0) {
      reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
      throw new SyncError('LOGIN_RATE_LIMITED', 'too many failed sign-in attempts; wait a minute');
    }
    // A sign-in from a foreign page (login CSRF) is refused; browsers always send Origin on POST.
    const hasOrigin = request.headers.origin !== undefined || request.headers.referer !== undefined;
    if (hasOrigin && !isSameOrigin(request))
      throw new SyncError('CSRF_ORIGIN', 'cross-origin sign-in refused');
    const token = (request.body as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || !isSameSecret(token, ctx.deps.adminToken)) {
      ctx.loginLimiter.recordFailure(request.ip);
      ctx.deps.logger.warn({ ip: request.ip }, 'dashboard sign-in refused');
      if (wantsJson(request)) throw new SyncError('LOGIN_FAILED', 'the admin token is not valid');
      return sendLoginPage(reply, 401, 'The admin token is not valid.');
    }
    ctx.loginLimiter.recordSuccess(request.ip);
    const previous = readCookie(request.headers.cookie, sessionCookieName);
    if (previous) ctx.sessions.destroy(previous);
    const session = ctx.sessions.create();
    reply.header('set-cookie', cookie(request, session.id, sessionMaxHours * 3600));
    if (wantsJson(request)) return reply.send({ signedIn: true, csrfToken: session.csrfToken });
    return reply.code(303).header('location', '/').send();
  });

  app.post('/logout', (request, reply) => {
    if (request.operator?.kind === 'session') ctx.sessions.destroy(request.operator.session.id);
    reply.header('set-cookie', cookie(request, '', 0));
    return reply.send({ signedOut: true });
  });
}
