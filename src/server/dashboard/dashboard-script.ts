/**
 * The dashboard's browser script, served at `/assets/dashboard.js`. Embedded as a string so `tsc`
 * ships it without a copy step. Plain ES2017, no framework, no external assets; it renders data
 * with `textContent` only, so nothing the API returns is ever parsed as HTML.
 */
export const dashboardScript = String.raw`// dcsync operator dashboard: polls the JSON API and renders with textContent only (no HTML from data).
'use strict';

var refreshMs = 3000;
var pageSize = 50;
var csrfMeta = document.querySelector('meta[name="csrf-token"]');
var csrf = csrfMeta ? csrfMeta.getAttribute('content') : '';

var dl = { filter: { key: '', flow: '', code: '' }, cursor: null, stack: [], next: null, items: [], loadedAt: 0, loadedTotal: null, followUntil: 0 };
var parked = { cursor: null, next: null, page: 1 };
var latestStatus = null;
var latestHistory = [];

function $(selector) { return document.querySelector(selector); }
function $all(selector) { return Array.prototype.slice.call(document.querySelectorAll(selector)); }

function el(tag, attrs) {
  var node = document.createElement(tag);
  if (attrs) {
    Object.keys(attrs).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === 'text') node.textContent = String(value);
      else if (name === 'className') node.className = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    });
  }
  for (var i = 2; i < arguments.length; i++) {
    var child = arguments[i];
    if (child === null || child === undefined) continue;
    node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

function fmt(n) {
  if (n === null || n === undefined) return '—';
  if (typeof n !== 'number') return String(n);
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

function fmtMs(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  if (ms < 3600000) return (ms / 60000).toFixed(1) + ' min';
  return (ms / 3600000).toFixed(1) + ' h';
}

function fmtTime(ms) {
  if (ms === null || ms === undefined) return '—';
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}

function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  var i = 0;
  while (n >= 1024 && i < units.length - 1) { n = n / 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
}

function setField(name, value, raw) {
  $all('[data-field="' + name + '"]').forEach(function (node) {
    node.textContent = value;
    if (raw !== undefined) node.setAttribute('data-value', String(raw));
  });
}

function notify(text, isError) {
  var node = $('#notice');
  node.textContent = text;
  node.className = isError ? 'notice error' : 'notice';
}

function request(method, path, body) {
  var headers = { accept: 'application/json' };
  var init = { method: method, headers: headers, credentials: 'same-origin' };
  if (method !== 'GET') {
    headers['x-csrf-token'] = csrf;
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body || {});
  }
  return fetch(path, init).then(function (response) {
    if (response.status === 401) {
      window.location.assign('/login');
      throw new Error('signed out');
    }
    return response.json().then(function (data) {
      if (!response.ok) {
        var error = new Error((data && data.error && data.error.message) || ('HTTP ' + response.status));
        error.status = response.status;
        error.code = data && data.error && data.error.code;
        throw error;
      }
      return data;
    });
  });
}

function query(params) {
  var parts = [];
  Object.keys(params).forEach(function (name) {
    var value = params[name];
    if (value !== null && value !== undefined && value !== '') parts.push(encodeURIComponent(name) + '=' + encodeURIComponent(value));
  });
  return parts.length ? '?' + parts.join('&') : '';
}

// ---- sparklines ---------------------------------------------------------------------------------

var svgNs = 'http://www.w3.org/2000/svg';

function sparkline(values, label) {
  var width = 120, height = 28;
  var svg = document.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('role', 'img');
  svg.setAttribute('class', 'spark');
  var last = values.length ? values[values.length - 1] : null;
  var max = values.reduce(function (m, v) { return v > m ? v : m; }, 0);
  var title = document.createElementNS(svgNs, 'title');
  title.textContent = label + ': ' + (values.length ? 'latest ' + fmt(last) + ', peak ' + fmt(max) : 'no samples yet');
  svg.appendChild(title);
  if (values.length > 1) {
    var points = values.map(function (v, i) {
      var x = (i / (values.length - 1)) * (width - 2) + 1;
      var y = height - 2 - (max > 0 ? (v / max) * (height - 4) : 0);
      return x.toFixed(1) + ',' + y.toFixed(1);
    });
    var line = document.createElementNS(svgNs, 'polyline');
    line.setAttribute('points', points.join(' '));
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', 'currentColor');
    line.setAttribute('stroke-width', '1.5');
    svg.appendChild(line);
  }
  return svg;
}

function seriesOf(flowId, pick) {
  return latestHistory.map(function (sample) {
    var f = sample.flows[flowId];
    return f ? pick(f) : 0;
  });
}

// ---- status -------------------------------------------------------------------------------------

function renderStatus(status) {
  latestStatus = status;
  var overall = status.overall;
  var text = 'Sync ' + overall.state.replace('-', ' ') + (overall.healthy ? ' · all good' : ' · needs attention: ' + overall.problems.join(', '));
  setField('overall', text);
  $('#overall').className = 'overall ' + (overall.healthy ? 'ok' : 'warn');
  setField('refreshed-at', fmtTime(status.generatedAt));
  setField('throughput', fmt(status.throughput.recordsPerSecond), status.throughput.recordsPerSecond);
  setField('backlog-queued', fmt(status.backlog.queued), status.backlog.queued);
  setField('backlog-leased', fmt(status.backlog.leased), status.backlog.leased);
  setField('synced', fmt(status.synced), status.synced);
  setField('retrying-total', fmt(status.retrying.total), status.retrying.total);
  setField('dead-letters-total', fmt(status.deadLetters.total), status.deadLetters.total);
  setField('parked-total', fmt(status.parked.total), status.parked.total);
  setField('lag', status.lag ? fmtMs(status.lag.p50Ms) + ' / ' + fmtMs(status.lag.p99Ms) : '—');

  var b = status.budget;
  setField('budget-calls-today', fmt(b.callsToday), b.callsToday);
  setField('budget-calls-per-day', b.callsPerDay === null ? 'unlimited' : fmt(b.callsPerDay), b.callsPerDay);
  setField('budget-engine-calls-today', fmt(b.engineCallsToday), b.engineCallsToday);
  setField('budget-engine-calls-per-day', b.engineCallsPerDay === null ? 'unlimited' : fmt(b.engineCallsPerDay), b.engineCallsPerDay);
  setField('budget-rate', fmt(b.currentCallsPerSecond), b.currentCallsPerSecond);
  setField('budget-rate-limit', fmt(b.callsPerSecondLimit), b.callsPerSecondLimit);
  setField('budget-waiting-live', fmt(b.waiting.live), b.waiting.live);
  setField('budget-waiting-bulk', fmt(b.waiting.bulk), b.waiting.bulk);
  setField('budget-rate-cuts', fmt(b.rateCuts), b.rateCuts);
  setField('budget-trouble', b.lastTrouble ? '· last trouble ' + fmtTime(b.lastTrouble.at) + ': ' + b.lastTrouble.reason : '');
  var meter = $('#budget-day');
  meter.value = b.callsPerDay ? Math.min(1, b.callsToday / b.callsPerDay) : 0;
  meter.textContent = b.callsPerDay ? Math.round((100 * b.callsToday) / b.callsPerDay) + ' %' : 'unlimited';

  renderFlows(status.flows);
  renderCodes(status.deadLetters.byCode);
  renderRetrying(status.retrying.byCode);
  renderProviders(status);
}

function actionButton(label, flowId, action) {
  return el('button', { type: 'button', 'data-action': action, 'data-flow': flowId, 'aria-label': label + ' flow ' + flowId, text: label });
}

function renderFlows(flows) {
  var body = $('#flows tbody');
  body.replaceChildren();
  flows.forEach(function (flow) {
    var state = flow.state === 'paused' ? 'paused' + (flow.reason ? ' — ' + flow.reason : '') : 'running';
    var actions = el('td', { className: 'actions' },
      flow.state === 'paused' ? actionButton('Resume', flow.id, 'resume') : actionButton('Pause', flow.id, 'pause'),
      actionButton('Replay', flow.id, 'replay'));
    var row = el('tr', { 'data-flow': flow.id },
      el('th', { scope: 'row', text: flow.id }),
      el('td', { text: flow.table }),
      el('td', { 'data-field': 'flow-state', className: 'state ' + flow.state, text: state }),
      el('td', { 'data-field': 'flow-phase', text: flow.phase + (flow.replay ? ' + replay ' + fmt(flow.replay.rows) : '') }),
      el('td', { 'data-field': 'flow-queued', 'data-value': flow.backlog.queued, className: 'num', text: fmt(flow.backlog.queued) }),
      el('td', { 'data-field': 'flow-leased', 'data-value': flow.backlog.leased, className: 'num', text: fmt(flow.backlog.leased) }),
      el('td', { 'data-field': 'flow-lag', className: 'num', text: fmtMs(flow.lagMs) }),
      el('td', { 'data-field': 'flow-retrying', 'data-value': flow.retrying, className: 'num', text: fmt(flow.retrying) }),
      el('td', { 'data-field': 'flow-dead-letters', 'data-value': flow.deadLetters, className: 'num', text: fmt(flow.deadLetters) }),
      el('td', { 'data-field': 'flow-parked', 'data-value': flow.parked, className: 'num', text: fmt(flow.parked) }),
      el('td', { 'data-field': 'flow-synced', 'data-value': flow.synced, className: 'num', text: fmt(flow.synced) }),
      el('td', null, sparkline(seriesOf(flow.id, function (f) { return f.queued + f.leased; }), 'Backlog of ' + flow.id)),
      el('td', null, sparkline(seriesOf(flow.id, function (f) { return f.lagMs || 0; }), 'Lag of ' + flow.id)),
      actions);
    body.appendChild(row);
  });
  var flowSelect = $('#dl-flow');
  var known = $all('#dl-flow option').map(function (o) { return o.value; });
  flows.forEach(function (flow) {
    if (known.indexOf(flow.id) < 0) flowSelect.appendChild(el('option', { value: flow.id, text: flow.id }));
  });
}

function renderCodes(byCode) {
  var body = $('#codes tbody');
  body.replaceChildren();
  if (byCode.length === 0) body.appendChild(el('tr', null, el('td', { colspan: 3, className: 'empty', text: 'No dead letters.' })));
  byCode.forEach(function (row) {
    body.appendChild(el('tr', { 'data-flow': row.flow, 'data-code': row.code },
      el('td', { text: row.flow }), el('td', null, el('code', { text: row.code })),
      el('td', { className: 'num', 'data-field': 'count', 'data-value': row.count, text: fmt(row.count) })));
  });
  var codeSelect = $('#dl-code');
  var known = $all('#dl-code option').map(function (o) { return o.value; });
  byCode.forEach(function (row) {
    if (known.indexOf(row.code) < 0) { codeSelect.appendChild(el('option', { value: row.code, text: row.code })); known.push(row.code); }
  });
}

function renderRetrying(byCode) {
  var body = $('#retrying tbody');
  body.replaceChildren();
  if (byCode.length === 0) body.appendChild(el('tr', null, el('td', { colspan: 4, className: 'empty', text: 'Nothing is waiting for a retry.' })));
  byCode.forEach(function (row) {
    body.appendChild(el('tr', { 'data-flow': row.flow, 'data-code': row.code },
      el('td', { text: row.flow }), el('td', null, el('code', { text: row.code })),
      el('td', { className: 'num', 'data-field': 'count', 'data-value': row.count, text: fmt(row.count) }),
      el('td', { 'data-field': 'oldest', text: row.oldestFailedAt === null ? '—' : fmtTime(row.oldestFailedAt) })));
  });
}

function renderProviders(status) {
  $('#optout-panel').classList.toggle('unavailable', !status.providers.optOut);
  $('#privacy-panel').classList.toggle('unavailable', !status.providers.privacy);
  $all('#optout-panel .available, #privacy-panel .available').forEach(function (node) {
    node.setAttribute('aria-hidden', node.closest('.unavailable') ? 'true' : 'false');
  });
  var optOut = status.optOut;
  if (optOut) {
    var f = optOut.freshness;
    setField('optout-last-file', f ? fmtTime(f.lastFileAt) : 'unknown');
    setField('optout-stale', f && f.stale ? '(stale: nothing new within ' + f.stalenessHours + ' h)' : '');
    var u = optOut.sftpUsage;
    var meter = $('#sftp-usage');
    if (u && u.quotaBytes) {
      meter.value = Math.min(1, u.usedBytes / u.quotaBytes);
      setField('sftp-usage', fmtBytes(u.usedBytes) + ' of ' + fmtBytes(u.quotaBytes) + ' (' + Math.round((100 * u.usedBytes) / u.quotaBytes) + ' %)', u.usedBytes);
    } else {
      meter.value = 0;
      setField('sftp-usage', u ? fmtBytes(u.usedBytes) + ' (no quota configured)' : 'unknown');
    }
  }
}

// ---- dead letters -------------------------------------------------------------------------------

function selectedIds() {
  return $all('#dead-letters tbody input[type=checkbox]:checked').map(function (box) { return box.value; });
}

function updateBulkButtons() {
  var none = selectedIds().length === 0;
  $('#dl-retry-selected').disabled = none;
  $('#dl-discard-selected').disabled = none;
}

function loadDeadLetters() {
  var key = dl.filter.key.trim().toLowerCase();
  var params = { limit: pageSize, cursor: dl.cursor, flow: dl.filter.flow, code: dl.filter.code, recordKey: key ? key + '*' : '' };
  var total = latestStatus ? latestStatus.deadLetters.total : null;
  return request('GET', '/api/dead-letters' + query(params)).then(function (page) {
    dl.loadedAt = Date.now();
    dl.loadedTotal = total;
    dl.items = page.items;
    dl.next = page.nextCursor;
    var body = $('#dead-letters tbody');
    body.replaceChildren();
    if (page.items.length === 0) body.appendChild(el('tr', null, el('td', { colspan: 9, className: 'empty', text: 'No dead letters match.' })));
    page.items.forEach(function (item) {
      body.appendChild(el('tr', { 'data-id': item.id },
        el('td', null, el('input', { type: 'checkbox', value: item.id, 'aria-label': 'Select dead letter ' + item.id })),
        el('td', { className: 'num', text: item.id }),
        el('td', { text: item.flow }),
        el('td', null, el('code', { 'data-field': 'record-key', text: item.recordKey })),
        el('td', null, el('code', { text: item.code })),
        el('td', { className: 'reason', text: item.message }),
        el('td', { className: 'num', text: fmt(item.attempts) }),
        el('td', { text: fmtTime(item.lastFailedAt) }),
        el('td', { className: 'actions' },
          el('button', { type: 'button', 'data-action': 'dl-retry', 'data-id': item.id, 'aria-label': 'Retry dead letter ' + item.id, text: 'Retry' }),
          el('button', { type: 'button', className: 'danger', 'data-action': 'dl-discard', 'data-id': item.id, 'aria-label': 'Discard dead letter ' + item.id, text: 'Discard' }))));
    });
    var pageNo = dl.stack.length + 1;
    setField('dl-page', 'Page ' + pageNo);
    setField('dl-summary', fmt(page.total) + (page.total === 1 ? ' match' : ' matches'), page.total);
    $('#dl-prev').disabled = dl.stack.length === 0;
    $('#dl-first').disabled = dl.stack.length === 0;
    $('#dl-next').disabled = !dl.next;
    $('#dl-all').checked = false;
    updateBulkButtons();
  });
}

function actOnDeadLetters(action, ids) {
  if (ids.length === 0) return Promise.resolve();
  return request('POST', '/api/dead-letters/' + action, { ids: ids }).then(function (result) {
    var n = action === 'retry' ? result.retried : result.discarded;
    notify((action === 'retry' ? 'Retried ' : 'Discarded ') + n + ' dead letter' + (n === 1 ? '' : 's') + '.');
    // A retried letter may fail again within seconds with a new id while the total stays the same:
    // follow the list closely for a while instead of waiting for the total to move.
    dl.followUntil = Date.now() + 20000;
    return Promise.all([loadDeadLetters(), refreshStatus()]);
  }).catch(function (error) { notify(error.message, true); });
}

// ---- parked, opt-outs, privacy, alerts -----------------------------------------------------------

function loadParked() {
  return request('GET', '/api/parked' + query({ limit: pageSize, cursor: parked.cursor })).then(function (page) {
    parked.next = page.nextCursor;
    var body = $('#parked tbody');
    body.replaceChildren();
    if (page.items.length === 0) body.appendChild(el('tr', null, el('td', { colspan: 5, className: 'empty', text: 'Nothing parked.' })));
    page.items.forEach(function (item) {
      body.appendChild(el('tr', null,
        el('td', { text: item.flow }),
        el('td', null, el('code', { text: item.recordKey })),
        el('td', null, el('code', { text: item.parent.flow + ' / ' + item.parent.recordKey })),
        el('td', { className: 'reason', text: item.reason }),
        el('td', { text: fmtTime(item.parkedAt) })));
    });
    setField('parked-page', 'Page ' + parked.page + ' · ' + fmt(page.total) + ' parked', page.total);
    $('#parked-next').disabled = !parked.next;
    $('#parked-first').disabled = parked.page === 1;
  });
}

function yesNo(value) { return value === null || value === undefined ? '—' : value ? 'opted out' : 'allowed'; }

function loadOptOut() {
  if (!latestStatus || !latestStatus.providers.optOut) return Promise.resolve();
  return Promise.all([
    request('GET', '/api/opt-out/decisions?limit=20'),
    request('GET', '/api/sftp/files?limit=20'),
  ]).then(function (answers) {
    var decisions = $('#optout-decisions tbody');
    decisions.replaceChildren();
    if (answers[0].items.length === 0) decisions.appendChild(el('tr', null, el('td', { colspan: 8, className: 'empty', text: 'No decisions yet.' })));
    answers[0].items.forEach(function (d) {
      decisions.appendChild(el('tr', null,
        el('td', { text: fmtTime(d.at) }), el('td', null, el('code', { text: d.recordKey })),
        el('td', { text: d.dynamicsColumn + ' ↔ ' + d.campaignAttribute }),
        el('td', { text: yesNo(d.dynamicsValue) }), el('td', { text: yesNo(d.campaignValue) }),
        el('td', { text: yesNo(d.winner) + ' (' + d.winningSide + ')' }), el('td', { text: d.rule }), el('td', { text: d.source })));
    });
    var files = $('#sftp-files tbody');
    files.replaceChildren();
    if (answers[1].items.length === 0) files.appendChild(el('tr', null, el('td', { colspan: 6, className: 'empty', text: 'No export files seen yet.' })));
    answers[1].items.forEach(function (f) {
      files.appendChild(el('tr', null,
        el('td', null, el('code', { text: f.name })), el('td', { className: 'num', text: fmtBytes(f.sizeBytes) }),
        el('td', { text: f.errorCode ? f.state + ' (' + f.errorCode + ')' : f.state, className: f.errorCode || f.quarantineOpen ? 'severity warning' : '' }),
        el('td', { className: 'num', text: fmt(f.rows) }),
        el('td', { className: 'num', text: fmt(f.quarantined) + (f.quarantineOpen ? ' (' + fmt(f.quarantineOpen) + ' open)' : '') }),
        el('td', { text: fmtTime(f.processedAt) })));
    });
  });
}

function loadPrivacy() {
  if (!latestStatus || !latestStatus.providers.privacy) return Promise.resolve();
  return request('GET', '/api/privacy/requests?limit=20').then(function (page) {
    var body = $('#privacy-requests tbody');
    var open = $all('#privacy-requests details[open]').map(function (d) { return d.getAttribute('data-id'); });
    body.replaceChildren();
    if (page.items.length === 0) body.appendChild(el('tr', null, el('td', { colspan: 7, className: 'empty', text: 'No privacy requests.' })));
    page.items.forEach(function (r) {
      var details = el('details', { 'data-id': r.id }, el('summary', { text: 'Show steps' }), el('ol', { className: 'steps' }));
      details.addEventListener('toggle', function () { if (details.open) loadSteps(r.id, details); });
      body.appendChild(el('tr', { 'data-id': r.id },
        el('td', null, el('code', { text: r.id })), el('td', null, el('code', { text: r.contactId })),
        el('td', { text: r.regulation }),
        el('td', { className: 'state ' + r.state, text: r.state + (r.error ? ' — ' + r.error.code : '') }),
        el('td', { text: r.step }), el('td', { text: fmtTime(r.updatedAt) }), el('td', null, details)));
      if (open.indexOf(r.id) >= 0) details.open = true;
    });
  });
}

function loadSteps(id, details) {
  return request('GET', '/api/privacy/requests/' + encodeURIComponent(id)).then(function (request) {
    var list = details.querySelector('ol');
    list.replaceChildren();
    request.steps.forEach(function (s) {
      list.appendChild(el('li', { text: fmtTime(s.at) + ' ' + s.step + ': ' + s.outcome + (s.detail ? ' (' + s.detail + ')' : '') }));
    });
  }).catch(function (error) { notify(error.message, true); });
}

function loadAlerts() {
  return request('GET', '/api/alerts').then(function (answer) {
    var body = $('#alerts tbody');
    body.replaceChildren();
    if (answer.items.length === 0) body.appendChild(el('tr', null, el('td', { colspan: 6, className: 'empty', text: 'No alerts since start.' })));
    answer.items.slice(0, 20).forEach(function (a) {
      body.appendChild(el('tr', null, el('td', { text: fmtTime(a.at) }), el('td', { className: 'severity ' + a.severity, text: a.severity }),
        el('td', { text: a.kind }), el('td', { text: a.subject }), el('td', { className: 'reason', text: a.message }), el('td', { text: a.delivery })));
    });
  });
}

// ---- refresh loop -------------------------------------------------------------------------------

function refreshStatus() {
  return Promise.all([request('GET', '/api/status'), request('GET', '/api/history')]).then(function (answers) {
    latestHistory = answers[1].items;
    renderStatus(answers[0]);
  });
}

var refreshing = false;
function refreshAll() {
  if (refreshing) return Promise.resolve();
  refreshing = true;
  var tasks = [refreshStatus().then(function () {
    // The list is re-read when the count moved (or every 30 s), not on every tick: a search over
    // 100,000 dead letters is not free. A selection in progress is not wiped.
    var stale = dl.loadedTotal !== latestStatus.deadLetters.total || Date.now() - dl.loadedAt > 30000 || Date.now() < dl.followUntil;
    var more = [loadOptOut(), loadPrivacy()];
    if (stale && selectedIds().length === 0) more.push(loadDeadLetters());
    return Promise.all(more);
  }), loadParked(), loadAlerts()];
  return Promise.all(tasks).catch(function (error) {
    if (error.message !== 'signed out') notify('Refresh failed: ' + error.message, true);
  }).then(function () { refreshing = false; });
}

function onFlowAction(button) {
  var flow = button.getAttribute('data-flow');
  var action = button.getAttribute('data-action');
  var body = action === 'resume' && latestStatus && latestStatus.flows.some(function (f) { return f.id === flow && f.breakerTripped; })
    ? { acceptMassChange: window.confirm('The mass-change breaker paused this flow. Accept the mass change and resume?') }
    : {};
  return request('POST', '/api/flows/' + encodeURIComponent(flow) + '/' + action, body).then(function () {
    notify('Flow ' + flow + ': ' + action + ' done.');
    return refreshStatus();
  }).catch(function (error) { notify(error.message, true); });
}

function wire() {
  $('#logout').addEventListener('click', function () {
    request('POST', '/logout', {}).then(function () { window.location.assign('/login'); }, function () { window.location.assign('/login'); });
  });
  $('#flows').addEventListener('click', function (event) {
    var button = event.target.closest('button[data-action]');
    if (button) onFlowAction(button);
  });
  $('#dead-letters').addEventListener('click', function (event) {
    var button = event.target.closest('button[data-action]');
    if (!button) return;
    var id = button.getAttribute('data-id');
    actOnDeadLetters(button.getAttribute('data-action') === 'dl-retry' ? 'retry' : 'discard', [id]);
  });
  $('#dead-letters').addEventListener('change', function (event) {
    if (event.target.id === 'dl-all') {
      $all('#dead-letters tbody input[type=checkbox]').forEach(function (box) { box.checked = event.target.checked; });
    }
    updateBulkButtons();
  });
  $('#dl-retry-selected').addEventListener('click', function () { actOnDeadLetters('retry', selectedIds()); });
  $('#dl-discard-selected').addEventListener('click', function () { actOnDeadLetters('discard', selectedIds()); });
  $('#dl-search').addEventListener('submit', function (event) {
    event.preventDefault();
    dl.filter = { key: $('#dl-key').value, flow: $('#dl-flow').value, code: $('#dl-code').value };
    dl.cursor = null;
    dl.stack = [];
    loadDeadLetters().catch(function (error) { notify(error.message, true); });
  });
  $('#dl-next').addEventListener('click', function () {
    if (!dl.next) return;
    dl.stack.push(dl.cursor);
    dl.cursor = dl.next;
    loadDeadLetters().catch(function (error) { notify(error.message, true); });
  });
  $('#dl-prev').addEventListener('click', function () {
    if (dl.stack.length === 0) return;
    dl.cursor = dl.stack.pop();
    loadDeadLetters().catch(function (error) { notify(error.message, true); });
  });
  $('#dl-first').addEventListener('click', function () {
    dl.cursor = null;
    dl.stack = [];
    loadDeadLetters().catch(function (error) { notify(error.message, true); });
  });
  $('#parked-next').addEventListener('click', function () {
    if (!parked.next) return;
    parked.cursor = parked.next;
    parked.page++;
    loadParked().catch(function (error) { notify(error.message, true); });
  });
  $('#parked-first').addEventListener('click', function () {
    parked.cursor = null;
    parked.page = 1;
    loadParked().catch(function (error) { notify(error.message, true); });
  });
  $('#privacy-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var body = { contactId: $('#privacy-contact').value.trim() };
    var regulation = $('#privacy-regulation').value;
    if (regulation) body.regulation = regulation;
    request('POST', '/api/privacy/requests', body).then(function (created) {
      notify('Privacy request ' + created.id + ' started.');
      $('#privacy-contact').value = '';
      return loadPrivacy();
    }).catch(function (error) { notify(error.message, true); });
  });
}

wire();
refreshAll();
setInterval(refreshAll, refreshMs);
`;
