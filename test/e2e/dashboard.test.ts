/**
 * Issue 9, "must show": a real browser (playwright-core driving Debian's chromium — never a
 * downloaded one) against `dcsync demo`: sign in through the login page, the dashboard's numbers
 * are the API's, a dead letter is retried by clicking, and a screenshot is kept in
 * test-results/dashboard.png.
 * Issue 17: every view loads by its address without console errors at 1280 and 1920 px, no table
 * is cut off (screenshots in test-results/screenshots/), the charts have axes, the retrying
 * changes are listed one by one, and a replay needs confirming (cancel does nothing).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { openDashboardBrowser, type DashboardBrowser } from '../support/dashboard-browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardTarget, type DashboardTarget } from '../support/server-dashboard-target.js';

/** A run of `GET /api/runs`, the fields this test reads. */
interface RunSummary {
  id: string;
  kind: string;
  outcome: string;
  trigger: string;
  progress: { percent: number | null; done: number; total: number | null };
  counts: {
    read: number;
    created: number;
    adopted: number;
    updated: number;
    unchanged: number;
    deadLettered: number;
    skipped: Record<string, number>;
  };
}

/** The rows of a run settled once each: written, a dead letter, or skipped with a reason. */
function settledOf(run: RunSummary): number {
  const c = run.counts;
  return (
    c.created +
    c.adopted +
    c.updated +
    c.unchanged +
    c.deadLettered +
    Object.values(c.skipped).reduce((n, v) => n + v, 0)
  );
}

/** A count as the dashboard writes it (thousands separated). */
function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

interface Status {
  synced: number;
  backlog: { queued: number; leased: number };
  deadLetters: { total: number; byCode: { flow: string; code: string; count: number }[] };
  retrying: { total: number };
  parked: { total: number };
  budget: { callsToday: number; callsPerDay: number; engineCallsToday: number };
  flows: {
    id: string;
    state: string;
    synced: number;
    deadLetters: number;
    retrying: number;
    parked: number;
    backlog: { queued: number; leased: number };
  }[];
}

interface DeadLetterPage {
  items: { id: string; recordKey: string; code: string; lastFailedAt: number }[];
  total: number;
}

const contacts = 500;
let target: DashboardTarget;
let browser: DashboardBrowser | undefined;
let context: BrowserContext;
let page: Page;
/** Console errors and uncaught exceptions of the page, with the address they came from. */
let consoleErrors: string[] = [];

const viewNames = [
  'overview',
  'flows',
  'runs',
  'records',
  'dead-letters',
  'parked',
  'opt-outs',
  'privacy',
  'alerts',
] as const;

async function showView(name: (typeof viewNames)[number]): Promise<void> {
  await page.goto(`${target.url}/#/${name}`);
  await page.locator(`[data-view="${name}"]`).waitFor({ state: 'visible' });
}

function number(text: string | null): number {
  return Number((text ?? '').replace(/,/g, ''));
}

async function field(name: string): Promise<number> {
  return number(await page.locator(`[data-field="${name}"]`).first().textContent());
}

async function flowCell(flow: string, name: string): Promise<number> {
  return number(
    await page.locator(`#flows tr[data-flow="${flow}"] [data-field="flow-${name}"]`).textContent(),
  );
}

/** What the dashboard shows and what the API says, read back to back. */
async function shownAndAnswered(): Promise<{ shown: unknown; api: unknown }> {
  const status = await target.api<Status>('GET', '/api/status');
  const flow = status.flows.find((f) => f.id === 'contacts')!;
  const shown = {
    synced: await field('synced'),
    queued: await field('backlog-queued'),
    leased: await field('backlog-leased'),
    deadLetters: await field('dead-letters-total'),
    retrying: await field('retrying-total'),
    parked: await field('parked-total'),
    callsToday: await field('budget-calls-today'),
    callsPerDay: await field('budget-calls-per-day'),
    engineCallsToday: await field('budget-engine-calls-today'),
    flow: {
      synced: await flowCell('contacts', 'synced'),
      queued: await flowCell('contacts', 'queued'),
      deadLetters: await flowCell('contacts', 'dead-letters'),
      retrying: await flowCell('contacts', 'retrying'),
      parked: await flowCell('contacts', 'parked'),
      state: (
        await page.locator('#flows tr[data-flow="contacts"] [data-field="flow-state"]').textContent()
      )?.trim(),
    },
    codes: await Promise.all(
      (await page.locator('#codes tbody tr[data-code]').all()).map(async (row) => ({
        flow: await row.getAttribute('data-flow'),
        code: await row.getAttribute('data-code'),
        count: number(await row.locator('[data-field="count"]').textContent()),
      })),
    ),
  };
  const api = {
    synced: status.synced,
    queued: status.backlog.queued,
    leased: status.backlog.leased,
    deadLetters: status.deadLetters.total,
    retrying: status.retrying.total,
    parked: status.parked.total,
    callsToday: status.budget.callsToday,
    callsPerDay: status.budget.callsPerDay,
    engineCallsToday: status.budget.engineCallsToday,
    flow: {
      synced: flow.synced,
      queued: flow.backlog.queued,
      deadLetters: flow.deadLetters,
      retrying: flow.retrying,
      parked: flow.parked,
      state: flow.state,
    },
    codes: status.deadLetters.byCode,
  };
  return { shown, api };
}

