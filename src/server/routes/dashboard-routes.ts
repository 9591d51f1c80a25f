import type { FastifyInstance } from 'fastify';
import type { DashboardBundle } from '../dashboard/dashboard-bundle.js';
import { renderDashboardPage } from '../dashboard/dashboard-page.js';

const dashboardCsp =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/** The dashboard page and its two assets (same admin auth as the API). */
export function registerDashboardRoutes(app: FastifyInstance, bundle: DashboardBundle): void {
  app.get('/', { config: { page: true } }, (request, reply) => {
    const csrfToken = request.operator?.kind === 'session' ? request.operator.session.csrfToken : '';
    return reply
      .header('content-security-policy', dashboardCsp)
      .type('text/html; charset=utf-8')
      .send(renderDashboardPage({ csrfToken }));
  });
  app.get('/assets/dashboard.js', (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(bundle.script),
  );
  app.get('/assets/dashboard.css', (_request, reply) =>
    reply.type('text/css; charset=utf-8').send(bundle.styles),
  );
  // Browsers ask for it on their own, signed in or not: "no icon", not a 404 in the console.
  app.get('/favicon.ico', { config: { access: 'public' } }, (_request, reply) => reply.code(204).send());
}
