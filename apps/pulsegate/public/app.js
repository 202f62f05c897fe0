/* global window, document, location, history, fetch, URL, URLSearchParams, setTimeout, clearTimeout */
// Pulsegate dashboard: plain ES module, no build step. Reads the services through the dashboard's
// same-origin proxy (/api/aggregator, /api/alerts, /api/risk) and draws with Chart.js (window.Chart).
// Every text from the APIs goes through textContent: connector and action names come from telemetry.
// Sign-in: the proxy answers 401 without a key; the form posts the user's own key to /session, which
// keeps it in an HttpOnly cookie (never in page storage, never in a URL).

const Chart = window.Chart;
const params = new URLSearchParams(location.search);
const REFRESH_MS = Math.max(1000, Number(params.get('refresh') ?? 5000) || 5000);
/** Point width per window: at most a few hundred points per chart. */
const STEP_FOR = { '5m': '1m', '15m': '1m', '1h': '1m', '6h': '5m', '24h': '15m', '7d': '1h', '30d': '6h' };
const WINDOW_MS = { '5m': 3e5, '15m': 9e5, '1h': 3.6e6, '6h': 2.16e7, '24h': 8.64e7, '7d': 6.048e8, '30d': 2.592e9 };
const STEP_MS = { '1m': 6e4, '5m': 3e5, '15m': 9e5, '1h': 3.6e6, '6h': 2.16e7 };
const COLORS = { read: '#2563eb', write: '#9333ea', success: '#079455', throttle: '#dc6803', bad: '#d92d20', muted: '#98a2b3', target: '#344054' };
/** Targets when the anomaly detector has no SLO for the connector yet: the practice guide's defaults. */
const DEFAULT_TARGETS = { success: 0.99, throttle: 0.01, p95: { read: 750, write: 1500 }, source: 'default' };

const state = {
  window: params.get('window') && STEP_FOR[params.get('window')] ? params.get('window') : '1h',
  connector: params.get('connector'),
  action: params.get('action') || null,
  version: params.get('version') || null,
  charts: {},
  refreshes: 0,
  timer: null,
  /** Bumped by every detail load: an older load that finishes later draws nothing. */
  detailGen: 0,
};

const $ = (id) => document.getElementById(id);

async function api(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error(body?.error?.message ?? `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

const pct = (v, digits = 2) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(digits)} %`);
const ms = (v) => (v === null || v === undefined ? '–' : `${v < 10 ? v.toFixed(2) : Math.round(v)} ms`);
const num = (v) => (v === null || v === undefined ? '–' : Number.isInteger(v) ? String(v) : v.toFixed(2));
const time = (epochMs, withDate = false) => {
  const d = new Date(epochMs);
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return withDate ? `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${hm}` : hm;
};

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function badge(text) {
  const td = document.createElement('td');
  const span = document.createElement('span');
  span.className = `badge ${text}`;
  span.textContent = text;
  td.append(span);
  return td;
}

/** Creates the chart once, then only swaps its data (no animation: cheap and pixel-stable). */
function upsertChart(id, config) {
  const existing = state.charts[id];
  if (existing) {
    existing.data = config.data;
    existing.options = config.options;
    existing.update('none');
    return existing;
  }
  const chart = new Chart($(id), config);
  state.charts[id] = chart;
  return chart;
}

function baseOptions(yTitle, { percent = false, min } = {}) {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: 'index', intersect: false },
    plugins: { legend: { display: true, position: 'bottom', labels: { boxWidth: 12 } } },
    scales: {
      x: { ticks: { maxTicksLimit: 8, autoSkip: true } },
      y: {
        min,
        title: { display: true, text: yTitle },
        ticks: percent ? { callback: (v) => `${(v * 100).toFixed(1)} %` } : {},
      },
    },
  };
}

/** A dashed horizontal line at `value` across every label: an SLO objective or threshold. */
function targetDataset(label, labels, value, color = COLORS.target) {
  return { label, data: labels.map(() => value), borderColor: color, backgroundColor: color, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, fill: false, isTarget: true };
}

function lineDataset(label, points, color) {
  return {
    label,
    data: points.map((p) => p.value),
    borderColor: color,
    backgroundColor: color,
    pointRadius: 2,
    borderWidth: 2,
    spanGaps: false,
  };
}

