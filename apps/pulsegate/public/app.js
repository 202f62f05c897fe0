/* global window, document, location, history, fetch, URL, URLSearchParams, setTimeout, clearTimeout */
// Pulsegate dashboard: plain ES module, no build step. Reads the services through the dashboard's
// same-origin proxy (/api/aggregator, /api/alerts, /api/risk) and draws with Chart.js (window.Chart).
// Every text from the APIs goes through textContent: connector and action names come from telemetry.

const Chart = window.Chart;
const params = new URLSearchParams(location.search);
const REFRESH_MS = Math.max(1000, Number(params.get('refresh') ?? 5000) || 5000);
/** Point width per window: at most a few hundred points per chart. */
const STEP_FOR = { '5m': '1m', '15m': '1m', '1h': '1m', '6h': '5m', '24h': '15m', '7d': '1h', '30d': '6h' };
const WINDOW_MS = { '5m': 3e5, '15m': 9e5, '1h': 3.6e6, '6h': 2.16e7, '24h': 8.64e7, '7d': 6.048e8, '30d': 2.592e9 };
const STEP_MS = { '1m': 6e4, '5m': 3e5, '15m': 9e5, '1h': 3.6e6, '6h': 2.16e7 };
const COLORS = { read: '#2563eb', write: '#9333ea', success: '#079455', throttle: '#dc6803', bad: '#d92d20', muted: '#98a2b3' };

const state = {
  window: params.get('window') && STEP_FOR[params.get('window')] ? params.get('window') : '1h',
  connector: params.get('connector'),
  charts: {},
  refreshes: 0,
  timer: null,
};

const $ = (id) => document.getElementById(id);

async function api(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
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
  const n = chart.data.datasets.reduce((acc, d) => acc + d.data.filter((v) => v !== null && v !== undefined).length, 0);
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
  if (!state.connector || !list.some((c) => c.connector === state.connector)) state.connector = list[0]?.connector ?? null;
  for (const c of list) {
    const tr = document.createElement('tr');
    tr.dataset.connector = c.connector;
    if (c.connector === state.connector) tr.className = 'selected';
    tr.append(cell(c.connector), cell(num(c.calls)), cell(pct(c.successRate)), cell(pct(c.throttleRate)), cell(ms(c.p95LatencyMs)), cell(pct(c.errorMappingCoverage, 1)), cell(time(c.lastSeen, true)));
    tr.addEventListener('click', () => {
      state.connector = c.connector;
      const url = new URL(location.href);
      url.searchParams.set('connector', c.connector);
      history.replaceState(null, '', url);
      void refresh();
    });
    tbody.append(tr);
  }
}

async function loadDetail() {
  const section = $('detail');
  if (!state.connector) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  $('detail-name').textContent = state.connector;
  const c = encodeURIComponent(state.connector);
  const w = state.window;
  const step = STEP_FOR[w];
  // One explicit range for every series of a refresh, so their points line up even when a minute
  // boundary passes between the requests.
  // Aligned to the step (current step included), so every point covers a whole step.
  const stepMs = STEP_MS[step];
  const to = Math.ceil(Date.now() / stepMs) * stepMs;
  const range = `from=${to - WINDOW_MS[w]}&to=${to}`;
  const series = (metric, extra = '') => api(`/api/aggregator/v1/connectors/${c}/timeseries?metric=${metric}&step=${step}&${range}${extra}`);
  const [all, read, write, success, throttle, p95Read, p95Write, versions] = await Promise.all([
    api(`/api/aggregator/v1/connectors/${c}/metrics?window=${w}`),
    api(`/api/aggregator/v1/connectors/${c}/metrics?window=${w}&kind=read`),
    api(`/api/aggregator/v1/connectors/${c}/metrics?window=${w}&kind=write`),
    series('successRate'),
    series('throttleRate'),
    series('p95', '&kind=read'),
    series('p95', '&kind=write'),
    api(`/api/aggregator/v1/connectors/${c}/versions?window=${w}`),
  ]);

  $('tile-calls').textContent = num(all.calls);
  $('tile-success').textContent = pct(all.successRate);
  $('tile-p95-read').textContent = ms(read.latencyMs.p95);
  $('tile-p95-write').textContent = ms(write.latencyMs.p95);
  $('tile-throttle').textContent = pct(all.throttleRate);
  $('tile-throttled-hour').textContent = num(all.throttledPerHour);

  const withDate = step === '1h' || step === '6h' || step === '15m';
  const labels = success.points.map((p) => time(p.from, withDate));

  upsertChart('chart-success', {
    type: 'line',
    data: { labels, datasets: [lineDataset('success rate', success.points, COLORS.success)] },
    options: baseOptions('ratio', { percent: true }),
  });
  markPoints('chart-success', success.points);

  upsertChart('chart-p95', {
    type: 'line',
    data: { labels, datasets: [lineDataset('P95 read (GET)', p95Read.points, COLORS.read), lineDataset('P95 write', p95Write.points, COLORS.write)] },
    options: baseOptions('ms', { min: 0 }),
  });
  markPoints('chart-p95', p95Read.points);

  upsertChart('chart-throttle', {
    type: 'line',
    data: { labels, datasets: [{ ...lineDataset('throttle rate', throttle.points, COLORS.throttle), fill: true, backgroundColor: 'rgba(220,104,3,0.15)' }] },
    options: baseOptions('ratio', { percent: true, min: 0 }),
  });
  markPoints('chart-throttle', throttle.points);

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
    `latest ${versions.latest ?? 'unknown'} (${versions.latestSource ?? 'no source'}); latest-minor share ${pct(versions.latestMinorShare, 1)}; deprecated share ${pct(versions.deprecatedShare, 1)}`;
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
    const isRatio = a.value !== null && a.value <= 1 && !/P95|Latency/i.test(a.rule);
    const fmt = (v) => (v === null ? '–' : isRatio ? pct(v) : ms(v));
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

async function refresh() {
  clearTimeout(state.timer);
  const started = Date.now();
  const results = await Promise.allSettled([loadConnectors().then(loadDetail), loadAlerts(), loadAssessments()]);
  const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason?.message ?? String(r.reason));
  const status = $('status');
  status.textContent = failed.length === 0 ? `updated ${new Date().toLocaleTimeString()} (${Date.now() - started} ms)` : `partly failed: ${failed.join('; ')}`;
  status.className = failed.length === 0 ? '' : 'error';
  state.refreshes += 1;
  document.body.dataset.refreshes = String(state.refreshes);
  document.body.dataset.state = failed.length === 0 ? 'loaded' : 'error';
  state.timer = setTimeout(() => void refresh(), REFRESH_MS);
}

$('window').value = state.window;
$('window').addEventListener('change', (e) => {
  state.window = e.target.value;
  const url = new URL(location.href);
  url.searchParams.set('window', state.window);
  history.replaceState(null, '', url);
  void refresh();
});

void refresh();
