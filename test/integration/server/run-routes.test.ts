/**
 * Run history over HTTP against the real engine and both emulators: the initial load is a run with
 * exact counts and its events, the status names each flow's phase and active run, and /metrics
 * counts the runs that ended.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunAnswer, RunListAnswer } from '../../../src/server/routes/run-routes.js';
import { ServerTestBed } from '../../support/server-test-bed.js';

describe('run routes', () => {
  let t: ServerTestBed;
  const contacts = 25;

  beforeAll(async () => {
    t = await ServerTestBed.start({ dynamics: { contacts, seed: 3 }, registry: new Registry() });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('lists runs newest first with written progress, and shows one with its events', async () => {
    const list = await t.api<RunListAnswer>('GET', '/api/runs?flow=contacts');
    expect(list.status).toBe(200);
    expect(list.json.nextCursor).toBeNull();
    expect(list.json.items).toHaveLength(1);
    const run = list.json.items[0]!;
    expect(run).toMatchObject({
      flow: 'contacts',
      kind: 'initial',
      trigger: 'first-start',
      subject: null,
      outcome: 'succeeded',
      phase: 'ended',
      counts: { read: contacts, created: contacts, skipped: {}, parked: 0, deadLettered: 0 },
      progress: { total: contacts, totalSource: 'read', done: contacts, percent: 100, etaMs: null },
    });
    expect(typeof run.startedAt).toBe('number');
    expect(run.endedAt).toBeGreaterThanOrEqual(run.startedAt);
    expect(run.events).toBeUndefined();

    const one = await t.api<RunAnswer>('GET', `/api/runs/${run.id}`);
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ id: run.id, outcome: 'succeeded' });
    expect(one.json.events.map((e) => e.kind)).toContain('read-complete');

    expect((await t.api<RunListAnswer>('GET', '/api/runs?kind=replay')).json.items).toEqual([]);
    const paged = await t.api<RunListAnswer>('GET', '/api/runs?limit=1');
    expect(paged.json.items).toHaveLength(1);
  });

  it('answers 404 for an unknown run and 400 for a bad filter', async () => {
    const missing = await t.api<{ error: { code: string } }>('GET', '/api/runs/987654');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('RUN_NOT_FOUND');
    expect((await t.api('GET', '/api/runs?kind=nonsense')).status).toBe(400);
    expect((await t.api('GET', '/api/runs/abc')).status).toBe(400);
  });

  it('gives each flow its phase and active run in the status, and counts ended runs in /metrics', async () => {
    const status = await t.api<{ flows: { id: string; phase: string; run: unknown; readPhase: string }[] }>(
      'GET',
      '/api/status',
    );
    expect(status.json.flows[0]).toMatchObject({
      id: 'contacts',
      phase: 'live',
      run: null,
      readPhase: 'delta',
    });
    const metrics = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${t.deps.adminToken}` },
    });
    expect(metrics.body).toContain('dcsync_runs_total{flow="contacts",kind="initial",outcome="succeeded"} 1');
  });
});
