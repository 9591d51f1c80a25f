/**
 * Issue 9, "must show": every route but the health probes, the sign-in page and the Dataverse
 * webhook receiver refuses requests without the admin token; every state-changing route refuses
 * cookie-authenticated requests without the session's CSRF token or from another origin. The list
 * of routes comes from the app itself, so a route added later is checked too — and one added as
 * public without being listed here fails the first test.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry } from '../../../src/server/http-server.js';
import { ServerTestBed, type DashboardSession } from '../../support/server-test-bed.js';

const webhookKey = 'route-inventory-webhook-key-5f1c';
let keyDir: string;
let t: ServerTestBed;
let session: DashboardSession;
let origin: string;

const expectedPublic = [
  'GET /healthz',
  'HEAD /healthz',
  'GET /readyz',
  'HEAD /readyz',
  'GET /login',
  'HEAD /login',
  'POST /login',
  // No icon (204): a browser asks for it before signing in.
  'GET /favicon.ico',
  'HEAD /favicon.ico',
];
const expectedWebhook = ['POST /webhooks/dynamics'];

function concrete(url: string): string {
  return url.replace(/:[a-z]+/gi, 'x');
}

function label(route: RouteEntry): string {
  return `${route.method} ${route.url}`;
}

function adminRoutes(): RouteEntry[] {
  return t.app.routeInventory.filter((r) => r.access === 'admin');
}

function stateChanging(route: RouteEntry): boolean {
  return ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method);
}

async function send(route: RouteEntry, headers: Record<string, string>) {
  const withBody = stateChanging(route);
  return t.app.inject({
    method: route.method as 'GET',
    url: concrete(route.url),
    headers: { ...headers, ...(withBody ? { 'content-type': 'application/json' } : {}) },
    ...(withBody ? { payload: '{}' } : {}),
  });
}

beforeAll(async () => {
  keyDir = mkdtempSync(join(tmpdir(), 'dcsync-key-'));
  const keyFile = join(keyDir, 'webhook-key');
  writeFileSync(keyFile, webhookKey);
  chmodSync(keyFile, 0o600);
  t = await ServerTestBed.start({
    dynamics: { contacts: 3 },
    syncFirst: false,
    config: { dynamics: { webhook: { key: `file:${keyFile}` } } },
  });
  session = await t.login();
  origin = 'http://localhost:80';
});

afterAll(async () => {
  await t?.close();
  rmSync(keyDir, { recursive: true, force: true });
});

describe('route inventory', () => {
  it('lists every route, and only the health probes, sign-in, the (empty) icon and the webhook receiver are not admin-only', () => {
    const inventory = t.app.routeInventory;
    expect(inventory.length).toBeGreaterThan(40);
    expect(
      inventory
        .filter((r) => r.access === 'public')
        .map(label)
        .sort(),
    ).toEqual([...expectedPublic].sort());
    expect(inventory.filter((r) => r.access === 'webhook').map(label)).toEqual(expectedWebhook);
    // The areas the issue asks for are all there.
    for (const url of [
      '/api/status',
      '/api/dead-letters',
      '/api/parked',
      '/api/trace',
      '/api/opt-out/decisions',
      '/api/sftp/files',
      '/api/sftp/usage',
      '/api/privacy/requests',
      '/api/config',
      '/metrics',
      '/',
    ])
      expect(inventory.some((r) => r.url === url)).toBe(true);
  });

  it('every admin route answers 401 without a token, with a wrong token and with an unknown session', async () => {
    const refused: string[] = [];
    for (const route of adminRoutes()) {
      for (const headers of [
        {},
        { authorization: 'Bearer wrong-token-0000000000' },
        { authorization: 'Basic YWRtaW46YWRtaW4=' },
        { cookie: 'dcsync_session=not-a-session' },
      ]) {
        const response = await send(route, headers);
        if (response.statusCode !== 401)
          refused.push(`${label(route)} ${JSON.stringify(headers)} → ${response.statusCode}`);
      }
    }
    expect(refused).toEqual([]);
  });

  it('a wrong bearer never falls back to a valid session cookie', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/api/status',
      headers: { authorization: 'Bearer nope-nope-nope', cookie: session.cookie },
    });
    expect(response.statusCode).toBe(401);
  });

  it('every admin route lets the bearer token and a session through', async () => {
    for (const route of adminRoutes().filter((r) => !stateChanging(r))) {
      const bearer = await send(route, { authorization: `Bearer ${t.deps.adminToken}` });
      const cookie = await send(route, { cookie: session.cookie });
      expect(
        [bearer.statusCode, cookie.statusCode].filter((s) => s === 401 || s === 403),
        label(route),
      ).toEqual([]);
    }
  });

  it('every state-changing admin route refuses a session without the CSRF token, with a wrong one, or from another origin', async () => {
    // Signing out ends the session the other cases use: it goes last.
    const changing = adminRoutes()
      .filter(stateChanging)
      .sort((a, b) => Number(a.url === '/logout') - Number(b.url === '/logout'));
    expect(changing.length).toBeGreaterThanOrEqual(7);
    const problems: string[] = [];
    for (const route of changing) {
      const cases: [string, Record<string, string>, string][] = [
        ['no token', { cookie: session.cookie, origin }, 'CSRF_TOKEN_INVALID'],
        [
          'wrong token',
          { cookie: session.cookie, origin, 'x-csrf-token': 'x'.repeat(43) },
          'CSRF_TOKEN_INVALID',
        ],
        [
          'foreign origin',
          { cookie: session.cookie, origin: 'https://evil.example', 'x-csrf-token': session.csrfToken },
          'CSRF_ORIGIN',
        ],
        ['no origin', { cookie: session.cookie, 'x-csrf-token': session.csrfToken }, 'CSRF_ORIGIN'],
      ];
      for (const [name, headers, code] of cases) {
        const response = await send(route, { ...headers, host: 'localhost:80' });
        const body = JSON.parse(response.body) as { error?: { code?: string } };
        if (response.statusCode !== 403 || body.error?.code !== code)
          problems.push(`${label(route)} ${name} → ${response.statusCode} ${body.error?.code ?? ''}`);
      }
      // Token and origin right: past the CSRF check (the handler may still refuse the empty body).
      const ok = await send(route, {
        cookie: session.cookie,
        origin,
        host: 'localhost:80',
        'x-csrf-token': session.csrfToken,
      });
      if (ok.statusCode === 401 || ok.statusCode === 403)
        problems.push(`${label(route)} with CSRF → ${ok.statusCode}`);
      // A bearer caller is not subject to CSRF (no ambient credential to abuse).
      const bearer = await send(route, { authorization: `Bearer ${t.deps.adminToken}` });
      if (bearer.statusCode === 401 || bearer.statusCode === 403)
        problems.push(`${label(route)} bearer → ${bearer.statusCode}`);
    }
    expect(problems).toEqual([]);
  });

  it('the webhook receiver takes its own key, not the admin token', async () => {
    const post = (headers: Record<string, string>) =>
      t.app.inject({
        method: 'POST',
        url: '/webhooks/dynamics',
        headers: { 'content-type': 'application/json', ...headers },
        payload: { PrimaryEntityName: 'contact' },
      });
    expect((await post({})).statusCode).toBe(401);
    expect((await post({ authorization: `Bearer ${t.deps.adminToken}` })).statusCode).toBe(401);
    expect((await post({ 'x-dcsync-key': 'wrong' })).statusCode).toBe(401);
    const accepted = await post({ 'x-dcsync-key': webhookKey });
    expect(accepted.statusCode).toBe(202);
    expect(JSON.parse(accepted.body)).toEqual({ accepted: true, table: 'contact' });
  });

  it('health probes answer without a token', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready', checks: { store: 'ok', engine: 'started' } });
  });

  it('an unknown path asks for the token before saying it does not exist', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/nothing-here' })).statusCode).toBe(401);
    const known = await t.app.inject({
      method: 'GET',
      url: '/api/nothing-here',
      headers: { authorization: `Bearer ${t.deps.adminToken}` },
    });
    expect(known.statusCode).toBe(404);
  });
});
