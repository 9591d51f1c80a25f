/**
 * Issue 17, "must show", in a real browser (playwright-core driving Debian's chromium) against
 * `dcsync demo`, each claim read from the page and cross-checked with the API:
 * - a 503 storm injected through the Campaign emulator turns the header to a problem within a
 *   bounded time and back once it ends, with one alert each way (the demo's health monitor runs
 *   with short timings through DCSYNC_DEMO_HEALTH);
 * - a record trace: a contact created then updated shows its steps newest first; a membership
 *   created before its contact is parked, released, then applied, with its parent link;
 * - an orphan membership (empty contact lookup) is listed as an orphan and a header problem, and is
 *   written once its lookup is filled;
 * - screenshots of the overview (during the storm), records and parked views at 1280 and 1920 px in
 *   test-results/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { openDashboardBrowser, type DashboardBrowser } from '../support/dashboard-browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardTarget, type DashboardTarget } from '../support/server-dashboard-target.js';

interface Status {
  overall: { healthy: boolean; problems: string[]; details: { kind: string; subject: string }[] };
  backlog: { queued: number; leased: number };
  retrying: { total: number };
  flows: { id: string; synced: number; parked: number; orphans: number; backlog: { queued: number } }[];
}

interface AlertsAnswer {
  items: { kind: string; state?: string; subject: string; severity: string; message: string; at: number }[];
}

interface TraceStep {
  at: number;
  kind: string;
  flow: string;
  summary: string;
  fields?: string[];
  campaignPKey?: string;
}

interface TraceMatch {
  flow: string;
  recordKey: string;
  campaignPKey: string | null;
  state: string;
  parent: { flow: string; recordKey: string } | null;
  children: { flow: string; recordKey: string; state: string }[];
  steps: TraceStep[];
}

interface TraceAnswer {
  query: string;
  matches: TraceMatch[];
}

interface ParkedAnswer {
  items: { flow: string; recordKey: string; state?: string; parent: { flow: string; recordKey: string } }[];
  total: number;
}

const contacts = 200;
const membershipFlow = 'table:new_membership';
/**
 * The health monitor's timings for this demo: Campaign trouble is a problem after 1 s, changes
 * failing after 1 s, and either is over 2 s after it stopped (Campaign trouble counts for 5 s, so
 * the retries' backoff gaps during the storm do not end it early).
 */
const health = {
  checkIntervalMs: 500,
  stormEnterAfterMs: 1000,
  stormLeaveAfterMs: 2000,
  campaignTroubleWindowMs: 5000,
  retryingAfterMs: 1000,
};
/** The Campaign problems a 503 storm may raise (all with the storm's hysteresis). */
const stormKinds = ['campaign-failing', 'campaign-rate-cut', 'campaign-throttled', 'changes-retrying'];
/**
 * How long the header may take to turn back after the storm: a refused change waits out its
 * backoff before its next attempt, and the backoff grows with the storm's length (which grows with
 * the machine's load) up to the retry ceiling the demo keeps (`engine.retry.maxDelayMs`, 60 s);
 * then the storm's leave-after and a page refresh.
 */
const recoveryBoundMs = 60_000 + health.stormLeaveAfterMs + 3_000 + 15_000;
const widths = [1280, 1920] as const;

let target: DashboardTarget;
let browser: DashboardBrowser | undefined;
let page: Page;
let consoleErrors: string[] = [];

/** Poll `check` until it holds (hooks cannot use expect.poll). */
async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const status = (): Promise<Status> => target.api<Status>('GET', '/api/status');
const trace = (key: string): Promise<TraceAnswer> =>
  target.api<TraceAnswer>('GET', `/api/trace?key=${encodeURIComponent(key)}`);
const flowOf = (s: Status, id: string): Status['flows'][number] => s.flows.find((f) => f.id === id)!;