/**
 * Counts non-null points per chart on the canvas element (and, for time series, where the first
 * point starts and how wide points are), for people inspecting the page and for the browser test.
 */
function markPoints(id, points) {
  const chart = state.charts[id];
  const canvas = $(id);
  const n = chart.data.datasets.filter((d) => !d.isTarget).reduce((acc, d) => acc + d.data.filter((v) => v !== null && v !== undefined).length, 0);
  canvas.dataset.points = String(n);
  if (points && points.length > 0) {
    canvas.dataset.from = String(points[0].from);
    canvas.dataset.stepMs = String(points[0].to - points[0].from);
  }
}

async function loadConnectors() {
  const body = await api(`/api/aggregator/v1/connectors?window=${state.window}`);
  const tbody = $('connectors').querySelector('tbody');
  tbody.replaceChildren();
  const list = [...body.connectors].sort((a, b) => b.calls - a.calls);
  $('connectors-empty').hidden = list.length > 0;
  // An explicit ?connector= is kept even when it has no calls in this window: loadDetail then shows
  // its (empty) figures, or the "unknown connector" state when the tenant never saw it.
  if (!state.connector) state.connector = list[0]?.connector ?? null;
  for (const c of list) {
    const tr = document.createElement('tr');
    tr.dataset.connector = c.connector;
    if (c.connector === state.connector) tr.className = 'selected';
    tr.append(cell(c.connector), cell(num(c.calls)), cell(pct(c.successRate)), cell(pct(c.throttleRate)), cell(ms(c.p95LatencyMs)), cell(pct(c.errorMappingCoverage, 1)), cell(time(c.lastSeen, true)));
    tr.addEventListener('click', () => {
      state.connector = c.connector;
      state.action = null;
      state.version = null;
      setParams({ connector: c.connector, action: null, version: null });
      void refresh();
    });
    tbody.append(tr);
  }
}

/** Sets (or, for null, removes) URL parameters without reloading. */
function setParams(values) {
  const url = new URL(location.href);
  for (const [k, v] of Object.entries(values)) {
    if (v === null || v === undefined || v === '') url.searchParams.delete(k);
    else url.searchParams.set(k, v);
  }
  history.replaceState(null, '', url);
}

/**
 * Chart targets from the connector's SLOs (GET /v1/slos/{connector}), for one action or, for the
 * whole connector, the strictest of its actions: success ≥ availability objective, throttle rate
 * ≤ 1 − throttling objective, P95 per kind ≤ the latency threshold. Defaults when there is no SLO.
 */
function sloTargets(slos, action) {
  const mine = slos.filter((s) => action === null || s.action === action);
  const strictest = (slo) => {
    const objectives = mine.filter((s) => s.slo === slo).map((s) => s.objective);
    return objectives.length === 0 ? null : Math.max(...objectives);
  };
  const threshold = (kind) => {
    const ms = mine.filter((s) => s.slo === 'latency' && s.kind === kind && s.thresholdMs !== null).map((s) => s.thresholdMs);
    return ms.length === 0 ? null : Math.min(...ms);
  };
  const availability = strictest('availability');
  const throttling = strictest('throttling');
  const read = threshold('read');
  const write = threshold('write');
  const fromSlo = availability !== null || throttling !== null || read !== null || write !== null;
  return {
    success: availability ?? DEFAULT_TARGETS.success,
    throttle: throttling === null ? DEFAULT_TARGETS.throttle : 1 - throttling,
    p95: { read: read ?? DEFAULT_TARGETS.p95.read, write: write ?? DEFAULT_TARGETS.p95.write },
    source: fromSlo ? 'slo' : 'default',
  };
}

/** Replaces a <select>'s options after its first ("all …") one; keeps `selected` even if not listed. */
function fillSelect(id, values, selected) {
  const select = $(id);
  const first = select.options[0];
  const list = selected !== null && !values.includes(selected) ? [...values, selected] : values;
  select.replaceChildren(first, ...list.map((v) => {
    const o = document.createElement('option');
    o.value = v;
    o.textContent = v;
    return o;
  }));
  select.value = selected ?? '';
}

/** The connector's SLOs; an empty list when the detector has none for it yet (404). */
async function connectorSlos(c) {
  try {
    return (await api(`/api/alerts/v1/slos/${c}`)).slos;
  } catch (err) {
    if (err.status === 404) return [];
    throw err;
  }
}

