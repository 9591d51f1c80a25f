/**
 * The JSON API and /metrics against the real engine, a real SQLite store and both emulators: the
 * numbers are the store's and Campaign's, operator actions change what the engine does, and
 * nothing personal (payloads) or secret (config) is answered.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallMetricsCounter } from '../../../src/server/metrics/call-metrics.js';
import { startHttpServer, type RunningHttpServer } from '../../../src/server/http-server.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { runDcsync } from '../../support/cli-runner.js';
import { bulkSeedDeadLetters, syntheticKey } from '../../support/server-dead-letters.js';
import { InMemoryOptOutProvider, InMemoryPrivacyProvider } from '../../support/server-providers.js';
import { ServerTestBed } from '../../support/server-test-bed.js';
import { testEnv } from '../../support/sync-test-bed.js';

interface StatusBody {
  overall: { healthy: boolean; problems: string[]; details: unknown[] };
  retrying: { total: number; byCode: unknown[] };
  flows: {
    retrying: number;
    id: string;
    state: string;
    reason: string | null;
    synced: number;
    deadLetters: number;
    parked: number;
    orphans: number;
    orphansSince: number | null;
    backlog: { queued: number; leased: number };
    replay: unknown;
  }[];
  orphans: { total: number };
  totals: Record<string, number>;
  deadLetters: { total: number; byCode: { flow: string; code: string; count: number }[] };
  parked: { total: number };
  synced: number;
  backlog: { queued: number; leased: number };
  budget: { callsToday: number; callsPerDay: number };
  providers: { optOut: boolean; privacy: boolean };
}

function metricValue(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

describe('status, metrics and flow control over a synced store', () => {
  let t: ServerTestBed;
  const registry = new Registry();
  const calls = new CallMetricsCounter(registry);
  let badId: string;

  beforeAll(async () => {
    t = await ServerTestBed.start({ dynamics: { contacts: 30, seed: 11 }, registry });
    // Dynamics allows 50 characters of first name; Campaign's profile field holds 30.
    badId = String(
      t.bed.dynamics.admin.createContact(
        buildContact({ firstname: 'Bartholomew-Maximilian-Alexander-Fitzgerald' }),
      ).contactid,
    );
    await t.engine.runUntilIdle({ timeoutMs: 60_000 });
    // A child waiting for its parent, staged the way a custom-table flow parks it.
    await t.runtime.store.queue.enqueue([
      {
        flow: 'contacts',
        recordKey: 'child-0001',
        payload: { op: 'delete', origin: 'delta', reason: 'deleted' },
      },
    ]);
    const [item] = await t.runtime.store.queue.lease({ owner: 'test', limit: 1, leaseMs: 60_000 });
    await t.runtime.store.queue.park(
      item!.id,
      'test',
      { flow: 'contacts', recordKey: 'parent-0001' },
      'parent contacts/parent-0001 not in Campaign yet',
    );
    // And an orphan: a child with no parent in Dynamics (an empty lookup on a cardinality-1 link).
    await t.runtime.store.queue.enqueue([
      {
        flow: 'contacts',
        recordKey: 'orphan-0001',
        payload: { op: 'delete', origin: 'delta', reason: 'deleted' },
      },
    ]);
    const [orphan] = await t.runtime.store.queue.lease({ owner: 'test', limit: 1, leaseMs: 60_000 });
    await t.runtime.store.queue.park(
      orphan!.id,
      'test',
      { flow: 'contacts', recordKey: '(empty lookup)' },
      'no parent in Dynamics',
      undefined,
      'orphan',
    );
  });

  afterAll(async () => {
    await t?.close();
  });

  it('reports what the store and Campaign hold', async () => {
    const { status, json } = await t.api<StatusBody>('GET', '/api/status');
    expect(status).toBe(200);
    const campaignProfiles = t.bed.profilesByExternalId();
    expect(campaignProfiles.size).toBe(30);
    const contacts = json.flows.find((f) => f.id === 'contacts')!;
    expect(contacts.synced).toBe(campaignProfiles.size);
    expect(contacts.synced).toBe(await t.runtime.store.keyMap.count('contacts'));
    expect(json.synced).toBe(30);
    expect(json.totals.created).toBe(30);
    expect(json.totals['dead-lettered']).toBe(1);
    expect(json.deadLetters).toEqual({
      total: 1,
      byCode: [{ flow: 'contacts', code: 'MAPPING_INVALID', count: 1 }],
    });
    expect(contacts.deadLetters).toBe(1);
    expect(contacts.parked).toBe(1);
    expect(json.parked.total).toBe(1);
    expect(contacts.orphans).toBe(1);
    expect(contacts.orphansSince).toBeTypeOf('number');
    expect(json.orphans.total).toBe(1);
    expect(json.overall.problems).toContain('flow contacts: 1 record with no parent in Dynamics');
    expect(json.backlog).toMatchObject({ queued: 0, leased: 0 });
    expect(json.budget.callsToday).toBe(t.runtime.campaign.budget.usage().callsToday);
    expect(json.budget.callsToday).toBeGreaterThanOrEqual(31);
    expect(json.providers).toEqual({ optOut: false, privacy: false, dynamicsWebhook: false });
  });

  it('lists the dead letter without its payload, and the parked child with the parent it waits for', async () => {
    const letters = await t.api<{ items: Record<string, unknown>[]; total: number }>(
      'GET',
      '/api/dead-letters',
    );
    expect(letters.json.total).toBe(1);
    expect(letters.json.items[0]).toMatchObject({
      recordKey: badId,
      code: 'MAPPING_INVALID',
      flow: 'contacts',
      attempts: 1,
    });
    expect(letters.json.items[0]).not.toHaveProperty('payload');
    expect(letters.text).not.toContain('Bartholomew');
    const parked = await t.api<{ items: Record<string, unknown>[]; total: number }>('GET', '/api/parked');
    expect(parked.json.total).toBe(2);
    expect(parked.json.items[0]).toMatchObject({
      recordKey: 'child-0001',
      parent: { flow: 'contacts', recordKey: 'parent-0001' },
      state: 'waiting',
    });
    expect(parked.json.items[0]).not.toHaveProperty('payload');
    const orphans = await t.api<{ items: Record<string, unknown>[]; total: number }>(
      'GET',
      '/api/parked?state=orphan',
    );
    expect(orphans.json.total).toBe(1);
    expect(orphans.json.items).toEqual([
      expect.objectContaining({ recordKey: 'orphan-0001', state: 'orphan', reason: 'no parent in Dynamics' }),
    ]);
    expect(orphans.json.items[0]).not.toHaveProperty('payload');
    expect((await t.api('GET', '/api/parked?state=lost')).status).toBe(400);
  });

  it('serves the same numbers at /metrics, and the records counter follows the engine', async () => {
    calls.record('campaign', 200);
    calls.record('campaign', 200);
    calls.record('dynamics', 'timeout');
    const { status, text } = await t.api('GET', '/metrics');
    expect(status).toBe(200);
    expect(metricValue(text, 'dcsync_synced_records{flow="contacts"}')).toBe(30);
    expect(metricValue(text, 'dcsync_dead_letters{flow="contacts",code="MAPPING_INVALID"}')).toBe(1);
    expect(metricValue(text, 'dcsync_parked_records{flow="contacts"}')).toBe(1);
    expect(metricValue(text, 'dcsync_orphans{flow="contacts"}')).toBe(1);
    expect(metricValue(text, 'dcsync_records_total{flow="contacts",outcome="created"}')).toBe(30);
    expect(metricValue(text, 'dcsync_records_total{flow="contacts",outcome="dead-lettered"}')).toBe(1);
    expect(metricValue(text, 'dcsync_flow_paused{flow="contacts"}')).toBe(0);
    expect(metricValue(text, 'dcsync_campaign_budget{measure="calls_today"}')).toBe(
      t.runtime.campaign.budget.usage().callsToday,
    );
    expect(metricValue(text, 'dcsync_remote_calls_total{target="campaign",status="200"}')).toBe(2);
    expect(metricValue(text, 'dcsync_remote_calls_total{target="dynamics",status="timeout"}')).toBe(1);
    // Record keys are never labels.
    expect(text).not.toContain(badId);
    expect(text).not.toMatch(/dcsync_optout|dcsync_sftp/);
  });

  it('keeps status samples for the charts: throughput, backlog, lag and the call budget', async () => {
    await t.app.sampleHistory();
    const { json } = await t.api<{
      intervalMs: number;
      items: (Record<string, unknown> & { at: number; flows: Record<string, { synced: number }> })[];
    }>('GET', '/api/history');
    expect(json.intervalMs).toBe(5000);
    const last = json.items.at(-1)!;
    expect(last.flows.contacts!.synced).toBe(30);
    const budget = t.runtime.campaign.budget.usage();
    expect(last).toMatchObject({
      callsPerSecondLimit: budget.callsPerSecondLimit,
      callsPerDay: budget.callsPerDay,
      callsPerSecond: expect.any(Number) as number,
    });
    expect(last.callsToday).toBeGreaterThanOrEqual(31);
    // The sync just ran: the lag of what it applied in the last minute.
    expect(last.lagP50Ms).toEqual(expect.any(Number));
    expect(Number(last.lagP99Ms)).toBeGreaterThanOrEqual(Number(last.lagP50Ms));
  });

  it('pauses, resumes and requests a replay, each audited', async () => {
    const pause = await t.api('POST', '/api/flows/contacts/pause', { reason: 'maintenance window' });
    expect(pause.status).toBe(200);
    let status = (await t.api<StatusBody>('GET', '/api/status')).json;
    expect(status.flows[0]).toMatchObject({
      state: 'paused',
      reason: 'paused by operator: maintenance window',
    });
    expect((await t.api('GET', '/metrics')).text).toContain('dcsync_flow_paused{flow="contacts"} 1');
    expect((await t.api('POST', '/api/flows/contacts/resume', {})).status).toBe(200);
    expect((await t.api('POST', '/api/flows/contacts/replay', {})).status).toBe(202);
    status = (await t.api<StatusBody>('GET', '/api/status')).json;
    expect(status.flows[0]!.state).toBe('running');
    expect(status.flows[0]!.replay).not.toBeNull();
    const audit = await t.api<{ items: { action: string; actor: string; flow: string | null }[] }>(
      'GET',
      '/api/audit?action=flow.pause',
    );
    expect(audit.json.items).toEqual([
      expect.objectContaining({ action: 'flow.pause', actor: 'api', flow: 'contacts' }),
    ]);
    expect((await t.api('POST', '/api/flows/nope/pause', {})).json).toEqual({
      error: { code: 'FLOW_NOT_FOUND', message: 'no such flow; GET /api/flows lists them' },
    });
  });

  it('shows the configuration with every secret replaced by its source', async () => {
    const { json, text } = await t.api<Record<string, Record<string, unknown>>>('GET', '/api/config');
    expect(json.dynamics!.clientSecret).toBe('[redacted] (env:DYNAMICS_CLIENT_SECRET)');
    expect(json.campaign!.clientSecret).toBe('[redacted] (env:CAMPAIGN_CLIENT_SECRET)');
    expect(json.server!.adminToken).toBe('[redacted] (env:DCSYNC_ADMIN_TOKEN)');
    expect(text).not.toContain('demo-secret');
    expect(text).not.toContain(t.deps.adminToken);
  });

  it('answers 404 NOT_CONFIGURED for opt-out and privacy routes while their providers are absent', async () => {
    for (const url of [
      '/api/opt-out/decisions',
      '/api/opt-out/freshness',
      '/api/sftp/files',
      '/api/sftp/usage',
      '/api/privacy/requests',
      '/api/privacy/requests/x',
    ]) {
      const { status, json } = await t.api<{ error: { code: string } }>('GET', url);
      expect([url, status, json.error.code]).toEqual([url, 404, 'NOT_CONFIGURED']);
    }
    const create = await t.api<{ error: { code: string } }>('POST', '/api/privacy/requests', {
      contactId: badId,
    });
    expect([create.status, create.json.error.code]).toEqual([404, 'NOT_CONFIGURED']);
  });
});

describe('dead letters: retry and discard', () => {
  let t: ServerTestBed;

  beforeAll(async () => {
    t = await ServerTestBed.start({
      dynamics: { contacts: 5, seed: 5 },
      syncFirst: false,
      config: { engine: { retry: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 1 } } },
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('a retried dead letter is applied once the cause is gone', async () => {
    t.bed.campaign.admin.setFaults({ errorRate: 1, errorStatus: 503, pathPattern: 'profileAndServices' });
    await t.engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(t.bed.profilesByExternalId().size).toBe(0);
    const letters = await t.api<{ items: { id: string; code: string }[]; total: number }>(
      'GET',
      '/api/dead-letters?limit=2',
    );
    expect(letters.json.total).toBe(5);
    expect(letters.json.items.map((l) => l.code)).toEqual(['CAMPAIGN_HTTP_503', 'CAMPAIGN_HTTP_503']);

    t.bed.campaign.admin.clearFaults();
    const retried = await t.api('POST', '/api/dead-letters/retry', {
      ids: letters.json.items.map((l) => l.id),
    });
    expect(retried.json).toEqual({ requested: 2, retried: 2 });
    expect((await t.api<{ total: { queued: number } }>('GET', '/api/backlog')).json.total.queued).toBe(2);
    await t.engine.runUntilIdle({ timeoutMs: 60_000 });
    expect(t.bed.profilesByExternalId().size).toBe(2);
    expect((await t.api<{ total: number }>('GET', '/api/dead-letters')).json.total).toBe(3);

    const rest = await t.api<{ items: { id: string }[] }>('GET', '/api/dead-letters');
    const discarded = await t.api('POST', '/api/dead-letters/discard', {
      ids: [...rest.json.items.map((l) => l.id), '999999'],
    });
    expect(discarded.json).toEqual({ requested: 4, discarded: 3 });
    expect((await t.api<{ total: number }>('GET', '/api/dead-letters')).json.total).toBe(0);
    const audit = await t.api<{ items: { action: string; detail: string }[] }>(
      'GET',
      '/api/audit?action=dlq.retry',
    );
    expect(audit.json.items[0]!.detail).toBe('retried 2 of 2 dead letters');
  });
});

describe('changes waiting for a retry', () => {
  let t: ServerTestBed;

  beforeAll(async () => {
    t = await ServerTestBed.start({
      dynamics: { contacts: 5, seed: 6 },
      syncFirst: false,
      // Every write fails once, then waits an hour: the changes stay retrying, not dead letters.
      config: { engine: { retry: { initialDelayMs: 3_600_000, maxDelayMs: 3_600_000, jitter: 'none' } } },
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('shows them per flow and code in the API, /metrics and dcsync status; Campaign failing and an old failure make the status unhealthy', async () => {
    t.bed.campaign.admin.setFaults({ errorRate: 1, errorStatus: 503, pathPattern: 'profileAndServices' });
    await t.engine.start();
    const deadline = Date.now() + 30_000;
    let body = (await t.api<StatusBody>('GET', '/api/status')).json;
    while (body.retrying.total < 5 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      body = (await t.api<StatusBody>('GET', '/api/status')).json;
    }
    expect(body.retrying).toEqual({
      total: 5,
      byCode: [
        {
          flow: 'contacts',
          code: 'CAMPAIGN_HTTP_503',
          count: 5,
          oldestFailedAt: expect.any(Number) as number,
        },
      ],
    });
    expect(body.flows.find((f) => f.id === 'contacts')!.retrying).toBe(5);
    expect(body.deadLetters.total).toBe(0);
    // Campaign answering 503 is a problem at once (without a monitor, the read assesses the moment).
    expect(body.overall.healthy).toBe(false);
    expect(body.overall.problems).toContain('Campaign calls failing (HTTP 503)');

    // Twenty minutes later (the store's first failures moved back), the status needs a look.
    const db = new Database(join(t.bed.dir, 'state.db'));
    try {
      db.pragma('busy_timeout = 5000');
      db.prepare('UPDATE work_items SET first_failed_at = first_failed_at - ?').run(20 * 60_000);
    } finally {
      db.close();
    }
    body = (await t.api<StatusBody>('GET', '/api/status')).json;
    expect(body.overall.healthy).toBe(false);
    expect(body.overall.details).toContainEqual(
      expect.objectContaining({
        kind: 'changes-retrying',
        subject: 'contacts',
        severity: 'critical',
        summary: 'flow contacts: 5 changes failing for 20 min (CAMPAIGN_HTTP_503)',
      }),
    );
    const { text } = await t.api('GET', '/metrics');
    expect(metricValue(text, 'dcsync_retrying_items{flow="contacts",code="CAMPAIGN_HTTP_503"}')).toBe(5);
    expect(
      metricValue(text, 'dcsync_retrying_oldest_seconds{flow="contacts",code="CAMPAIGN_HTTP_503"}'),
    ).toBeGreaterThanOrEqual(20 * 60);
    const status = await runDcsync(['status', '--config', t.bed.configPath], testEnv);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('synced 0; retrying 5; dead letters 0; parked 0');
    expect(status.stdout).toContain('retrying 5 after CAMPAIGN_HTTP_503 (oldest first failed 20m ago)');
    // No service runs here: the CLI assesses the same health model over the store.
    expect(status.stdout).toContain(
      'health: 1 problem(s), read from the store\n  critical: flow contacts: 5 changes failing for 20 min (CAMPAIGN_HTTP_503)',
    );
  });

  it('lists each retrying change with its record key, last error and next attempt at /api/retrying', async () => {
    // Runs after the test above: the five contacts are retrying after CAMPAIGN_HTTP_503.
    const contactIds = new Set(t.bed.dynamics.admin.listIds('contact'));
    interface RetryingBody {
      items: Record<string, unknown>[];
      nextCursor: string | null;
      total: number;
    }
    const first = await t.api<RetryingBody>('GET', '/api/retrying?limit=3');
    expect(first.status).toBe(200);
    expect(first.json.total).toBe(5);
    expect(first.json.items).toHaveLength(3);
    expect(first.json.nextCursor).not.toBeNull();
    for (const item of first.json.items) {
      expect(Object.keys(item).sort()).toEqual(
        ['attempts', 'code', 'firstFailedAt', 'flow', 'message', 'nextAttemptAt', 'recordKey'].sort(),
      );
      expect(item).toMatchObject({ flow: 'contacts', code: 'CAMPAIGN_HTTP_503', attempts: 1 });
      expect(contactIds.has(String(item.recordKey))).toBe(true);
      expect(String(item.message)).toContain('503');
      // Failed once, retried in an hour (the bed's retry policy).
      expect(Number(item.nextAttemptAt)).toBeGreaterThan(Number(item.firstFailedAt) + 20 * 60_000);
    }
    const second = await t.api<RetryingBody>(
      'GET',
      `/api/retrying?limit=3&cursor=${encodeURIComponent(first.json.nextCursor!)}`,
    );
    expect(second.json.items).toHaveLength(2);
    expect(second.json.nextCursor).toBeNull();
    const keys = [...first.json.items, ...second.json.items].map((i) => i.recordKey);
    expect(new Set(keys).size).toBe(5);

    const other = await t.api<RetryingBody>('GET', '/api/retrying?flow=memberships');
    expect(other.json).toEqual({ items: [], nextCursor: null, total: 0 });
    const bad = await t.api('GET', '/api/retrying?cursor=not-ours');
    expect(bad.status).toBe(400);
  });
});

describe('100,000 dead letters', () => {
  let t: ServerTestBed;
  const prefix = '00000000-0000-4000-8000-00000009';

  beforeAll(async () => {
    t = await ServerTestBed.start({ dynamics: { contacts: 1 }, syncFirst: false });
    bulkSeedDeadLetters(join(t.bed.dir, 'state.db'), {
      flow: 'contacts',
      count: 100_000,
      codes: ['CAMPAIGN_REJECTED', 'MAPPING_INVALID', 'CAMPAIGN_HTTP_503', 'CAMPAIGN_HIDDEN_OR_MISSING'],
      at: Date.now(),
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('pages on the server with cursors and counts the matches', async () => {
    const first = await t.api<{
      items: { id: string; recordKey: string }[];
      nextCursor: string;
      total: number;
    }>('GET', '/api/dead-letters?limit=500');
    expect(first.json.total).toBe(100_000);
    expect(first.json.items).toHaveLength(500);
    expect(first.json.items[0]!.recordKey).toBe(syntheticKey(0));
    const second = await t.api<{ items: { id: string; recordKey: string }[]; nextCursor: string }>(
      'GET',
      `/api/dead-letters?limit=500&cursor=${first.json.nextCursor}&total=false`,
    );
    expect(second.json.items[0]!.recordKey).toBe(syntheticKey(500));
    expect(Number(second.json.items[0]!.id)).toBeGreaterThan(Number(first.json.items.at(-1)!.id));
    const bad = await t.api<{ error: { code: string } }>('GET', '/api/dead-letters?cursor=not-a-cursor');
    expect([bad.status, bad.json.error.code]).toEqual([400, 'STORE_INVALID_CURSOR']);
  });

  it('searches by record key prefix and exact key, and filters by code', async () => {
    const byPrefix = await t.api<{ items: { recordKey: string }[]; total: number }>(
      'GET',
      `/api/dead-letters?recordKey=${prefix}*&limit=100`,
    );
    expect(byPrefix.json.total).toBe(10_000);
    expect(byPrefix.json.items.every((l) => l.recordKey.startsWith(prefix))).toBe(true);
    const exact = await t.api<{ items: { recordKey: string }[]; total: number }>(
      'GET',
      `/api/dead-letters?recordKey=${syntheticKey(12_345)}`,
    );
    expect(exact.json.total).toBe(1);
    expect(exact.json.items[0]!.recordKey).toBe(syntheticKey(12_345));
    const byCode = await t.api<{ total: number }>('GET', '/api/dead-letters?code=MAPPING_INVALID&limit=1');
    expect(byCode.json.total).toBe(25_000);
    const counts = await t.api<{ total: number; items: { code: string; count: number }[] }>(
      'GET',
      '/api/dead-letters/counts',
    );
    expect(counts.json.total).toBe(100_000);
    expect(counts.json.items.map((c) => c.count)).toEqual([25_000, 25_000, 25_000, 25_000]);
  });

  it('retries and discards a page of 500 at once', async () => {
    const page = await t.api<{ items: { id: string }[] }>(
      'GET',
      '/api/dead-letters?limit=500&code=CAMPAIGN_HTTP_503',
    );
    const retried = await t.api('POST', '/api/dead-letters/retry', { ids: page.json.items.map((l) => l.id) });
    expect(retried.json).toEqual({ requested: 500, retried: 500 });
    const next = await t.api<{ items: { id: string }[] }>(
      'GET',
      '/api/dead-letters?limit=500&code=CAMPAIGN_REJECTED',
    );
    const discarded = await t.api('POST', '/api/dead-letters/discard', {
      ids: next.json.items.map((l) => l.id),
    });
    expect(discarded.json).toEqual({ requested: 500, discarded: 500 });
    const status = await t.api<StatusBody>('GET', '/api/status');
    expect(status.json.deadLetters.total).toBe(99_000);
    expect(status.json.backlog.queued).toBe(500);
  });
});

describe('opt-out and privacy providers', () => {
  let t: ServerTestBed;
  const optOut = new InMemoryOptOutProvider();
  const privacy = new InMemoryPrivacyProvider();

  beforeAll(async () => {
    optOut.decisions = [
      {
        id: '1',
        at: Date.UTC(2026, 0, 2),
        recordKey: '6f1c7d1e-0000-4000-8000-000000000001',
        dynamicsColumn: 'donotemail',
        campaignAttribute: 'blackListEmail',
        dynamicsValue: false,
        campaignValue: true,
        dynamicsChangedAt: Date.UTC(2026, 0, 1),
        campaignChangedAt: Date.UTC(2026, 0, 2),
        winner: true,
        winningSide: 'campaign',
        rule: 'campaign-newer',
        source: 'optout_20260102.csv',
      },
    ];
    optOut.files = [
      {
        name: 'optout_20260102.csv',
        sizeBytes: 2048,
        modifiedAt: Date.UTC(2026, 0, 2),
        state: 'archived',
        rows: 10,
        quarantined: 1,
        quarantineOpen: 1,
        errorCode: null,
        processedAt: Date.UTC(2026, 0, 2, 1),
      },
    ];
    optOut.usage = { usedBytes: 850, quotaBytes: 1000, files: 3, measuredAt: Date.UTC(2026, 0, 2) };
    optOut.freshnessView = { lastFileAt: Date.UTC(2026, 0, 2), stalenessHours: 26, stale: true };
    optOut.problems = [
      {
        file: 'optout_20260102.csv',
        problem: 'quarantined-lines',
        code: null,
        lines: 1,
        firstLine: 7,
        summary: 'opt-out file optout_20260102.csv: 1 line quarantined',
        detail:
          'Opt-out export file optout_20260102.csv has 1 line quarantined and not applied (first: line 7).',
      },
    ];
    t = await ServerTestBed.start({
      dynamics: { contacts: 1 },
      syncFirst: false,
      inputs: { optOut, privacy },
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('lists decisions (by contact), files, usage and freshness, and shows them in status and metrics', async () => {
    const all = await t.api<{ items: unknown[] }>('GET', '/api/opt-out/decisions');
    expect(all.json.items).toHaveLength(1);
    const other = await t.api<{ items: unknown[] }>('GET', '/api/opt-out/decisions?contact=someone-else');
    expect(other.json.items).toHaveLength(0);
    expect((await t.api<{ items: unknown[] }>('GET', '/api/sftp/files')).json.items).toHaveLength(1);
    expect((await t.api('GET', '/api/sftp/usage')).json).toEqual({ usage: optOut.usage });
    expect((await t.api('GET', '/api/opt-out/freshness')).json).toEqual(optOut.freshnessView);
    const status = await t.api<StatusBody & { overall: { problems: string[] } }>('GET', '/api/status');
    expect(status.json.providers).toMatchObject({ optOut: true, privacy: true });
    expect(status.json.overall.problems).toEqual([
      'opt-out export file is stale',
      'SFTP usage at 85 %',
      'opt-out file optout_20260102.csv: 1 line quarantined',
    ]);
    const metrics = (await t.api('GET', '/metrics')).text;
    expect(metricValue(metrics, 'dcsync_optout_file_stale')).toBe(1);
    expect(metricValue(metrics, 'dcsync_sftp_usage_ratio')).toBe(0.85);
  });

  it('creates privacy requests (validated, attributed, audited) and shows each with its steps', async () => {
    const contactId = '6F1C7D1E-0000-4000-8000-000000000001';
    const created = await t.api<{ id: string; contactId: string; requestedBy: string; state: string }>(
      'POST',
      '/api/privacy/requests',
      { contactId, regulation: 'ccpa' },
    );
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      contactId: contactId.toLowerCase(),
      requestedBy: 'api',
      state: 'pending',
    });
    const again = await t.api<{ id: string }>('POST', '/api/privacy/requests', { contactId });
    expect([again.status, again.json.id]).toEqual([201, created.json.id]);
    const invalid = await t.api<{ error: { code: string; message: string } }>(
      'POST',
      '/api/privacy/requests',
      { contactId: 'not-a-guid', regulation: 'nope' },
    );
    expect(invalid.status).toBe(400);
    expect(invalid.json.error.message).toContain('body.contactId');
    expect(invalid.json.error.message).toContain('body.regulation');
    const one = await t.api<{ steps: { step: string }[] }>('GET', `/api/privacy/requests/${created.json.id}`);
    expect(one.json.steps.map((s) => s.step)).toEqual(['hold']);
    expect(
      (await t.api<{ items: unknown[] }>('GET', '/api/privacy/requests?state=pending')).json.items,
    ).toHaveLength(1);
    expect((await t.api('GET', '/api/privacy/requests/unknown')).status).toBe(404);
    const audit = await t.api<{ items: { detail: string }[] }>('GET', '/api/audit?action=privacy.request');
    expect(audit.json.items[0]!.detail).toBe(`request ${created.json.id}`);
  });
});

describe('Dataverse webhook receiver', () => {
  let t: ServerTestBed;
  let server: RunningHttpServer;
  const key = 'webhook-test-key-7c0de';

  beforeAll(async () => {
    t = await ServerTestBed.start({
      dynamics: { contacts: 3, seed: 3 },
      syncFirst: false,
      // Polls are rare: only the webhook can make a change arrive quickly.
      config: { engine: { pollIntervalMs: 600_000 } },
    });
    server = await startHttpServer(
      {
        ...t.deps,
        registry: new Registry(),
        dynamicsWebhook: {
          key,
          header: 'x-dcsync-key',
          onNotification: (table) => {
            if (table === 'contact') t.engine.wake('contacts');
          },
        },
      },
      { host: '127.0.0.1', port: 0 },
    );
  });

  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  it('accepts notifications with the header key and wakes the flow, so a change lands without waiting for a poll', async () => {
    t.bed.dynamics.admin.registerWebhook({
      url: `${server.url}/webhooks/dynamics`,
      table: 'contact',
      messages: ['Update'],
      auth: { type: 'HttpHeader', headers: { 'x-dcsync-key': key } },
    });
    await t.engine.start();
    const id = t.bed.dynamics.admin.listIds('contact')[0]!;
    // Wait until the engine's first poll is done and it sleeps for the long interval.
    await expect
      .poll(async () => (await t.api<StatusBody>('GET', '/api/status')).json.synced, { timeout: 20_000 })
      .toBe(3);
    t.bed.dynamics.admin.updateContact(id, { lastname: 'Webhooked' });
    await expect
      .poll(() => t.bed.profilesByExternalId().get(id)?.lastName, { timeout: 10_000 })
      .toBe('Webhooked');
    const deliveries = t.bed.dynamics.admin.webhookDeliveries();
    expect(deliveries.at(-1)).toMatchObject({
      outcome: 'succeeded',
      attempts: [expect.objectContaining({ status: 202 })],
    });
  });
});
