/**
 * The dashboard sign-in: a session cookie (HttpOnly, SameSite=Strict, random id — never the token),
 * idle and absolute expiry, sign-out, sign-in attempts limited per address, and bounded bodies and
 * pages.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { buildHttpApp, type OperatorApp } from '../../../src/server/http-server.js';
import { adminToken, ServerTestBed } from '../../support/server-test-bed.js';

let t: ServerTestBed;
let clock: ManualClock;
let app: OperatorApp;

beforeAll(async () => {
  t = await ServerTestBed.start({ dynamics: { contacts: 2 }, syncFirst: false });
  clock = new ManualClock(Date.UTC(2026, 5, 1));
  // Same store and engine, but time under the test's control (session expiry, login window).
  app = await buildHttpApp({
    ...t.deps,
    clock,
    registry: new Registry(),
    options: { sessionIdleMinutes: 30, sessionMaxHours: 2, loginAttemptsPerMinute: 3 },
  });
});

afterAll(async () => {
  await app?.close();
  await t?.close();
});

function form(token: string, ip = '10.0.0.1') {
  return app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress: ip,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: 'http://localhost:80',
      host: 'localhost:80',
    },
    payload: `token=${encodeURIComponent(token)}`,
  });
}

function cookieOf(response: { headers: Record<string, unknown> }): string {
  return String(response.headers['set-cookie']).split(';')[0]!;
}

describe('dashboard sign-in', () => {
  it('serves the sign-in page without a token, and sends signed-out browsers there', async () => {
    const page = await app.inject({ method: 'GET', url: '/login' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<label for="token">Admin token</label>');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    const dashboard = await app.inject({ method: 'GET', url: '/' });
    expect(dashboard.statusCode).toBe(401);
    expect(dashboard.body).toContain('url=/login');
  });

  it('sets an HttpOnly, SameSite=Strict session cookie holding a random id, and redirects to the dashboard', async () => {
    const response = await form(adminToken, '10.0.0.2');
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/');
    const setCookie = String(response.headers['set-cookie']);
    expect(setCookie).toMatch(
      /^dcsync_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=7200$/,
    );
    expect(setCookie).not.toContain(adminToken);
    const page = await app.inject({ method: 'GET', url: '/', headers: { cookie: cookieOf(response) } });
    expect(page.statusCode).toBe(200);
    const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)?.[1];
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(page.body).not.toContain(adminToken);
  });

  it('refuses a wrong token with the sign-in page again (401)', async () => {
    const response = await form('wrong-token', '10.0.0.3');
    expect(response.statusCode).toBe(401);
    expect(response.body).toContain('The admin token is not valid.');
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('refuses a sign-in posted from another origin', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/login',
      remoteAddress: '10.0.0.4',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://evil.example',
        host: 'localhost:80',
      },
      payload: `token=${adminToken}`,
    });
    expect(response.statusCode).toBe(403);
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('never limits sign-ins with the right token, however many', async () => {
    const ip = '10.0.0.8';
    for (let i = 0; i < 10; i++) expect((await form(adminToken, ip)).statusCode).toBe(303);
    // A success clears earlier failures: two typos, a sign-in, two typos, a sign-in.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2; i++) expect((await form('typo', ip)).statusCode).toBe(401);
      expect((await form(adminToken, ip)).statusCode).toBe(303);
    }
  });

  it('limits failed sign-ins per address and minute (429 with Retry-After), right token or not', async () => {
    const ip = '10.0.0.9';
    for (let i = 0; i < 3; i++) expect((await form('guess-' + i, ip)).statusCode).toBe(401);
    const limited = await form(adminToken, ip);
    expect(limited.statusCode).toBe(429);
    expect(JSON.parse(limited.body)).toMatchObject({ error: { code: 'LOGIN_RATE_LIMITED' } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await form(adminToken, '10.0.0.10')).statusCode).toBe(303);
    clock.advance(61_000);
    expect((await form(adminToken, ip)).statusCode).toBe(303);
  });

  it('ends a session after the idle time and after the absolute lifetime', async () => {
    const idle = cookieOf(await form(adminToken, '10.0.1.1'));
    const status = (cookie: string) => app.inject({ method: 'GET', url: '/api/status', headers: { cookie } });
    expect((await status(idle)).statusCode).toBe(200);
    clock.advance(29 * 60_000);
    expect((await status(idle)).statusCode).toBe(200);
    clock.advance(31 * 60_000);
    expect((await status(idle)).statusCode).toBe(401);

    const busy = cookieOf(await form(adminToken, '10.0.1.2'));
    for (let i = 0; i < 4; i++) {
      clock.advance(25 * 60_000);
      expect((await status(busy)).statusCode).toBe(200);
    }
    clock.advance(25 * 60_000);
    expect((await status(busy)).statusCode).toBe(401);
  });

  it('signs out: the session id stops working', async () => {
    const signIn = await app.inject({
      method: 'POST',
      url: '/login',
      remoteAddress: '10.0.2.1',
      headers: { 'content-type': 'application/json' },
      payload: { token: adminToken },
    });
    const { csrfToken } = JSON.parse(signIn.body) as { csrfToken: string };
    const cookie = cookieOf(signIn);
    const out = await app.inject({
      method: 'POST',
      url: '/logout',
      headers: {
        cookie,
        'x-csrf-token': csrfToken,
        origin: 'http://localhost:80',
        host: 'localhost:80',
        'content-type': 'application/json',
      },
      payload: {},
    });
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await app.inject({ method: 'GET', url: '/api/status', headers: { cookie } })).statusCode).toBe(
      401,
    );
  });
});

describe('bounded input', () => {
  const bearer = { authorization: `Bearer ${adminToken}` };

  it('refuses bodies over 64 KiB with 413', async () => {
    const ids = Array.from({ length: 500 }, () => '1'.repeat(19));
    const response = await app.inject({
      method: 'POST',
      url: '/api/dead-letters/retry',
      headers: { ...bearer, 'content-type': 'application/json' },
      payload: JSON.stringify({ ids, padding: 'x'.repeat(70 * 1024) }),
    });
    expect(response.statusCode).toBe(413);
    expect(JSON.parse(response.body)).toEqual({
      error: { code: 'BODY_TOO_LARGE', message: 'the request body is too large' },
    });
  });

  it('refuses page sizes over 500 and id lists over 500', async () => {
    const page = await app.inject({ method: 'GET', url: '/api/dead-letters?limit=501', headers: bearer });
    expect(page.statusCode).toBe(400);
    expect(JSON.parse(page.body)).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect(
      (await app.inject({ method: 'GET', url: '/api/dead-letters?limit=500', headers: bearer })).statusCode,
    ).toBe(200);
    const many = await app.inject({
      method: 'POST',
      url: '/api/dead-letters/retry',
      headers: { ...bearer, 'content-type': 'application/json' },
      payload: { ids: Array.from({ length: 501 }, (_, i) => String(i + 1)) },
    });
    expect(many.statusCode).toBe(400);
  });

  it('answers malformed JSON with a fixed message that does not quote the body', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/dead-letters/retry',
      headers: { ...bearer, 'content-type': 'application/json' },
      payload: '{"ids": [secret-looking-value',
    });
    expect(response.statusCode).toBe(400);
    expect(response.body).not.toContain('secret-looking-value');
  });
});