async function createContact(firstname: string, lastname: string, id?: string): Promise<string> {
  const created = (await target.dataverseAdmin('POST', '/tables/contact/rows', {
    values: {
      ...(id ? { contactid: id } : {}),
      firstname,
      lastname,
      emailaddress1: `${firstname}.${lastname}@example.com`.toLowerCase(),
    },
  })) as { contactid: string };
  return String(created.contactid);
}

async function createMembership(contactId: string | null): Promise<string> {
  const created = (await target.dataverseAdmin('POST', '/tables/new_membership/rows', {
    values: { new_level: 2, ...(contactId ? { new_contactid: contactId } : {}) },
  })) as { new_membershipid: string };
  return String(created.new_membershipid);
}

/** Whether the trace of `key` in `flow` says Campaign holds it, nothing of it waits, and it has `applied` steps. */
async function synced(key: string, flow: string, applied: number): Promise<boolean> {
  const match = (await trace(key)).matches.find((m) => m.flow === flow);
  return match?.state === 'synced' && match.steps.filter((step) => step.kind === 'applied').length >= applied;
}

async function showView(name: string): Promise<void> {
  await page.goto(`${target.url}/#/${name}`);
  await page.locator(`[data-view="${name}"]`).waitFor({ state: 'visible' });
}

async function screenshots(name: string, ready: () => Promise<void>): Promise<void> {
  mkdirSync(join('test-results', 'screenshots'), { recursive: true });
  for (const width of widths) {
    await page.setViewportSize({ width, height: 1000 });
    await ready();
    await page.screenshot({
      path: join('test-results', 'screenshots', `${name}-${width}.png`),
      fullPage: true,
    });
  }
  await page.setViewportSize({ width: 1400, height: 1400 });
}

/** The header: its class (`ok` / `warn`) and text. */
async function header(): Promise<{ ok: boolean; text: string }> {
  const overall = page.locator('#overall');
  const className = (await overall.getAttribute('class')) ?? '';
  return { ok: className.split(' ').includes('ok'), text: ((await overall.textContent()) ?? '').trim() };
}

/** The steps the page shows for one record of the Records view, newest first. */
async function shownSteps(flow: string, key: string): Promise<string[]> {
  return kindsOf(
    `#trace-results article.trace[data-flow="${flow}"][data-key="${key}"] ol.timeline li[data-kind]`,
  );
}

/** The `data-kind` of each element `selector` finds, in page order. */
async function kindsOf(selector: string): Promise<string[]> {
  const items = await page.locator(selector).all();
  return Promise.all(items.map(async (item) => (await item.getAttribute('data-kind')) ?? ''));
}