function showUnknownConnector(name) {
  $('detail').hidden = true;
  $('slos-section').hidden = true;
  $('unknown-connector').hidden = false;
  $('unknown-name').textContent = name;
  document.body.dataset.connectorState = 'unknown';
}

async function loadDetail() {
  const section = $('detail');
  if (!state.connector) {
    section.hidden = true;
    $('slos-section').hidden = true;
    $('unknown-connector').hidden = true;
    return;
  }
  // What this load draws, fixed now: selections made while it runs start a newer load.
  const gen = ++state.detailGen;
  const scope = { connector: state.connector, action: state.action, version: state.version };
  const c = encodeURIComponent(scope.connector);
  const w = state.window;
  const step = STEP_FOR[w];
  // Drill-down: the same filter on every metric and series request of this refresh.
  const filter = `${scope.action ? `&action=${encodeURIComponent(scope.action)}` : ''}${scope.version ? `&version=${encodeURIComponent(scope.version)}` : ''}`;
  // One explicit range for every series of a refresh, so their points line up even when a minute
  // boundary passes between the requests.
  // Aligned to the step (current step included), so every point covers a whole step.
  const stepMs = STEP_MS[step];
  const to = Math.ceil(Date.now() / stepMs) * stepMs;
  const range = `from=${to - WINDOW_MS[w]}&to=${to}`;
  const series = (metric, extra = '') => api(`/api/aggregator/v1/connectors/${c}/timeseries?metric=${metric}&step=${step}&${range}${extra}${filter}`);
  let answers;
  try {
    answers = await Promise.all([
      api(`/api/aggregator/v1/connectors/${c}/metrics?window=${w}${filter}`),
      api(`/api/aggregator/v1/connectors/${c}/metrics?window=${w}&kind=read${filter}`),
      api(`/api/aggregator/v1/connectors/${c}/metrics?window=${w}&kind=write${filter}`),
      series('successRate'),
      series('throttleRate'),
      series('p95', '&kind=read'),
      series('p95', '&kind=write'),
      api(`/api/aggregator/v1/connectors/${c}/versions?window=${w}`),
      api(`/api/aggregator/v1/connectors/${c}/actions`),
      connectorSlos(c),
    ]);
  } catch (err) {
    if (gen !== state.detailGen) return;
    // 404 from the aggregator: this tenant never sent calls of this connector.
    if (err.status === 404) {
      showUnknownConnector(scope.connector);
      return;
    }
    throw err;
  }
  if (gen !== state.detailGen) return;
  const [all, read, write, success, throttle, p95Read, p95Write, versions, actionList, slos] = answers;
  $('unknown-connector').hidden = true;
  document.body.dataset.connectorState = 'known';
  section.hidden = false;
  $('detail-name').textContent = scope.connector;
  // A drill-down the connector has no series for says so (its figures are all empty).
  const knownAction = scope.action === null || actionList.actions.some((a) => a.action === scope.action);
  const knownVersion = scope.version === null || actionList.actions.some((a) => a.versions.includes(scope.version));
  $('detail-scope').textContent =
    (scope.action ? ` › ${scope.action}${knownAction ? '' : ' (unknown action)'}` : '') + (scope.version ? ` › ${scope.version}${knownVersion ? '' : ' (unknown version)'}` : '');
  section.dataset.scopeState = knownAction && knownVersion ? 'known' : 'unknown';

  // Every action and version the connector has series for (not only this window's): the versions
  // offered are the chosen action's.
  const chosen = actionList.actions.filter((a) => scope.action === null || a.action === scope.action);
  fillSelect('drill-action', actionList.actions.map((a) => a.action), scope.action);
  fillSelect('drill-version', [...new Set(chosen.flatMap((a) => a.versions))].sort(), scope.version);

  $('tile-calls').textContent = num(all.calls);
  $('tile-success').textContent = pct(all.successRate);
  $('tile-p95-read').textContent = ms(read.latencyMs.p95);
  $('tile-p95-write').textContent = ms(write.latencyMs.p95);
  $('tile-throttle').textContent = pct(all.throttleRate);
  $('tile-throttled-hour').textContent = num(all.throttledPerHour);

  const withDate = step === '1h' || step === '6h' || step === '15m';
  const labels = success.points.map((p) => time(p.from, withDate));
  const targets = sloTargets(slos, scope.action);
  $('cap-success').textContent = pct(targets.success, 2);
  $('cap-throttle').textContent = pct(targets.throttle, 2);
  $('cap-p95').textContent = `${targets.p95.read} read / ${targets.p95.write} write`;
  $('targets-note').textContent = targets.source === 'slo' ? 'targets: the SLOs of the anomaly detector' : 'targets: defaults (no SLO data yet)';

  upsertChart('chart-success', {
    type: 'line',
    data: { labels, datasets: [lineDataset('success rate', success.points, COLORS.success), targetDataset(`target ${pct(targets.success, 2)}`, labels, targets.success)] },
    options: baseOptions('ratio', { percent: true }),
  });
  markPoints('chart-success', success.points);

  upsertChart('chart-p95', {
    type: 'line',
    data: {
      labels,
      datasets: [
        lineDataset('P95 read (GET)', p95Read.points, COLORS.read),
        lineDataset('P95 write', p95Write.points, COLORS.write),
        targetDataset(`target read ${targets.p95.read} ms`, labels, targets.p95.read, COLORS.read),
        targetDataset(`target write ${targets.p95.write} ms`, labels, targets.p95.write, COLORS.write),
      ],
    },
    options: baseOptions('ms', { min: 0 }),
  });
  markPoints('chart-p95', p95Read.points);

  upsertChart('chart-throttle', {
    type: 'line',
    data: {
      labels,
      datasets: [
        { ...lineDataset('throttle rate', throttle.points, COLORS.throttle), fill: true, backgroundColor: 'rgba(220,104,3,0.15)' },
        targetDataset(`target ${pct(targets.throttle, 2)}`, labels, targets.throttle),
      ],
    },
    options: baseOptions('ratio', { percent: true, min: 0 }),
  });
  markPoints('chart-throttle', throttle.points);
  for (const id of ['chart-success', 'chart-p95', 'chart-throttle']) $(id).dataset.targetSource = targets.source;

  const codes = Object.entries(all.errorCodes).sort((a, b) => b[1] - a[1]);
  upsertChart('chart-errors', {
    type: 'bar',
    data: {
      labels: codes.map(([code]) => code),
      datasets: [
        {
          label: 'calls',
          data: codes.map(([, n]) => n),
          backgroundColor: codes.map(([code]) => (code === 'RATE_LIMIT' ? COLORS.throttle : code === 'UNMAPPED' ? COLORS.bad : COLORS.read)),
        },
      ],
    },
    options: { ...baseOptions('calls', { min: 0 }), indexAxis: 'x', plugins: { legend: { display: false } } },
  });
  markPoints('chart-errors');

  const vs = versions.versions;
  const hatch = hatchPattern();
  upsertChart('chart-versions', {
    type: 'bar',
    data: {
      labels: vs.map((v) => `${v.version}${v.deprecated ? ' (deprecated)' : ''}${v.version === versions.latest ? ' (latest)' : ''}`),
      datasets: [
        {
          label: 'share of calls',
          data: vs.map((v) => v.share),
          backgroundColor: vs.map((v) => (v.deprecated ? hatch : COLORS.read)),
          borderColor: vs.map((v) => (v.deprecated ? COLORS.bad : COLORS.read)),
          borderWidth: 2,
        },
      ],
    },
    options: { ...baseOptions('share', { percent: true, min: 0 }), plugins: { legend: { display: false } } },
  });
  markPoints('chart-versions');
  $('chart-versions').dataset.deprecated = vs.filter((v) => v.deprecated).map((v) => v.version).join(',');
  $('versions-note').textContent =
    `latest ${versions.latest ?? 'unknown'} (${versions.latestSource ?? 'no source'}); latest-minor share ${pct(versions.latestMinorShare, 1)}; deprecated share ${pct(versions.deprecatedShare, 1)}; all actions`;
  renderSlos(scope.connector, slos);
  // What the figures above are for: set last, so a reader (or a test) knows this refresh is drawn.
  section.dataset.connector = scope.connector;
  section.dataset.action = scope.action ?? '';
  section.dataset.version = scope.version ?? '';
}