/** Poll `check` until it holds (hooks cannot use expect.poll). */
async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  target = await startDashboardTarget(contacts);
  await waitUntil(
    'the initial load',
    async () => {
      const status = await target.api<Status>('GET', '/api/status');
      const contactFlow = status.flows.find((f) => f.id === 'contacts');
      return contactFlow?.synced === contacts && status.backlog.queued + status.backlog.leased === 0;
    },
    60_000,
  );
  // One record Campaign cannot take: 45 characters of first name, Campaign's field holds 30.
  await target.dataverseAdmin('POST', '/tables/contact/rows', {
    values: {
      firstname: 'Maximiliana-Bartholomea-Fitzgeraldine-Smythe',
      lastname: 'Long',
      emailaddress1: 'long.name@example.com',
    },
  });
  await waitUntil(
    'the dead letter',
    async () => (await target.api<DeadLetterPage>('GET', '/api/dead-letters')).total === 1,
    30_000,
  );

  browser = await openDashboardBrowser({ width: 1400, height: 1800 });
  ({ context, page, consoleErrors } = browser);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await target?.close();
});

describe(`operator dashboard in chromium`, () => {
  it('sends a signed-out visitor to the login page, and signs in with the admin token', async () => {
    await page.goto(`${target.url}/`);
    await page.waitForURL(`${target.url}/login`);
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#login-error').textContent()).toBe('The admin token is not valid.');
    await page.getByLabel('Admin token').fill(target.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${target.url}/`);
    await expect
      .poll(() => page.locator('[data-field="synced"]').textContent(), { timeout: 15_000 })
      .not.toBe('—');
    const cookies = await context.cookies(target.url);
    expect(cookies).toEqual([
      expect.objectContaining({ name: 'dcsync_session', httpOnly: true, sameSite: 'Strict' }),
    ]);
    expect(cookies[0]!.value).not.toBe(target.token);
  });

  it('shows the numbers the API answers', async () => {
    await expect
      .poll(
        async () => {
          const { shown, api } = await shownAndAnswered();
          return JSON.stringify(shown) === JSON.stringify(api) ? 'same' : JSON.stringify({ shown, api });
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe('same');
    const { shown } = await shownAndAnswered();
    // The demo also syncs a custom table, so the overall synced count is larger than the contacts'.
    expect((shown as { synced: number }).synced).toBeGreaterThanOrEqual(contacts);
    expect(shown).toMatchObject({ deadLetters: 1, flow: { state: 'running', synced: contacts } });
    // Charts with axes drawn from /api/history (uPlot on canvas; its legend names the series).
    for (const chart of ['throughput', 'lag', 'backlog', 'budget'])
      await expect.poll(() => page.locator(`#chart-${chart} canvas`).count(), { timeout: 10_000 }).toBe(1);
    await expect
      .poll(() => page.locator('#chart-backlog .u-legend .u-series').allTextContents())
      .toEqual(expect.arrayContaining([expect.stringContaining('contacts')]));
    expect(await page.locator('#chart-budget .u-legend').textContent()).toContain('Ceiling');
    // Panels without a provider are greyed out.
    const status = await target.api<{ providers: { optOut: boolean; privacy: boolean } }>(
      'GET',
      '/api/status',
    );
    const greyed = async (id: string): Promise<boolean> =>
      ((await page.locator(id).getAttribute('class')) ?? '').split(' ').includes('unavailable');
    expect(await greyed('#optout-panel')).toBe(!status.providers.optOut);
    expect(await greyed('#privacy-panel')).toBe(!status.providers.privacy);
  });

  it('lists the worker with the duties it holds in the Workers panel', async () => {
    await showView('flows');
    const row = page.locator('#workers tbody tr[data-worker]');
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    expect(await row.getAttribute('data-state')).toBe('running');
    await expect
      .poll(async () => (await row.locator('[data-field="duties"]').textContent()) ?? '', { timeout: 10_000 })
      .toContain('poller:contacts');
    const holder = page.locator('#duties tr[data-duty="poller:contacts"] [data-field="holder"]');
    expect(await holder.textContent()).toBe(await row.getAttribute('data-worker'));
    // Its slice of the shared call budget and the deployment's day.
    expect(await row.locator('[data-field="budget"]').textContent()).toMatch(
      /^[\d,]+\/s slice · [\d,]+\/[\d,]+ today/,
    );
  });

  it('shows the e-mail events journal (flow F6) and the timeline activities written, as the API and Dynamics say', async () => {
    interface JournalFlow {
      id: string;
      processed: { created: number; unchanged: number; 'skipped-foreign': number } | null;
      backlog: { queued: number; leased: number };
      journal: {
        read: number;
        staged: number;
        skipped: Record<string, number>;
        positionAgeMs: number | null;
        expiries: number;
      } | null;
    }
    const activityTables = ['adobe_emailsend', 'adobe_emailopen', 'adobe_emailclick', 'adobe_emailbounce'];
    const inDynamics = async (): Promise<number> => {
      let total = 0;
      for (const table of activityTables)
        total += ((await target.dataverseAdmin('GET', `/tables/${table}/count`)) as { count: number }).count;
      return total;
    };
    const journalFlow = async (): Promise<JournalFlow> =>
      (await target.api<{ flows: JournalFlow[] }>('GET', '/api/status')).flows.find(
        (f) => f.id === 'emailEvents',
      )!;
    // The demo's delivery went to part of the sample audience before the sync started.
    await waitUntil(
      'the e-mail events written',
      async () => {
        const flow = await journalFlow();
        return (
          (flow.journal?.staged ?? 0) > 0 &&
          flow.backlog.queued + flow.backlog.leased === 0 &&
          (flow.processed?.created ?? 0) === (await inDynamics())
        );
      },
      30_000,
    );
    const flow = await journalFlow();
    const written = flow.processed!.created;
    expect(written).toBeGreaterThan(0);
    expect(await inDynamics()).toBe(written);
    // The overview counts the timeline activities written.
    await showView('overview');
    await expect.poll(() => field('activities-written'), { timeout: 10_000 }).toBe(written);
    expect(await page.locator('[data-journal-card]').isVisible()).toBe(true);
    // The journal panel: what was read, staged, written and skipped by reason, the position's age.
    await showView('flows');
    expect(((await page.locator('#journal-panel').getAttribute('class')) ?? '').split(' ')).not.toContain(
      'unavailable',
    );
    await expect.poll(() => field('journal-read'), { timeout: 10_000 }).toBe(flow.journal!.read);
    expect(await field('journal-staged')).toBe(flow.journal!.staged);
    expect(await field('journal-written')).toBe(written);
    expect(await field('journal-expiries')).toBe(0);
    expect(await page.locator('[data-field="journal-position-age"]').textContent()).toMatch(
      /^[\d.]+ (ms|s|min|h)$/,
    );
    // Send is off by default: the sends are skipped at the journal; the foreign profiles' events when applied.
    const skippedRow = (reason: string) =>
      page.locator(`#journal-skipped tr[data-reason="${reason}"] [data-field="count"]`);
    expect(number(await skippedRow('type-send-disabled').textContent())).toBe(
      flow.journal!.skipped['type-send-disabled'],
    );
    expect(number(await skippedRow('foreign profile (not synced)').textContent())).toBe(
      flow.processed!['skipped-foreign'],
    );
    expect(flow.processed!['skipped-foreign']).toBeGreaterThan(0);
  });

  it('retries a dead letter by clicking its button', async () => {
    await showView('dead-letters');
    const before = await target.api<DeadLetterPage>('GET', '/api/dead-letters');
    const letter = before.items[0]!;
    const row = page.locator(`#dead-letters tbody tr[data-id="${letter.id}"]`);
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    expect(await row.locator('[data-field="record-key"]').textContent()).toBe(letter.recordKey);
    const clickedAt = Date.now();
    await page.getByRole('button', { name: `Retry dead letter ${letter.id}` }).click();
    await expect
      .poll(() => page.locator('#notice').textContent(), { timeout: 10_000 })
      .toBe('Retried 1 dead letter.');
    // The letter went back to the queue and was tried again: Campaign still refuses the name, so
    // the record comes back as a new dead letter, failed after the click.
    await expect
      .poll(
        async () => {
          const after = await target.api<DeadLetterPage>(
            'GET',
            `/api/dead-letters?recordKey=${letter.recordKey}`,
          );
          return after.items.map((l) => ({
            fresh: l.id !== letter.id && l.lastFailedAt >= clickedAt,
            code: l.code,
          }));
        },
        { timeout: 30_000, interval: 250 },
      )
      .toEqual([{ fresh: true, code: 'MAPPING_INVALID' }]);
    const audit = await target.api<{ items: { action: string; actor: string; detail: string }[] }>(
      'GET',
      '/api/audit?action=dlq.retry',
    );
    expect(audit.items).toEqual([
      expect.objectContaining({ actor: 'dashboard', detail: 'retried 1 of 1 dead letters' }),
    ]);
    // The table follows: the new letter shows, the old one is gone.
    await expect
      .poll(() => page.locator(`#dead-letters tbody tr[data-id="${letter.id}"]`).count(), { timeout: 10_000 })
      .toBe(0);
    await expect
      .poll(() => page.locator('#dead-letters tbody tr[data-id]').count(), { timeout: 10_000 })
      .toBe(1);
  });

  it('shows every view by its address without console errors and without a table cut off, at 1280 and 1920 px', async () => {
    mkdirSync(join('test-results', 'screenshots'), { recursive: true });
    for (const width of [1280, 1920]) {
      await page.setViewportSize({ width, height: 1000 });
      for (const name of viewNames) {
        consoleErrors.length = 0;
        await showView(name);
        // Reloading keeps the view: the address names it.
        await page.reload();
        await page.locator(`[data-view="${name}"]`).waitFor({ state: 'visible' });
        expect(await page.locator(`nav.views a[aria-current="page"]`).getAttribute('data-nav')).toBe(name);
        expect(await page.locator('[data-view]:not([hidden])').count()).toBe(1);
        await expect
          .poll(() => page.locator('[data-field="refreshed-at"]').textContent(), { timeout: 10_000 })
          .not.toBe('—');
        // Let the view's own lists arrive (one refresh) before judging the layout.
        await page.waitForLoadState('networkidle');
        // The page never scrolls sideways; a wide table scrolls inside its panel.
        // (Expressions as strings: the test project has no DOM types.)
        const overflow = Number(
          await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
        );
        expect(overflow, `${name} at ${width}px scrolls sideways`).toBeLessThanOrEqual(0);
        // No table of the view is cut off: none needs its panel's horizontal scroll.
        const cut = await page.evaluate(`[...document.querySelectorAll('[data-view]:not([hidden]) .scroll')]
          .filter((w) => w.scrollWidth > w.clientWidth + 1)
          .map((w) => w.querySelector('table')?.id ?? '?')`);
        expect(cut, `${name} at ${width}px`).toEqual([]);
        await page.screenshot({
          path: join('test-results', 'screenshots', `${name}-${width}.png`),
          fullPage: true,
        });
        expect(consoleErrors, `${name} at ${width}px`).toEqual([]);
      }
      // The Flows table fits whole: its Actions column is not cut off.
      await showView('flows');
      await page.locator('#flows tbody td.actions').first().waitFor();
      const fit = await page.evaluate(`(() => {
        const wrapper = document.querySelector('#flows').parentElement;
        const actions = document.querySelector('#flows tbody tr td.actions').getBoundingClientRect();
        const box = wrapper.getBoundingClientRect();
        return { scrolls: wrapper.scrollWidth > wrapper.clientWidth, inside: actions.right <= box.right + 0.5 };
      })()`);
      expect(fit, `flows table at ${width}px`).toEqual({ scrolls: false, inside: true });
    }
    await page.setViewportSize({ width: 1400, height: 1800 });
  });

  it('lists retrying changes with their record key, last error and next attempt', async () => {
    // Campaign refuses profile writes with 503: a changed contact waits for its retry.
    await target.campaignAdmin('PUT', '/faults', {
      errorRate: 1,
      errorStatus: 503,
      pathPattern: 'profileAndServices',
    });
    try {
      const created = (await target.dataverseAdmin('POST', '/tables/contact/rows', {
        values: { firstname: 'Rita', lastname: 'Retrying', emailaddress1: 'rita.retrying@example.com' },
      })) as { contactid: string };
      const contactId = String(created.contactid);
      await waitUntil(
        'a retrying change',
        async () => (await target.api<{ total: number }>('GET', '/api/retrying')).total > 0,
        30_000,
      );
      await showView('dead-letters');
      const row = page.locator(`#retrying-items tbody tr[data-key="${contactId}"]`);
      await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
      expect(await row.locator('[data-field="record-key"]').textContent()).toBe(contactId);
      expect(await row.locator('[data-field="code"]').textContent()).toBe('CAMPAIGN_HTTP_503');
      expect(await row.locator('[data-field="next-attempt"]').textContent()).toMatch(
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$|^trying now$/,
      );
      // The key links to its trace in the Records view.
      expect(await row.locator('a').getAttribute('href')).toBe(`#/records?key=${contactId}`);
    } finally {
      await target.campaignAdmin('DELETE', '/faults');
    }
  });

  it('asks before a replay: cancel does nothing, confirm replays', async () => {
    await showView('flows');
    const replays = async (): Promise<number> =>
      (await target.api<{ items: unknown[] }>('GET', '/api/audit?action=flow.replay')).items.length;
    expect(await replays()).toBe(0);
    const dialog = page.locator('dialog#confirm');
    await page.getByRole('button', { name: 'Replay flow contacts' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await dialog.locator('#confirm-title').textContent()).toBe('Replay flow contacts?');
    // It names what happens and to how many records.
    expect(await dialog.locator('#confirm-body').textContent()).toContain(`about ${contacts} records`);
    expect(await dialog.locator('#confirm-ok').textContent()).toBe(`Replay ${contacts} records`);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await expect.poll(() => page.locator('#notice').textContent()).toBe('Replay of contacts cancelled.');
    expect(await replays()).toBe(0);

    // Campaign answers slowly, so the replay's writing can be watched.
    await target.campaignAdmin('PUT', '/faults', { latencyMs: 600, pathPattern: 'profileAndServices' });
    try {
      await page.getByRole('button', { name: 'Replay flow contacts' }).click();
      await dialog.getByRole('button', { name: `Replay ${contacts} records` }).click();
      await expect
        .poll(() => page.locator('#notice').textContent(), { timeout: 10_000 })
        .toBe('Flow contacts: replay requested.');
      const audit = await target.api<{ items: { actor: string; flow: string | null }[] }>(
        'GET',
        '/api/audit?action=flow.replay',
      );
      expect(audit.items).toEqual([expect.objectContaining({ actor: 'dashboard', flow: 'contacts' })]);

      // The overview's "Runs now" shows the replay's progress from what was written, rising to the end.
      await showView('overview');
      const seen: { percent: number; text: string }[] = [];
      await waitUntil(
        'the replay run to end',
        async () => {
          const bar = page.locator('#current-runs tr[data-flow="contacts"] .progress');
          if ((await bar.count()) > 0) {
            const percent = await bar.getAttribute('data-percent');
            const text = (await bar.locator('[data-field="run-progress"]').textContent()) ?? '';
            if (percent !== null && percent !== '') seen.push({ percent: Number(percent), text });
          }
          const status = await target.api<{ flows: { id: string; run: unknown }[] }>('GET', '/api/status');
          if (status.flows.find((f) => f.id === 'contacts')!.run !== null) {
            await page.waitForTimeout(250);
            return false;
          }
          return true;
        },
        90_000,
      );
      const midway = seen.filter((s) => s.percent > 0 && s.percent < 100);
      expect(midway.length, `progress seen: ${JSON.stringify(seen)}`).toBeGreaterThan(0);
      expect(midway.some((s) => /ETA /.test(s.text))).toBe(true);
      const percents = seen.map((s) => s.percent);
      expect(percents).toEqual([...percents].sort((a, b) => a - b));
    } finally {
      await target.campaignAdmin('DELETE', '/faults');
    }

    // It lands in the history: ended, 100 %, every record written once, as the API says.
    const runs = await target.api<{ items: RunSummary[] }>('GET', '/api/runs?flow=contacts');
    const replay = runs.items.find((r) => r.kind === 'replay')!;
    expect(replay).toMatchObject({ outcome: 'succeeded', trigger: 'operator' });
    // Every contact in Dynamics now: the demo's, and those earlier tests added.
    const inDynamics = replay.counts.read;
    expect(inDynamics).toBeGreaterThanOrEqual(contacts);
    expect(replay.progress, JSON.stringify(replay)).toMatchObject({
      percent: 100,
      done: inDynamics,
      total: inDynamics,
    });
    // Each row read is settled once: written, or a dead letter (the invalid record of an earlier
    // test), or merged into the live item of a record still retrying from an earlier test.
    expect(settledOf(replay), JSON.stringify(replay.counts)).toBe(inDynamics);
    const initial = runs.items.find((r) => r.kind === 'initial')!;
    expect(initial).toMatchObject({ outcome: 'succeeded' });
    // The demo's contacts, each settled once (most created; some already in Campaign are adopted).
    expect(initial.counts.read).toBe(contacts);
    expect(settledOf(initial), JSON.stringify(initial.counts)).toBe(contacts);
    expect(initial.progress).toMatchObject({ percent: 100, done: contacts });
    await showView('runs');
    const row = page.locator(`#runs tr[data-run="${replay.id}"]`);
    await expect.poll(() => row.locator('[data-field="run-outcome"]').textContent()).toBe('succeeded');
    expect(await row.locator('.progress').getAttribute('data-percent')).toBe('100');
    await row.getByRole('button', { name: `Details of run ${replay.id}` }).click();
    const detail = page.locator('#run-detail');
    await expect.poll(() => detail.getAttribute('data-run')).toBe(replay.id);
    expect(await detail.textContent()).toContain(formatCount(replay.counts.updated));
    mkdirSync(join('test-results', 'screenshots'), { recursive: true });
    await page.screenshot({
      path: join('test-results', 'screenshots', 'runs-replay-detail.png'),
      fullPage: true,
    });
    await showView('overview');
  });

  it('asks before discarding a dead letter and before a privacy delete: cancel does nothing', async () => {
    await showView('dead-letters');
    const dialog = page.locator('dialog#confirm');
    const letters = await target.api<DeadLetterPage>('GET', '/api/dead-letters');
    const letter = letters.items[0]!;
    const discard = page.getByRole('button', { name: `Discard dead letter ${letter.id}` });
    await expect.poll(() => discard.count(), { timeout: 10_000 }).toBe(1);
    await discard.click();
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await dialog.locator('#confirm-title').textContent()).toBe('Discard 1 dead letter?');
    expect(await dialog.locator('#confirm-body').textContent()).toContain(letter.recordKey);
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await expect.poll(() => page.locator('#notice').textContent()).toBe('Discard cancelled.');
    expect((await target.api<DeadLetterPage>('GET', '/api/dead-letters')).total).toBe(letters.total);

    const { providers } = await target.api<{ providers: { privacy: boolean } }>('GET', '/api/status');
    if (!providers.privacy) return;
    type Requests = { items: unknown[] };
    const before = (await target.api<Requests>('GET', '/api/privacy/requests')).items.length;
    await showView('privacy');
    const contactId = '00000000-0000-4000-8000-000000000017';
    await page.locator('#privacy-contact').fill(contactId);
    await page.getByRole('button', { name: 'Start delete request' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await dialog.locator('#confirm-title').textContent()).toBe(
      `Delete contact ${contactId} everywhere?`,
    );
    expect(await dialog.locator('#confirm-body').textContent()).toContain('1 contact');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => page.locator('#notice').textContent()).toBe('Delete request cancelled.');
    expect((await target.api<Requests>('GET', '/api/privacy/requests')).items.length).toBe(before);
  });

  it('keeps a screenshot of the dashboard as a test artefact', async () => {
    await expect
      .poll(
        async () => {
          const { shown, api } = await shownAndAnswered();
          return JSON.stringify(shown) === JSON.stringify(api);
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe(true);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: join('test-results', 'dashboard.png'), fullPage: true });
  });
});
