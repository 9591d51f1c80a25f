import { escapeHtml } from './html-escape.js';

/** The navigation: each view at its hash route (the client's `views/view.ts` lists the same names). */
const views: readonly (readonly [name: string, title: string])[] = [
  ['overview', 'Overview'],
  ['flows', 'Flows'],
  ['runs', 'Runs'],
  ['records', 'Records'],
  ['dead-letters', 'Dead letters'],
  ['parked', 'Parked / orphans'],
  ['opt-outs', 'Opt-outs'],
  ['privacy', 'Privacy'],
  ['alerts', 'Alerts'],
];

const navLinks = views
  .map(([name, title]) => `    <li><a href="#/${name}" data-nav="${name}">${title}</a></li>`)
  .join('\n');

/**
 * The dashboard's HTML shell. Every number is filled in by `/assets/dashboard.js` from the same
 * JSON API an operator's scripts use, so what the page shows is what the API says. Elements the
 * script fills carry `data-field` (and `data-flow` rows), which the browser test reads.
 */
export function renderDashboardPage(options: { csrfToken: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${escapeHtml(options.csrfToken)}">
<title>dcsync — operator dashboard</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<script type="module" src="/assets/dashboard.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <h1>dcsync</h1>
  <p id="overall" class="overall" role="status" aria-live="polite" data-field="overall">Loading…</p>
  <p class="refreshed">Updated <time id="refreshed-at" data-field="refreshed-at">—</time></p>
  <button id="logout" type="button" class="secondary">Sign out</button>
</header>
<nav class="views" aria-label="Views">
  <ul>
${navLinks}
  </ul>
</nav>
<p id="notice" class="notice" role="status" aria-live="polite"></p>
<main id="main">

<div class="view" data-view="overview">
<section aria-labelledby="problems-h" class="panel wide" id="problems-panel">
  <h2 id="problems-h">Problems</h2>
  <ul id="problems" class="problems" data-field="problems"><li class="none">Loading…</li></ul>
</section>

<section aria-labelledby="glance-h" class="panel wide">
  <h2 id="glance-h">At a glance</h2>
  <dl class="cards">
    <div class="card"><dt>Throughput</dt><dd><span data-field="throughput">—</span> <small>records/s</small></dd></div>
    <div class="card"><dt>Queued</dt><dd data-field="backlog-queued">—</dd></div>
    <div class="card"><dt>In flight</dt><dd data-field="backlog-leased">—</dd></div>
    <div class="card"><dt>Synced records</dt><dd data-field="synced">—</dd></div>
    <div class="card"><dt>Retrying</dt><dd data-field="retrying-total">—</dd></div>
    <div class="card"><dt>Dead letters</dt><dd data-field="dead-letters-total">—</dd></div>
    <div class="card"><dt>Parked</dt><dd data-field="parked-total">—</dd></div>
    <div class="card"><dt>Lag p50 / p99 <small>(last min)</small></dt><dd data-field="lag">—</dd></div>
    <div class="card" data-journal-card hidden><dt>Timeline activities <small>written to Dynamics</small></dt><dd data-field="activities-written">—</dd></div>
  </dl>
  <h3>Campaign call budget</h3>
  <div class="budget">
    <label for="budget-day">Calls today</label>
    <meter id="budget-day" min="0" max="1" value="0" data-field="budget-meter"></meter>
    <p><span data-field="budget-calls-today">—</span> of <span data-field="budget-calls-per-day">—</span> calls per day
      · engine calls <span data-field="budget-engine-calls-today">—</span> of <span data-field="budget-engine-calls-per-day">—</span></p>
    <p>Rate <span data-field="budget-rate">—</span> of <span data-field="budget-rate-limit">—</span> calls/s
      · waiting live <span data-field="budget-waiting-live">—</span>, bulk <span data-field="budget-waiting-bulk">—</span>
      · rate cuts <span data-field="budget-rate-cuts">—</span> <span data-field="budget-trouble"></span></p>
  </div>
</section>

<section aria-labelledby="current-runs-h" class="panel wide">
  <h2 id="current-runs-h">Runs now</h2>
  <div class="scroll" id="current-runs-table">
  <table id="current-runs">
    <caption class="visually-hidden">The run of each flow in progress, with its progress and ETA</caption>
    <thead><tr><th scope="col">Flow</th><th scope="col">Kind</th><th scope="col">Phase</th>
      <th scope="col">Started</th><th scope="col">Progress</th></tr></thead>
    <tbody></tbody>
  </table>
  </div>
</section>

<section aria-labelledby="charts-h" class="panel wide">
  <h2 id="charts-h">Last hour</h2>
  <div class="charts">
    <figure class="chart" id="chart-throughput" data-chart="throughput" aria-label="Chart: records applied and Campaign calls per second"></figure>
    <figure class="chart" id="chart-lag" data-chart="lag" aria-label="Chart: lag p50 and p99"></figure>
    <figure class="chart" id="chart-backlog" data-chart="backlog" aria-label="Chart: backlog per flow"></figure>
    <figure class="chart" id="chart-budget" data-chart="budget" aria-label="Chart: Campaign calls per second against the rate in force and its ceiling"></figure>
  </div>
</section>
</div>

<div class="view" data-view="flows" hidden>
<section aria-labelledby="flows-h" class="panel wide">
  <h2 id="flows-h">Flows</h2>
  <div class="scroll">
  <table id="flows">
    <caption class="visually-hidden">State, run, backlog and lag per flow</caption>
    <thead><tr>
      <th scope="col">Flow <small>table</small></th><th scope="col">State</th><th scope="col">Phase</th><th scope="col">Run</th>
      <th scope="col" class="num">Queued</th><th scope="col" class="num">In flight</th><th scope="col" class="num">Lag</th>
      <th scope="col" class="num">Retrying</th><th scope="col" class="num">Dead letters</th><th scope="col" class="num">Parked</th><th scope="col" class="num">Synced</th>
      <th scope="col">Actions</th>
    </tr></thead>
    <tbody></tbody>
  </table>
  </div>
</section>
<section aria-labelledby="workers-h" class="panel wide" id="workers-panel">
  <h2 id="workers-h">Workers</h2>
  <div class="scroll">
  <table id="workers">
    <caption class="visually-hidden">The dcsync run processes on this store: heartbeat, duties held, items leased, budget slice</caption>
    <thead><tr>
      <th scope="col">Worker <small>host, pid</small></th><th scope="col">Version</th><th scope="col">State</th>
      <th scope="col">Started</th><th scope="col">Last heartbeat</th><th scope="col">Duties held</th>
      <th scope="col" class="num">Items leased</th><th scope="col">Budget slice</th>
    </tr></thead>
    <tbody></tbody>
  </table>
  </div>
  <h3 id="duties-h">Duties</h3>
  <table id="duties" aria-labelledby="duties-h">
    <caption class="visually-hidden">Who holds each singleton duty</caption>
    <thead><tr><th scope="col">Duty</th><th scope="col">Holder</th><th scope="col" class="num">Epoch</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<section aria-labelledby="journal-h" class="panel wide" id="journal-panel">
  <h2 id="journal-h">E-mail events journal <small data-field="journal-flow"></small></h2>
  <p class="unavailable-note">No flow reads an e-mail event journal in this deployment (flows.emailEvents).</p>
  <div class="available">
    <dl class="cards">
      <div class="card"><dt>Events read</dt><dd data-field="journal-read">—</dd></div>
      <div class="card"><dt>Staged</dt><dd data-field="journal-staged">—</dd></div>
      <div class="card"><dt>Activities written <small>(this process)</small></dt><dd data-field="journal-written">—</dd></div>
      <div class="card"><dt>Already written <small>(duplicates refused)</small></dt><dd data-field="journal-duplicates">—</dd></div>
      <div class="card"><dt>Lag event → activity p50 / p99 <small>(last min)</small></dt><dd data-field="journal-lag">—</dd></div>
      <div class="card"><dt>Position age</dt><dd data-field="journal-position-age">—</dd></div>
      <div class="card"><dt>Expiries <small>(events lost)</small></dt><dd data-field="journal-expiries">—</dd></div>
    </dl>
    <p>Last read <span data-field="journal-read-at">—</span> · last caught up <span data-field="journal-caught-up-at">—</span>
      <span data-field="journal-replay"></span></p>
    <h3 id="journal-skipped-h">Skipped, by reason</h3>
    <table id="journal-skipped" aria-labelledby="journal-skipped-h">
      <thead><tr><th scope="col">Reason</th><th scope="col">Where</th><th scope="col" class="num">Events</th></tr></thead>
      <tbody></tbody>
    </table>
  </div>
</section>
</div>

<div class="view" data-view="runs" hidden>
<section aria-labelledby="runs-h" class="panel wide" id="runs-panel">
  <h2 id="runs-h">Runs</h2>
  <div class="available">
    <form class="filters" id="runs-filters">
      <label for="runs-flow">Flow</label>
      <select id="runs-flow" name="flow"><option value="">All flows</option></select>
      <label for="runs-kind">Kind</label>
      <select id="runs-kind" name="kind"><option value="">All kinds</option></select>
    </form>
    <div class="scroll">
    <table id="runs">
      <caption class="visually-hidden">Runs, newest first</caption>
      <thead><tr><th scope="col">Started</th><th scope="col">Flow</th><th scope="col">Kind</th><th scope="col">Trigger</th>
        <th scope="col">Outcome</th><th scope="col">Progress</th><th scope="col">Took</th><th scope="col">Detail</th></tr></thead>
      <tbody></tbody>
    </table>
    </div>
    <nav class="pager" aria-label="Run pages">
      <button type="button" id="runs-first">First page</button>
      <button type="button" id="runs-next">Next page</button>
    </nav>
    <section id="run-detail" class="run-detail" aria-live="polite" hidden></section>
  </div>
</section>
</div>

<div class="view" data-view="records" hidden>
<section aria-labelledby="trace-h" class="panel wide" id="trace-panel">
  <h2 id="trace-h">Records</h2>
  <div class="available">
    <form id="trace-form" class="filters" role="search">
      <label for="trace-key">Dynamics id, Campaign PKey or e-mail</label>
      <input id="trace-key" name="key" type="search" autocomplete="off" spellcheck="false" size="40">
      <button type="submit">Search</button>
    </form>
    <div id="trace-results" class="trace-results" aria-live="polite"></div>
  </div>
</section>
</div>

<div class="view" data-view="dead-letters" hidden>
<section aria-labelledby="codes-h" class="panel wide">
  <h2 id="codes-h">Failures by code</h2>
  <div class="side-by-side">
  <div>
  <h3>Dead letters</h3>
  <table id="codes">
    <caption class="visually-hidden">Dead letters per flow and error code</caption>
    <thead><tr><th scope="col">Flow</th><th scope="col">Code</th><th scope="col">Dead letters</th></tr></thead>
    <tbody></tbody>
  </table>
  </div>
  <div>
  <h3 id="retrying-h">Retrying (not dead letters yet)</h3>
  <table id="retrying" aria-labelledby="retrying-h">
    <caption class="visually-hidden">Changes waiting for a retry per flow and last error code</caption>
    <thead><tr><th scope="col">Flow</th><th scope="col">Code</th><th scope="col">Retrying</th><th scope="col">Oldest failing since</th></tr></thead>
    <tbody></tbody>
  </table>
  </div>
  </div>
</section>

<section aria-labelledby="retrying-items-h" class="panel wide" id="retrying-panel">
  <h2 id="retrying-items-h">Retrying changes</h2>
  <form class="filters">
    <label for="retrying-flow">Flow</label>
    <select id="retrying-flow" name="flow"><option value="">All flows</option></select>
    <span data-field="retrying-page" aria-live="polite"></span>
  </form>
  <div class="scroll">
  <table id="retrying-items">
    <caption class="visually-hidden">Each change waiting for a retry, with its last error and next attempt</caption>
    <thead><tr><th scope="col">Flow</th><th scope="col">Record key</th><th scope="col">Code</th><th scope="col">Last error</th>
      <th scope="col" class="num">Attempts</th><th scope="col">Failing since</th><th scope="col">Next attempt</th></tr></thead>
    <tbody></tbody>
  </table>
  </div>
  <nav class="pager" aria-label="Retrying pages">
    <button type="button" id="retrying-first">First page</button>
    <button type="button" id="retrying-next">Next page</button>
  </nav>
</section>

<section aria-labelledby="dl-h" class="panel wide">
  <h2 id="dl-h">Dead letters</h2>
  <form id="dl-search" class="filters" role="search">
    <label for="dl-key">Record key starts with</label>
    <input id="dl-key" name="key" type="search" autocomplete="off" spellcheck="false">
    <label for="dl-flow">Flow</label>
    <select id="dl-flow" name="flow"><option value="">All flows</option></select>
    <label for="dl-code">Code</label>
    <select id="dl-code" name="code"><option value="">All codes</option></select>
    <button type="submit">Search</button>
  </form>
  <div class="bulk">
    <button type="button" id="dl-retry-selected" disabled>Retry selected</button>
    <button type="button" id="dl-discard-selected" class="danger" disabled>Discard selected</button>
    <span data-field="dl-summary" aria-live="polite"></span>
  </div>
  <div class="scroll">
  <table id="dead-letters">
    <caption class="visually-hidden">Dead letters, oldest first</caption>
    <thead><tr>
      <th scope="col"><input type="checkbox" id="dl-all" aria-label="Select all on this page"></th>
      <th scope="col">Id</th><th scope="col">Flow</th><th scope="col">Record key</th><th scope="col">Code</th>
      <th scope="col">Reason</th><th scope="col">Attempts</th><th scope="col">Last failed</th><th scope="col">Actions</th>
    </tr></thead>
    <tbody></tbody>
  </table>
  </div>
  <nav class="pager" aria-label="Dead letter pages">
    <button type="button" id="dl-first">First page</button>
    <button type="button" id="dl-prev">Previous page</button>
    <span data-field="dl-page"></span>
    <button type="button" id="dl-next">Next page</button>
  </nav>
</section>
</div>

<div class="view" data-view="parked" hidden>
<section aria-labelledby="orphans-h" class="panel wide" id="orphans-panel">
  <h2 id="orphans-h">Orphans</h2>
  <p class="hint attention">No parent in Dynamics — needs attention: the lookup is empty or points out of scope, so nothing will release these. Fill the lookup in Dynamics and the record is written.</p>
  <div class="scroll">
  <table id="orphans">
    <caption class="visually-hidden">Children without a parent in Dynamics</caption>
    <thead><tr><th scope="col">Flow</th><th scope="col">Record key</th><th scope="col">Parent named</th>
      <th scope="col">Reason</th><th scope="col">Since</th></tr></thead>
    <tbody></tbody>
  </table>
  </div>
  <nav class="pager" aria-label="Orphan pages">
    <button type="button" id="orphans-first">First page</button>
    <span data-field="orphans-page"></span>
    <button type="button" id="orphans-next">Next page</button>
  </nav>
</section>

<section aria-labelledby="parked-h" class="panel wide" id="parked-panel">
  <h2 id="parked-h">Parked children</h2>
  <p class="hint">Waiting children are released automatically when their parent reaches Campaign.</p>
  <div class="scroll">
  <table id="parked">
    <caption class="visually-hidden">Parked records and the parent each waits for</caption>
    <thead><tr><th scope="col">Flow</th><th scope="col">Record key</th><th scope="col">Waiting for parent</th>
      <th scope="col">Reason</th><th scope="col">Parked since</th></tr></thead>
    <tbody></tbody>
  </table>
  </div>
  <nav class="pager" aria-label="Parked pages">
    <button type="button" id="parked-first">First page</button>
    <span data-field="parked-page"></span>
    <button type="button" id="parked-next">Next page</button>
  </nav>
</section>
</div>

<div class="view" data-view="opt-outs" hidden>
<section aria-labelledby="optout-h" class="panel wide" id="optout-panel">
  <h2 id="optout-h">Opt-outs</h2>
  <p class="unavailable-note">Opt-out tracking is not configured in this deployment.</p>
  <div class="available">
    <p>Last export file: <span data-field="optout-last-file">—</span> <span data-field="optout-stale"></span></p>
    <label for="sftp-usage">SFTP usage</label>
    <meter id="sftp-usage" min="0" max="1" low="0.8" high="0.9" optimum="0" value="0" data-field="sftp-meter"></meter>
    <span data-field="sftp-usage">—</span>
    <h3>Recent decisions</h3>
    <div class="scroll">
    <table id="optout-decisions">
      <caption class="visually-hidden">Recent opt-out decisions</caption>
      <thead><tr><th scope="col">When</th><th scope="col">Contact</th><th scope="col">Attribute</th>
        <th scope="col">Dynamics</th><th scope="col">Campaign</th><th scope="col">Winner</th><th scope="col">Rule</th><th scope="col">Source</th></tr></thead>
      <tbody></tbody>
    </table>
    </div>
    <h3>SFTP export files</h3>
    <div class="scroll">
    <table id="sftp-files">
      <caption class="visually-hidden">Opt-out export files on the Campaign SFTP server</caption>
      <thead><tr><th scope="col">File</th><th scope="col">Size</th><th scope="col">State</th><th scope="col">Rows</th>
        <th scope="col">Quarantined</th><th scope="col">Processed</th></tr></thead>
      <tbody></tbody>
    </table>
    </div>
  </div>
</section>
</div>

<div class="view" data-view="privacy" hidden>
<section aria-labelledby="privacy-h" class="panel wide" id="privacy-panel">
  <h2 id="privacy-h">Privacy requests</h2>
  <p class="unavailable-note">Privacy requests are not configured in this deployment.</p>
  <div class="available">
    <form id="privacy-form" class="filters">
      <label for="privacy-contact">Contact id</label>
      <input id="privacy-contact" name="contactId" required pattern="[0-9a-fA-F-]{36}" autocomplete="off" spellcheck="false">
      <label for="privacy-regulation">Regulation</label>
      <select id="privacy-regulation" name="regulation">
        <option value="">Configured default</option><option value="gdpr">GDPR</option><option value="ccpa">CCPA</option>
      </select>
      <button type="submit" class="danger">Start delete request</button>
    </form>
    <div class="scroll">
    <table id="privacy-requests">
      <caption class="visually-hidden">Privacy requests with their steps</caption>
      <thead><tr><th scope="col">Request</th><th scope="col">Contact</th><th scope="col">Regulation</th><th scope="col">State</th>
        <th scope="col">Step</th><th scope="col">Updated</th><th scope="col">Next poll</th><th scope="col">Steps</th></tr></thead>
      <tbody></tbody>
    </table>
    </div>
  </div>
</section>
</div>

<div class="view" data-view="alerts" hidden>
<section aria-labelledby="alerts-h" class="panel wide">
  <h2 id="alerts-h">Recent alerts</h2>
  <table id="alerts">
    <caption class="visually-hidden">Alerts raised since the service started</caption>
    <thead><tr><th scope="col">When</th><th scope="col">Severity</th><th scope="col">Kind</th><th scope="col">Subject</th>
      <th scope="col">Message</th><th scope="col">Delivery</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
</div>

</main>

<dialog id="confirm" class="confirm" aria-labelledby="confirm-title">
  <form method="dialog">
    <h2 id="confirm-title"></h2>
    <div id="confirm-body"></div>
    <div class="confirm-buttons">
      <button type="button" id="confirm-cancel" class="plain">Cancel</button>
      <button type="button" id="confirm-ok" class="danger"></button>
    </div>
  </form>
</dialog>
</body>
</html>
`;
}