/** Seconds as the largest two units: "3d 4h", "5h 12m", "7m". */
function duration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const m = Math.floor(seconds / 60);
  const d = Math.floor(m / 1440);
  const h = Math.floor((m % 1440) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m % 60}m`;
  return `${m}m`;
}

/** The SLO panel: one row per action and SLO, as the anomaly detector computes them. */
function renderSlos(connector, slos) {
  $('slos-section').hidden = false;
  $('slos-name').textContent = connector;
  const tbody = $('slos').querySelector('tbody');
  tbody.replaceChildren();
  $('slos-empty').hidden = slos.length > 0;
  const order = { availability: 0, latency: 1, throttling: 2 };
  const rows = [...slos].sort((a, b) => a.action.localeCompare(b.action) || order[a.slo] - order[b.slo]);
  for (const s of rows) {
    const tr = document.createElement('tr');
    tr.dataset.action = s.action;
    tr.dataset.slo = s.slo;
    tr.dataset.kind = s.kind;
    const objective = `${pct(s.objective, 2)}${s.thresholdMs !== null ? ` ≤ ${s.thresholdMs} ms` : ''}`;
    const burns = Object.entries(s.burnRates).map(([win, r]) => `${win} ${r === null ? '–' : `${r.toFixed(2)}×`}`).join(' · ');
    tr.append(
      cell(s.action),
      cell(s.kind),
      cell(s.slo),
      cell(objective),
      cell(s.window),
      cell(pct(s.attainment, 3)),
      cell(pct(s.budgetRemaining, 1), s.budgetRemaining < 0 ? 'over' : ''),
      cell(burns),
      cell(s.budgetRemaining <= 0 ? 'exhausted' : duration(s.timeToExhaustionSeconds)),
    );
    tbody.append(tr);
  }
}



let hatchCache = null;
/** Red diagonal stripes: deprecated versions stay recognisable without relying on colour alone. */
function hatchPattern() {
  if (hatchCache) return hatchCache;
  const tile = document.createElement('canvas');
  tile.width = 8;
  tile.height = 8;
  const ctx = tile.getContext('2d');
  ctx.fillStyle = 'rgba(217,45,32,0.25)';
  ctx.fillRect(0, 0, 8, 8);
  ctx.strokeStyle = COLORS.bad;
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(0, 8);
  ctx.lineTo(8, 0);
  ctx.stroke();
  hatchCache = ctx.createPattern(tile, 'repeat');
  return hatchCache;
}

/** An alert's value or threshold in its unit: burn rates as multiples, budgets and rates as %, latencies in ms. */
function alertValue(rule, v) {
  if (v === null || v === undefined) return '–';
  if (rule === 'SloBurnRateHigh') return `${v.toFixed(2)}×`;
  if (rule === 'SloBudgetExhausted') return pct(v);
  if (/P95|Latency/i.test(rule)) return ms(v);
  return v <= 1 ? pct(v) : num(v);
}

async function loadAlerts() {
  const [firing, pending] = await Promise.all([api('/api/alerts/v1/alerts?state=firing'), api('/api/alerts/v1/alerts?state=pending')]);
  const alerts = [...firing.alerts, ...pending.alerts];
  const tbody = $('alerts').querySelector('tbody');
  tbody.replaceChildren();
  $('alerts-empty').hidden = alerts.length > 0;
  for (const a of alerts) {
    const tr = document.createElement('tr');
    tr.dataset.fingerprint = a.fingerprint;
    tr.dataset.rule = a.rule;
    tr.dataset.state = a.state;
    const l = a.labels;
    const fmt = (v) => alertValue(a.rule, v);
    tr.append(
      badge(a.state),
      badge(l.severity ?? 'info'),
      cell(a.rule),
      cell(l.connector ?? ''),
      cell(l.action ?? ''),
      cell(l.version ?? ''),
      cell(fmt(a.value)),
      cell(fmt(a.threshold)),
      cell(a.startsAt ?? a.activeAt ? time(Date.parse(a.startsAt ?? a.activeAt), true) : '–'),
      cell(a.annotations.summary ?? ''),
    );
    tbody.append(tr);
  }
}

async function loadAssessments() {
  // The risk scorer has no "list assessments" endpoint: ask for the last assessment of each
  // catalog version (newest five per connector) and keep those that exist.
  const catalog = await api('/api/risk/v1/catalog/connectors');
  const wanted = catalog.connectors.flatMap((c) => c.versions.slice(-5).map((v) => [c.connector, v.version]));
  const found = await Promise.all(
    wanted.map(async ([c, v]) => {
      try {
        return await api(`/api/risk/v1/risk/assessments/${encodeURIComponent(c)}/${encodeURIComponent(v)}`);
      } catch (err) {
        if (err.status === 404) return null;
        throw err;
      }
    }),
  );
  const list = found.filter((a) => a !== null).sort((a, b) => b.assessedAt - a.assessedAt);
  const tbody = $('assessments').querySelector('tbody');
  tbody.replaceChildren();
  $('assessments-empty').hidden = list.length > 0;
  for (const a of list) {
    const tr = document.createElement('tr');
    tr.dataset.connector = a.connector;
    tr.dataset.version = a.version;
    tr.dataset.level = a.level;
    const reasons = a.reasons
      .filter((r) => r.contribution !== null)
      .slice(0, 3)
      .map((r) => `${r.feature} ${r.contribution >= 0 ? '+' : ''}${r.contribution.toFixed(2)}`)
      .join(', ');
    const notes = a.missing.length > 0 ? `missing: ${a.missing.join(', ')}` : '';
    tr.append(
      cell(a.connector),
      cell(a.version),
      cell(a.previousVersion ?? '–'),
      cell(a.probability === null ? '–' : a.probability.toFixed(3)),
      badge(a.level),
      cell(a.decision),
      cell([reasons, notes].filter((s) => s !== '').join('; ')),
      cell(time(a.assessedAt, true)),
    );
    tbody.append(tr);
  }
}

/** Signed out (or the key stopped working): hide and forget every figure, show the sign-in form. */
function showSignIn(message) {
  clearTimeout(state.timer);
  $('content').hidden = true;
  $('signout').hidden = true;
  $('signin').hidden = false;
  for (const id of ['connectors', 'alerts', 'assessments', 'slos']) $(id).querySelector('tbody').replaceChildren();
  for (const chart of Object.values(state.charts)) chart.destroy();
  state.charts = {};
  $('detail').hidden = true;
  const error = $('signin-error');
  error.hidden = !message;
  error.textContent = message ?? '';
  $('status').textContent = 'signed out';
  $('status').className = '';
  document.body.dataset.state = 'signed-out';
  $('signin-key').focus();
}

async function refresh() {
  clearTimeout(state.timer);
  const started = Date.now();
  const results = await Promise.allSettled([loadConnectors().then(loadDetail), loadAlerts(), loadAssessments()]);
  const rejected = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
  // No key (or one the services no longer accept): no data, only the sign-in form.
  if (rejected.some((e) => e?.status === 401)) {
    showSignIn(state.signedIn ? 'Your key is no longer accepted; sign in again.' : null);
    state.signedIn = false;
    return;
  }
  state.signedIn = true;
  $('signin').hidden = true;
  $('content').hidden = false;
  $('signout').hidden = false;
  const failed = rejected.map((e) => e?.message ?? String(e));
  const status = $('status');
  status.textContent = failed.length === 0 ? `updated ${new Date().toLocaleTimeString()} (${Date.now() - started} ms)` : `partly failed: ${failed.join('; ')}`;
  status.className = failed.length === 0 ? '' : 'error';
  state.refreshes += 1;
  document.body.dataset.refreshes = String(state.refreshes);
  document.body.dataset.state = failed.length === 0 ? 'loaded' : 'error';
  // Refreshes may overlap (a selection while one runs): one timer, whichever finishes last.
  clearTimeout(state.timer);
  state.timer = setTimeout(() => void refresh(), REFRESH_MS);
}

$('signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('signin-key');
  const res = await fetch('/session', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ apiKey: input.value.trim() }), credentials: 'same-origin' });
  input.value = '';
  if (res.status !== 204) {
    const body = await res.json().catch(() => null);
    showSignIn(body?.error?.message ?? `sign-in failed (HTTP ${res.status})`);
    return;
  }
  $('signin-error').hidden = true;
  void refresh();
});

$('signout').addEventListener('click', async () => {
  await fetch('/session', { method: 'DELETE', credentials: 'same-origin' });
  state.signedIn = false;
  showSignIn(null);
});

for (const [id, key] of [['drill-action', 'action'], ['drill-version', 'version']]) {
  $(id).addEventListener('change', (e) => {
    state[key] = e.target.value || null;
    setParams({ [key]: state[key] });
    void refresh();
  });
}

$('window').value = state.window;
$('window').addEventListener('change', (e) => {
  state.window = e.target.value;
  setParams({ window: state.window });
  void refresh();
});

void refresh();