beforeAll(async () => {
  target = await startDashboardTarget(contacts, {
    env: { DCSYNC_DEMO_HEALTH: JSON.stringify(health) },
  });
  await waitUntil(
    'the initial load',
    async () => {
      const s = await status();
      return flowOf(s, 'contacts').synced === contacts && s.backlog.queued + s.backlog.leased === 0;
    },
    60_000,
  );
  // The demo's sample memberships include a few with an empty contact lookup (orphans, a health
  // problem): an operator deletes them in Dynamics, so the header starts healthy.
  const demoOrphans = await target.api<ParkedAnswer>('GET', '/api/parked?state=orphan&limit=100');
  for (const orphan of demoOrphans.items)
    await target.dataverseAdmin('DELETE', `/tables/new_membership/rows/${orphan.recordKey}`);
  await waitUntil(
    'the demo orphans to go',
    async () => {
      const s = await status();
      return s.overall.healthy && flowOf(s, membershipFlow).orphans === 0;
    },
    30_000,
  );
  browser = await openDashboardBrowser({ width: 1400, height: 1400 });
  ({ page, consoleErrors } = browser);
  // Sign in once: the session cookie carries the rest.
  await page.goto(`${target.url}/login`);
  await page.getByLabel('Admin token').fill(target.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${target.url}/`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await target?.close();
});

describe('operator truth in chromium', () => {
  it('turns the header to a Campaign problem during a 503 storm and back after it, one alert each way', async () => {
    // Contacts the storm's writes are about, synced before it starts.
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await createContact(`Storm${i}`, 'Weather'));
    await waitUntil(
      'the storm contacts to sync',
      async () => flowOf(await status(), 'contacts').synced === contacts + ids.length,
      30_000,
    );
    await showView('overview');
    await expect.poll(header, { timeout: 15_000 }).toEqual({ ok: true, text: 'Sync running · all good' });
    expect((await status()).overall).toMatchObject({ healthy: true, problems: [] });
    expect(
      (await target.api<AlertsAnswer>('GET', '/api/alerts')).items.filter((a) => stormKinds.includes(a.kind)),
    ).toEqual([]);

    // Every profile write now fails with 503, while the contacts change in Dynamics.
    await target.campaignAdmin('PUT', '/faults', {
      errorRate: 1,
      errorStatus: 503,
      pathPattern: 'profileAndServices',
    });
    const stormStart = Date.now();
    let stormEnd = 0;
    try {
      for (const [i, id] of ids.entries())
        await target.dataverseAdmin('PATCH', `/tables/contact/rows/${id}`, {
          values: { firstname: `Stormy${i}` },
        });
      // The header names the problem (class warn), and the Problems list has it by kind.
      await expect
        .poll(async () => (await header()).text, { timeout: 30_000, interval: 200 })
        .toMatch(/^Sync running · needs attention: .*Campaign calls failing \(HTTP 503\)/);
      expect((await header()).ok).toBe(false);
      await page.locator('#problems li[data-kind="campaign-failing"]').waitFor({ timeout: 10_000 });
      // The changes Campaign refuses are named too: they keep failing.
      await page.locator('#problems li[data-kind="changes-retrying"]').waitFor({ timeout: 15_000 });
      const api = await status();
      expect(api.overall.healthy).toBe(false);
      expect(api.overall.details).toEqual(
        expect.arrayContaining([expect.objectContaining({ kind: 'campaign-failing', subject: 'campaign' })]),
      );
      await screenshots('overview-storm', async () => {
        await page.locator('#problems li[data-kind="campaign-failing"]').waitFor();
      });
    } finally {
      await target.campaignAdmin('DELETE', '/faults');
      stormEnd = Date.now();
    }

    // Calm again: the writes go through, the header says all good, the problems list is empty.
    await page.locator('#overall.ok').waitFor({ timeout: recoveryBoundMs });
    expect(await header()).toEqual({ ok: true, text: 'Sync running · all good' });
    expect(await page.locator('#problems li[data-kind]').count()).toBe(0);
    expect((await status()).overall).toMatchObject({ healthy: true, problems: [] });
    // The changes the storm refused are retried (with backoff) and written: every contact's trace
    // shows its update applied.
    await waitUntil(
      'the refused changes to be written',
      async () => (await Promise.all(ids.map((id) => synced(id, 'contacts', 2)))).every(Boolean),
      60_000,
    );
    // Each trace tells the story: read, refused with 503 (at least once), then applied.
    for (const id of ids) {
      const steps = (await trace(id)).matches.find((m) => m.flow === 'contacts')!.steps;
      const story = steps.filter((step) => ['read', 'attempt-failed', 'applied'].includes(step.kind));
      expect(story[0]!.kind, id).toBe('applied');
      expect(story[1], id).toMatchObject({ kind: 'attempt-failed', code: 'CAMPAIGN_HTTP_503' });
    }
    // (/api/status may answer from its one-second cache.)
    await expect.poll(async () => (await status()).retrying.total, { timeout: 5_000 }).toBe(0);

    // One alert each way per storm problem: firing when it began, resolved when it ended.
    const alerts = (await target.api<AlertsAnswer>('GET', '/api/alerts')).items
      .filter((a) => stormKinds.includes(a.kind))
      .reverse();
    const kinds = [...new Set(alerts.map((a) => a.kind))];
    expect(kinds).toContain('campaign-failing');
    for (const kind of kinds)
      expect(
        alerts.filter((a) => a.kind === kind).map((a) => a.state ?? 'firing'),
        kind,
      ).toEqual(['firing', 'resolved']);
    const failing = alerts.filter((a) => a.kind === 'campaign-failing');
    expect(failing[0]!.severity).toBe('critical');
    expect(failing[0]!.at).toBeGreaterThanOrEqual(stormStart);
    expect(failing[1]!.at).toBeGreaterThanOrEqual(stormEnd);
    // It lasted seconds, and says so.
    expect(failing[1]!.message).toMatch(/^Resolved after \d+ s: Campaign calls failing \(HTTP 503\)\.$/);
    // The Alerts view lists them too.
    await showView('alerts');
    const shownAlerts = async (): Promise<{ kind: string; severity: string; resolved: boolean }[]> => {
      const rows = await page.locator('#alerts tbody tr').all();
      const cells = await Promise.all(rows.map((row) => row.locator('td').allTextContents()));
      return cells
        .filter((c) => c.length === 6 && stormKinds.includes(c[2]!))
        .map((c) => ({ kind: c[2]!, severity: c[1]!, resolved: c[4]!.startsWith('Resolved after') }))
        .reverse();
    };
    await expect
      .poll(shownAlerts, { timeout: 10_000 })
      .toEqual(alerts.map((a) => ({ kind: a.kind, severity: a.severity, resolved: a.state === 'resolved' })));
    expect(consoleErrors).toEqual([]);
  }, 240_000);

  it('traces a contact created then updated, and a membership parked before its contact, released and applied', async () => {
    const contactId = await createContact('Tracy', 'Trace');
    await waitUntil('the contact to sync', () => synced(contactId, 'contacts', 1), 30_000);
    await target.dataverseAdmin('PATCH', `/tables/contact/rows/${contactId}`, {
      values: { lastname: 'Traced' },
    });
    await waitUntil('the update to sync', () => synced(contactId, 'contacts', 2), 30_000);

    // The operator searches the contact's Dynamics id in the Records view.
    await showView('records');
    await page.locator('#trace-key').fill(contactId);
    await page.locator('#trace-key').press('Enter');
    await page.waitForURL(`${target.url}/#/records?key=${contactId}`);
    const card = page.locator(`#trace-results article.trace[data-flow="contacts"][data-key="${contactId}"]`);
    await card.waitFor({ timeout: 10_000 });
    const contact = (await trace(contactId)).matches.find((m) => m.flow === 'contacts')!;
    // Newest first: the update applied, its read, the create applied, its read (opt-out decisions between).
    const lifeSteps = ['applied', 'read'];
    expect(contact.steps.map((step) => step.kind).filter((kind) => lifeSteps.includes(kind))).toEqual([
      'applied',
      'read',
      'applied',
      'read',
    ]);
    const applied = contact.steps.filter((step) => step.kind === 'applied');
    expect(applied.map((step) => step.summary)).toEqual([
      expect.stringMatching(/^updated .*profile\.update/),
      expect.stringMatching(/^created .*profile\.create/),
    ]);
    expect(contact.steps.map((step) => step.at)).toEqual(
      [...contact.steps.map((step) => step.at)].sort((a, b) => b - a),
    );
    // The page shows exactly those steps, in that order, and the PKey and state.
    expect(await shownSteps('contacts', contactId)).toEqual(contact.steps.map((step) => step.kind));
    const shownApplied = await card.locator('ol.timeline li[data-kind="applied"] .summary').allTextContents();
    expect(shownApplied).toEqual(applied.map((step) => step.summary));
    expect((await card.locator('[data-field="trace-state"]').textContent())?.trim()).toBe('synced');
    expect(await card.locator('.trace-facts dd code').first().textContent()).toBe(contact.campaignPKey);

    // A membership created before its contact reaches Campaign: the contacts flow is paused, so the
    // contact waits and the membership parks on it.
    await target.api('POST', '/api/flows/contacts/pause', { reason: 'trace test' });
    let parentId = '';
    let childId = '';
    try {
      parentId = await createContact('Parent', 'Later');
      childId = await createMembership(parentId);
      await waitUntil(
        'the membership to park',
        async () => (await trace(childId)).matches.some((m) => m.state === 'parked'),
        30_000,
      );
      // Parked, waiting for its parent: the Parked view lists it, the Records view says so.
      await showView('parked');
      await page.locator(`#parked tr[data-key="${childId}"]`).waitFor({ timeout: 10_000 });
      expect(await page.locator(`#orphans tr[data-key="${childId}"]`).count()).toBe(0);
      await page.goto(`${target.url}/#/records?key=${childId}`);
      const parkedCard = page.locator(`#trace-results article.trace[data-key="${childId}"]`);
      await parkedCard.waitFor({ timeout: 10_000 });
      expect((await parkedCard.locator('[data-field="trace-state"]').textContent())?.trim()).toBe('parked');
    } finally {
      await target.api('POST', '/api/flows/contacts/resume', {});
    }
    await waitUntil('the membership to sync', () => synced(childId, membershipFlow, 1), 30_000);

    await page.goto(`${target.url}/#/records?key=${childId}`);
    const childCard = page.locator(
      `#trace-results article.trace[data-flow="${membershipFlow}"][data-key="${childId}"]`,
    );
    // The view re-reads a search only every 10 s: reload shows the answer now.
    await page.reload();
    await expect
      .poll(() => childCard.locator('[data-field="trace-state"]').textContent(), { timeout: 15_000 })
      .toBe(' synced');
    const child = (await trace(childId)).matches.find((m) => m.flow === membershipFlow)!;
    // Newest first: applied, released (its parent landed), parked (waiting for it), read.
    expect(child.steps.map((step) => step.kind)).toEqual(['applied', 'released', 'parked', 'read']);
    expect(child.parent).toEqual({ flow: 'contacts', recordKey: parentId });
    expect(child.steps[0]!.summary).toMatch(/^created .*cusMembership\.create/);
    expect(child.steps[0]!.fields).toContain('profile');
    expect(await shownSteps(membershipFlow, childId)).toEqual(['applied', 'released', 'parked', 'read']);
    for (const kind of ['released', 'parked'])
      expect(await childCard.locator(`ol.timeline li[data-kind="${kind}"] .summary`).textContent()).toContain(
        `contacts/${parentId}`,
      );
    // Resumed: the header no longer says the contacts flow is paused.
    await page.locator('#overall.ok').waitFor({ timeout: 15_000 });
    await screenshots('records-trace', async () => {
      await childCard.locator('ol.timeline li[data-kind="applied"]').waitFor();
    });

    // The parent link searches the parent: its trace names the membership among its children.
    const parentLink = childCard.locator(`.trace-facts a[data-key="${parentId}"]`);
    expect(await parentLink.textContent()).toBe(parentId);
    await parentLink.click();
    await page.waitForURL(`${target.url}/#/records?key=${parentId}`);
    const parentCard = page.locator(
      `#trace-results article.trace[data-flow="contacts"][data-key="${parentId}"]`,
    );
    await parentCard.waitFor({ timeout: 10_000 });
    expect(await page.locator('#trace-key').inputValue()).toBe(parentId);
    expect(await parentCard.locator(`.children a[data-key="${childId}"]`).count()).toBe(1);
    const parent = (await trace(parentId)).matches.find((m) => m.flow === 'contacts')!;
    expect(parent.children).toEqual([{ flow: membershipFlow, recordKey: childId, state: 'synced' }]);
    expect(await shownSteps('contacts', parentId)).toEqual(parent.steps.map((step) => step.kind));
    expect(parent.steps.map((step) => step.kind).slice(0, 2)).toEqual(['released', 'applied']);
    expect(consoleErrors).toEqual([]);
  }, 120_000);

  it('lists a membership with an empty contact lookup as an orphan, and writes it once the lookup is filled', async () => {
    const orphanId = await createMembership(null);
    await waitUntil(
      'the orphan',
      async () =>
        (await target.api<ParkedAnswer>('GET', '/api/parked?state=orphan')).items.some(
          (item) => item.recordKey === orphanId,
        ),
      30_000,
    );
    // The health monitor sees it at its next check.
    await expect
      .poll(async () => (await status()).overall.details, { timeout: 10_000 })
      .toEqual([expect.objectContaining({ kind: 'orphans', subject: membershipFlow })]);
    expect(flowOf(await status(), membershipFlow).orphans).toBe(1);

    // The header and the Problems list say so.
    await showView('overview');
    await page.locator('#problems li[data-kind="orphans"]').waitFor({ timeout: 15_000 });
    await expect.poll(header, { timeout: 10_000 }).toEqual({
      ok: false,
      text: `Sync running · needs attention: flow ${membershipFlow}: 1 record with no parent in Dynamics`,
    });
    expect(await kindsOf('#problems li[data-kind]')).toEqual(['orphans']);
    // The Parked view lists it as an orphan (not as a waiting child).
    await showView('parked');
    const row = page.locator(`#orphans tr[data-key="${orphanId}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await page.locator('#orphans tbody tr[data-key]').count()).toBe(1);
    expect(await page.locator(`#parked tr[data-key="${orphanId}"]`).count()).toBe(0);
    expect(await row.locator('td').first().textContent()).toBe(membershipFlow);
    await screenshots('parked-orphan', async () => {
      await row.waitFor();
    });
    const orphanTrace = (await trace(orphanId)).matches.find((m) => m.flow === membershipFlow)!;
    expect(orphanTrace.state).toBe('orphan');
    expect(orphanTrace.steps.map((step) => step.kind)).toEqual(['orphaned', 'read']);

    // Dynamics fills the lookup with a contact Campaign holds: the membership is written.
    const contactId = await createContact('Olive', 'Orphan');
    await waitUntil('the contact to sync', () => synced(contactId, 'contacts', 1), 30_000);
    await target.dataverseAdmin('PATCH', `/tables/new_membership/rows/${orphanId}`, {
      values: { new_contactid: contactId },
    });
    await waitUntil('the membership to sync', () => synced(orphanId, membershipFlow, 1), 30_000);
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(0);
    expect((await target.api<ParkedAnswer>('GET', '/api/parked?state=orphan')).total).toBe(0);
    await page.goto(`${target.url}/#/records?key=${orphanId}`);
    const card = page.locator(
      `#trace-results article.trace[data-flow="${membershipFlow}"][data-key="${orphanId}"]`,
    );
    await card.waitFor({ timeout: 10_000 });
    const written = (await trace(orphanId)).matches.find((m) => m.flow === membershipFlow)!;
    expect(written.state).toBe('synced');
    expect(written.parent).toEqual({ flow: 'contacts', recordKey: contactId });
    const kinds = written.steps.map((step) => step.kind);
    // Newest first: applied (the filled lookup's version), read, orphaned (the empty one), read.
    expect(kinds).toEqual(['applied', 'read', 'orphaned', 'read']);
    const orphaned = written.steps[2]!;
    expect(orphaned.summary).toMatch(/^no parent in Dynamics: lookup _new_contactid_value is empty/);
    expect(orphaned.summary.match(/no parent in Dynamics/g)).toHaveLength(1);
    expect(await card.locator('ol.timeline li[data-kind="orphaned"] .summary').textContent()).toBe(
      orphaned.summary,
    );
    expect(await shownSteps(membershipFlow, orphanId)).toEqual(kinds);
    expect((await card.locator('[data-field="trace-state"]').textContent())?.trim()).toBe('synced');
    // Nothing needs attention any more.
    await page.locator('#overall.ok').waitFor({ timeout: 15_000 });
    expect((await status()).overall).toMatchObject({ healthy: true, problems: [] });
    expect(consoleErrors).toEqual([]);
  }, 90_000);
});
