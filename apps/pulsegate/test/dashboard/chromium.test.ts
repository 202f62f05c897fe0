import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { backfill, catalogEntry, CONNECTOR, DEFAULT_TIMELINE, liveSecond, OLD_VERSION, NEW_VERSION, rng, SpanSender, type DemoCall } from '../../src/demo';
import { chromiumStatus, launchProfile, SHOTS, signIn, type Profile } from '../support/chromium';
import { eventually, startPipeline, type Pipeline } from '../support/pipeline';
import { figures, within } from '../support/reference';

// Just the browser APIs the page functions below use (the project compiles without the DOM lib).
interface Img {
  src: string;
  naturalWidth: number;
  naturalHeight: number;
  decode(): Promise<void>;
}
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { drawImage(img: Img, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
interface ChartData {
  labels: string[];
  datasets: Array<{ label: string; data: Array<number | null> }>;
}
interface BrowserGlobals {
  Image: new () => Img;
  document: { createElement(tag: 'canvas'): Canvas };
  Chart: { getChart(id: string): { data: ChartData } | undefined };
}

/**
 * Counts, in a PNG screenshot, the pixels within `tolerance` (per channel) of each colour: the
 * screenshot is decoded by the browser itself (an <img> drawn onto a canvas).
 */
async function colourPixels(page: Page, png: Buffer, colours: string[], tolerance = 40): Promise<number[]> {
  return page.evaluate(
    async ({ b64, colours, tolerance }) => {
      const { Image, document } = globalThis as unknown as BrowserGlobals;
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      const rgb = colours.map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
      const counts = colours.map(() => 0);
      for (let p = 0; p < data.length; p += 4) {
        rgb.forEach(([r, g, b], k) => {
          if (Math.abs(data[p]! - r!) <= tolerance && Math.abs(data[p + 1]! - g!) <= tolerance && Math.abs(data[p + 2]! - b!) <= tolerance) counts[k]!++;
        });
      }
      return counts;
    },
    { b64: png.toString('base64'), colours, tolerance },
  );
}

/** Datasets of a Chart.js chart on the page: labels and values. */
function chartData(page: Page, id: string): Promise<ChartData> {
  return page.evaluate((canvasId) => {
    const chart = (globalThis as unknown as BrowserGlobals).Chart.getChart(canvasId);
    if (chart === undefined) throw new Error(`no chart ${canvasId}`);
    return { labels: [...chart.data.labels], datasets: chart.data.datasets.map((d) => ({ label: d.label, data: [...d.data] })) };
  }, id);
}

async function series(page: Page, id: string): Promise<{ from: number; stepMs: number }> {
  return page.locator(`#${id}`).evaluate((el) => {
    const data = (el as unknown as { dataset: Record<string, string> }).dataset;
    return { from: Number(data.from), stepMs: Number(data.stepMs) };
  });
}

/** Tenant A sends the demo's ContosoSales traffic; tenant B a little traffic of a connector of its own. */
const KEY_A = 'tenant-a-dashboard-test-key';
const KEY_B = 'tenant-b-dashboard-test-key';
const B_CONNECTOR = 'FabrikamHR';

/** One SLO as GET /v1/slos/{connector} answers it. */
interface Slo {
  connector: string;
  action: string;
  kind: 'read' | 'write';
  slo: 'availability' | 'latency' | 'throttling';
  objective: number;
  window: string;
  thresholdMs: number | null;
  attainment: number | null;
  budgetRemaining: number;
  burnRates: Record<string, number | null>;
  timeToExhaustionSeconds: number | null;
}

/** SLO overrides, so the chart targets differ from the built-in defaults and must come from the API. */
const RULES = `slos:
  - slo: availability
    match: { connector: ${CONNECTOR}, action: ListInvoices }
    objective: 0.995
  - slo: latency
    match: { connector: ${CONNECTOR}, action: CreateInvoice }
    threshold: { read: 1000, write: 2500 }
  - slo: throttling
    match: { connector: ${CONNECTOR} }
    objective: 0.98
`;

/** The chart targets a reader of the SLO answer expects: strictest objective, tightest threshold, else the defaults. */
function expectedTargets(slos: Slo[], action: string | null) {
  const mine = slos.filter((s) => action === null || s.action === action);
  const objective = (slo: Slo['slo']): number | null => (mine.some((s) => s.slo === slo) ? Math.max(...mine.filter((s) => s.slo === slo).map((s) => s.objective)) : null);
  const threshold = (kind: 'read' | 'write'): number | null => {
    const ms = mine.filter((s) => s.slo === 'latency' && s.kind === kind && s.thresholdMs !== null).map((s) => s.thresholdMs!);
    return ms.length === 0 ? null : Math.min(...ms);
  };
  const throttling = objective('throttling');
  return { success: objective('availability') ?? 0.99, throttle: throttling === null ? 0.01 : 1 - throttling, read: threshold('read') ?? 750, write: threshold('write') ?? 1500 };
}

const pct = (v: number | null, digits: number): string => (v === null ? '–' : `${(v * 100).toFixed(digits)} %`);

/** Reference of the panel's "budget exhausted in": the largest two units of whole minutes. */
function duration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const d = Math.floor(m / 1440);
  const h = Math.floor((m % 1440) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m % 60}m` : `${m}m`;
}

describe.skipIf(chromiumStatus().skip)('dashboard in headless Chromium: each user signs in with their own key and sees exactly their tenant', () => {
  let pipeline: Pipeline;
  let rulesDir: string;
  let userA: Profile;
  let page: Page;
  const calls: DemoCall[] = [];
  const bCalls: DemoCall[] = [];
  const authA = { authorization: `Bearer ${KEY_A}` };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    rulesDir = await mkdtemp(join(tmpdir(), 'pulsegate-dashboard-rules-'));
    writeFileSync(join(rulesDir, 'rules.yaml'), RULES);
    // Two tenants, keys with every scope; short snapshot interval: alerts and SLOs within seconds.
    pipeline = await startPipeline({
      SNAPSHOT_INTERVAL_SECONDS: '2',
      RULES_FILE: join(rulesDir, 'rules.yaml'),
      PULSEGATE_API_KEYS: JSON.stringify([
        { key: KEY_A, tenant: 'acme', name: 'acme-user' },
        { key: KEY_B, tenant: 'globex', name: 'globex-user' },
      ]),
    });
    const catalog = await fetch(`${pipeline.url('risk-scorer')}/v1/catalog/connectors/${CONNECTOR}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...authA },
      body: JSON.stringify(catalogEntry(Date.now())),
    });
    expect(catalog.status).toBe(201);

    // 20 minutes of baseline, then 50 seconds of the live scenario (surge, regression, rollout),
    // every span ending at least 5 s in the past.
    const random = rng(7);
    const now = Date.now();
    calls.push(...backfill(20, now - 60_000, random));
    for (let s = 0; s < 50; s++) calls.push(...liveSecond(DEFAULT_TIMELINE, s, now - 55_000, random));
    const sender = new SpanSender(pipeline.url('ingest'), authA);
    for (const c of calls) sender.record(c);
    await sender.shutdown();
    expect(sender.counts).toEqual({ recorded: calls.length, exported: calls.length, failed: 0 });
    // Tenant B: 37 calls of its own connector (sent under B's key, as B's telemetry would be).
    bCalls.push(...backfill(5, now - 60_000, rng(11)).slice(0, 37));
    const senderB = new SpanSender(pipeline.url('ingest'), { authorization: `Bearer ${KEY_B}` }, B_CONNECTOR);
    for (const c of bCalls) senderB.record(c);
    await senderB.shutdown();
    expect(senderB.counts.exported).toBe(bCalls.length);

    await eventually(async () => {
      const res = await fetch(`${pipeline.url('aggregator')}/v1/connectors/${CONNECTOR}/versions?window=1h`, { headers: authA });
      const body = (await res.json()) as { versions?: Array<{ version: string; calls: number; deprecated: boolean }> };
      const total = (body.versions ?? []).reduce((a, v) => a + v.calls, 0);
      return total === calls.length && body.versions?.find((v) => v.version === OLD_VERSION)?.deprecated === true ? true : undefined;
    });
    // The detector has SLOs for both actions: it keeps them in 5-minute blocks from the aggregator's
    // snapshots, so the first appear once a 5-minute boundary has passed (bounded: 7 minutes).
    await eventually(async () => {
      const res = await fetch(`${pipeline.url('anomaly-detector')}/v1/slos/${CONNECTOR}`, { headers: authA });
      if (res.status !== 200) return undefined;
      const body = (await res.json()) as { slos: Slo[] };
      return new Set(body.slos.map((s) => s.action)).size === 2 ? true : undefined;
    }, 1680);
    userA = await launchProfile();
    page = await userA.context.newPage();
    await page.goto(`${pipeline.dashboard.url}/?window=1h&refresh=1000`);
    // Not signed in yet: the form, no figures.
    await page.locator('body[data-state="signed-out"]').waitFor({ timeout: 30_000 });
    await signIn(page, KEY_A);
    // Wait until the detector's ThrottleRateHigh alert is on the page as well.
    await page.locator('#alerts tbody tr[data-rule="ThrottleRateHigh"][data-state="firing"]').first().waitFor({ timeout: 60_000 });
  }, 600_000);

  afterAll(async () => {
    await userA?.close();
    await pipeline?.stop();
    if (rulesDir !== undefined) await rm(rulesDir, { recursive: true, force: true });
  });

  it('without a key shows the sign-in form and no data; a key the services refuse is not signed in', async () => {
    const nobody = await launchProfile();
    try {
      const p = await nobody.context.newPage();
      await p.goto(`${pipeline.dashboard.url}/?window=1h&refresh=1000&connector=${CONNECTOR}`);
      await p.locator('body[data-state="signed-out"]').waitFor({ timeout: 30_000 });
      expect(await p.locator('#signin').isVisible()).toBe(true);
      expect(await p.locator('#content').isVisible()).toBe(false);
      expect(await p.locator('#connectors tbody tr').count()).toBe(0);
      expect(await p.locator('#alerts tbody tr').count()).toBe(0);
      // The proxy itself refuses: 401 in the error schema.
      const answer = await p.evaluate(async () => {
        const res = await fetch('/api/aggregator/v1/connectors?window=1h');
        return { status: res.status, body: (await res.json()) as { error?: { code?: string; correlationId?: string } } };
      });
      expect(answer.status).toBe(401);
      expect(answer.body.error?.code).toBe('UNAUTHORIZED');
      expect(answer.body.error?.correlationId).toBeTypeOf('string');
      // A wrong key: the form says so, still no data, and no cookie was set.
      await p.fill('#signin-key', 'not-a-key-anyone-holds');
      await p.click('#signin button[type="submit"]');
      await p.locator('#signin-error:not([hidden])').waitFor({ timeout: 30_000 });
      expect(await p.locator('#signin-error').textContent()).toContain('not accepted');
      expect(await nobody.context.cookies()).toEqual([]);
      expect(await p.locator('#connectors tbody tr').count()).toBe(0);
    } finally {
      await nobody.close();
    }
  });

  it('keeps the key out of page storage: an HttpOnly cookie, invisible to scripts', async () => {
    const cookies = await userA.context.cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['pulsegate_key', true, 'Strict']]);
    const visible = await page.evaluate(() => {
      const g = globalThis as unknown as { document: { cookie: string }; sessionStorage: { length: number }; localStorage: { length: number }; location: { href: string } };
      return { cookie: g.document.cookie, session: g.sessionStorage.length, local: g.localStorage.length, href: g.location.href };
    });
    expect(visible).toEqual({ cookie: '', session: 0, local: 0, href: expect.not.stringContaining(KEY_A) as unknown as string });
  });

  it('lists the connector with its exact call count and headline figures', async () => {
    expect(await page.locator('#connectors tbody tr').count()).toBe(1);
    const row = page.locator(`#connectors tbody tr[data-connector="${CONNECTOR}"]`);
    await expect(row.locator('td').nth(1).textContent()).resolves.toBe(String(calls.length));
    const want = figures(calls);
    await expect(page.locator('#tile-calls').textContent()).resolves.toBe(String(calls.length));
    await expect(page.locator('#tile-success').textContent()).resolves.toBe(`${(want.successRate! * 100).toFixed(2)} %`);
    await expect(page.locator('#tile-throttle').textContent()).resolves.toBe(`${(want.throttleRate! * 100).toFixed(2)} %`);
  });

  it('draws success rate, throttle rate and read/write P95 per minute equal to a reference computed from the calls', async () => {
    await expectSeries(page, calls);
  });

  it('draws the SLO objectives and thresholds of the anomaly detector as target lines', async () => {
    const slos = ((await (await fetch(`${pipeline.url('anomaly-detector')}/v1/slos/${CONNECTOR}`, { headers: authA })).json()) as { slos: Slo[] }).slos;
    const want = expectedTargets(slos, null);
    // The rules file's overrides, not the defaults: strictest availability 99.5 %, throttling 98 %,
    // CreateInvoice (write) under 2500 ms, ListInvoices (read) under the default 750 ms.
    expect(want).toEqual({ success: 0.995, throttle: 1 - 0.98, read: 750, write: 2500 });
    await expectTargets(page, want);
    await expect(page.locator('#chart-success').getAttribute('data-target-source')).resolves.toBe('slo');
  });

  it('drills down to an action and then to a version: every figure is that series\' own', async () => {
    const slos = ((await (await fetch(`${pipeline.url('anomaly-detector')}/v1/slos/${CONNECTOR}`, { headers: authA })).json()) as { slos: Slo[] }).slos;
    const actionOptions = await page.locator('#drill-action option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
    expect(actionOptions).toEqual(['', 'CreateInvoice', 'ListInvoices']);
    const versionOptions = await page.locator('#drill-version option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
    expect(versionOptions).toEqual(['', OLD_VERSION, NEW_VERSION]);

    await page.selectOption('#drill-action', 'ListInvoices');
    await page.locator('#detail[data-action="ListInvoices"][data-version=""]').waitFor({ timeout: 30_000 });
    expect(page.url()).toContain('action=ListInvoices');
    const listInvoices = calls.filter((c) => c.action === 'ListInvoices');
    await expectTiles(page, listInvoices);
    await expectSeries(page, listInvoices);
    const wantList = expectedTargets(slos, 'ListInvoices');
    expect(wantList).toEqual({ success: 0.995, throttle: 1 - 0.98, read: 750, write: 1500 });
    await expectTargets(page, wantList);

    await page.selectOption('#drill-version', NEW_VERSION);
    await page.locator(`#detail[data-action="ListInvoices"][data-version="${NEW_VERSION}"]`).waitFor({ timeout: 30_000 });
    const both = listInvoices.filter((c) => c.version === NEW_VERSION);
    expect(both.length).toBeGreaterThan(50);
    await expectTiles(page, both);
    await expectSeries(page, both);
    await page.screenshot({ path: join(SHOTS, 'dashboard-drilldown.png'), fullPage: true });

    // Back to the whole connector: the figures are the connector's again.
    await page.selectOption('#drill-action', '');
    await page.selectOption('#drill-version', '');
    await page.locator('#detail[data-action=""][data-version=""]').waitFor({ timeout: 30_000 });
    await expectTiles(page, calls);
  });

  it('shows the SLO panel with the values GET /v1/slos/{connector} returns', async () => {
    // The row a reader of the API answer expects, cell by cell.
    const expectedCells = (s: Slo): string[] => [
      s.action,
      s.kind,
      s.slo,
      `${pct(s.objective, 2)}${s.thresholdMs !== null ? ` ≤ ${s.thresholdMs} ms` : ''}`,
      s.window,
      pct(s.attainment, 3),
      pct(s.budgetRemaining, 1),
      Object.entries(s.burnRates).map(([w, r]) => `${w} ${r === null ? '–' : `${r.toFixed(2)}×`}`).join(' · '),
      s.budgetRemaining <= 0 ? 'exhausted' : s.timeToExhaustionSeconds === null ? '–' : duration(s.timeToExhaustionSeconds),
    ];
    // Burn rates move as minutes pass: compare one page refresh with an answer of the same minute.
    const { rows, slos } = await eventually(async () => {
      const rows = await page.locator('#slos tbody tr').evaluateAll((trs) =>
        trs.map((tr) => {
          const el = tr as unknown as { dataset: Record<string, string>; querySelectorAll(s: string): ArrayLike<{ textContent: string }> };
          return { action: el.dataset.action, slo: el.dataset.slo, kind: el.dataset.kind, cells: Array.from(el.querySelectorAll('td')).map((td) => td.textContent) };
        }),
      );
      const slos = ((await (await fetch(`${pipeline.url('anomaly-detector')}/v1/slos/${CONNECTOR}`, { headers: authA })).json()) as { slos: Slo[] }).slos;
      const same = rows.length === slos.length && slos.every((s) => rows.some((r) => r.action === s.action && r.slo === s.slo && JSON.stringify(r.cells) === JSON.stringify(expectedCells(s))));
      return same ? { rows, slos } : undefined;
    }, 40);
    expect(rows.length).toBe(6); // two actions × availability, latency, throttling
    for (const s of slos) {
      const row = rows.find((r) => r.action === s.action && r.slo === s.slo)!;
      expect(row.kind).toBe(s.kind);
      expect(row.cells).toEqual(expectedCells(s));
    }
    // The overrides reached the panel.
    expect(rows.find((r) => r.action === 'ListInvoices' && r.slo === 'availability')!.cells[3]).toBe('99.50 %');
    expect(rows.find((r) => r.action === 'CreateInvoice' && r.slo === 'latency')!.cells[3]).toBe('95.00 % ≤ 2500 ms');
  });

  it('draws the error-code distribution and the version adoption with the deprecated version marked', async () => {
    const want = figures(calls);
    const errors = await chartData(page, 'chart-errors');
    expect(Object.fromEntries(errors.labels.map((l, i) => [l, errors.datasets[0]!.data[i]]))).toEqual(want.errorCodes);
    expect(Object.keys(want.errorCodes).sort()).toEqual(['INTERNAL_ERROR', 'NOT_FOUND', 'RATE_LIMIT', 'UNMAPPED']);

    const versions = await chartData(page, 'chart-versions');
    const share = (v: string): number => calls.filter((c) => c.version === v).length / calls.length;
    expect(versions.labels).toEqual([`${OLD_VERSION} (deprecated)`, `${NEW_VERSION} (latest)`]);
    expect(versions.datasets[0]!.data[0]).toBeCloseTo(share(OLD_VERSION), 12);
    expect(versions.datasets[0]!.data[1]).toBeCloseTo(share(NEW_VERSION), 12);
    await expect(page.locator('#chart-versions').getAttribute('data-deprecated')).resolves.toBe(OLD_VERSION);
  });

  it('renders every chart with data-coloured pixels in a screenshot', async () => {
    await page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });
    const checks: Array<[string, string[]]> = [
      ['chart-success', ['#079455']],
      ['chart-p95', ['#2563eb', '#9333ea']],
      ['chart-throttle', ['#dc6803']],
      ['chart-errors', ['#dc6803', '#2563eb', '#d92d20']],
      ['chart-versions', ['#d92d20', '#2563eb']],
    ];
    for (const [id, colours] of checks) {
      const png = await page.locator(`#${id}`).screenshot();
      const counts = await colourPixels(page, png, colours);
      // Each series colour covers a visible area: lines of ≥ 20 points, or bars.
      counts.forEach((n, k) => expect(n, `${id} ${colours[k]}`).toBeGreaterThan(150));
      // The dashed target line (thin, with gaps) is drawn too.
      if (id === 'chart-success' || id === 'chart-throttle') expect((await colourPixels(page, png, ['#344054'], 30))[0], `${id} target line`).toBeGreaterThan(60);
      const blank = await colourPixels(page, png, ['#ffffff'], 2);
      const box = await page.locator(`#${id}`).boundingBox();
      expect(blank[0]!, `${id} is not blank`).toBeLessThan(box!.width * box!.height * 0.97);
    }
  });

  it('shows the firing throttle alert of the surge', async () => {
    const rows = page.locator('#alerts tbody tr[data-rule="ThrottleRateHigh"][data-state="firing"]');
    expect(await rows.count()).toBeGreaterThanOrEqual(1);
    const text = await rows.first().textContent();
    expect(text).toContain(CONNECTOR);
    expect(text).toContain('ListInvoices');
  });

  it('shows an explicit "unknown connector" state instead of another connector', async () => {
    const p = await userA.context.newPage();
    try {
      await p.goto(`${pipeline.dashboard.url}/?window=1h&refresh=1000&connector=NoSuchConnector`);
      await p.locator('body[data-connector-state="unknown"][data-state="loaded"]').waitFor({ timeout: 30_000 });
      expect(await p.locator('#unknown-connector').isVisible()).toBe(true);
      expect(await p.locator('#unknown-name').textContent()).toBe('NoSuchConnector');
      expect(await p.locator('#detail').isVisible()).toBe(false);
      expect(await p.locator('#slos-section').isVisible()).toBe(false);
      // The connector list is still there to pick from, with nothing selected.
      expect(await p.locator(`#connectors tbody tr[data-connector="${CONNECTOR}"]`).count()).toBe(1);
      expect(await p.locator('#connectors tbody tr.selected').count()).toBe(0);
      // A known connector with an action and a version it never had: said so, all figures empty.
      await p.goto(`${pipeline.dashboard.url}/?window=1h&refresh=1000&connector=${CONNECTOR}&action=NoSuchAction&version=9.9.9`);
      await p.locator('#detail[data-action="NoSuchAction"][data-scope-state="unknown"]').waitFor({ timeout: 30_000 });
      expect(await p.locator('#detail-scope').textContent()).toBe(' › NoSuchAction (unknown action) › 9.9.9 (unknown version)');
      expect(await p.locator('#tile-calls').textContent()).toBe('0');
    } finally {
      await p.close();
    }
  });

  it("another tenant's key sees only that tenant: its own connector, and A's connector is unknown to it", async () => {
    const userB = await launchProfile();
    try {
      const p = await userB.context.newPage();
      await p.goto(`${pipeline.dashboard.url}/?window=1h&refresh=1000`);
      await signIn(p, KEY_B);
      await p.locator(`#detail[data-connector="${B_CONNECTOR}"]`).waitFor({ timeout: 30_000 });
      const listed = await p.locator('#connectors tbody tr').evaluateAll((trs) => trs.map((tr) => (tr as unknown as { dataset: Record<string, string> }).dataset.connector));
      expect(listed).toEqual([B_CONNECTOR]);
      await expect(p.locator('#tile-calls').textContent()).resolves.toBe(String(bCalls.length));
      await expectTiles(p, bCalls);
      expect(await p.locator('#alerts tbody tr').count()).toBe(0);
      expect(await p.locator('#assessments tbody tr').count()).toBe(0);
      expect(await p.content()).not.toContain(CONNECTOR);

      await p.goto(`${pipeline.dashboard.url}/?window=1h&refresh=1000&connector=${CONNECTOR}`);
      await p.locator('body[data-connector-state="unknown"][data-state="loaded"]').waitFor({ timeout: 30_000 });
      expect(await p.locator('#unknown-name').textContent()).toBe(CONNECTOR);
      expect(await p.locator('#tile-calls').isVisible()).toBe(false);
      // Signing out forgets the figures and the key.
      await p.click('#signout');
      await p.locator('body[data-state="signed-out"]').waitFor({ timeout: 30_000 });
      expect(await p.locator('#connectors tbody tr').count()).toBe(0);
      expect(await userB.context.cookies()).toEqual([]);
    } finally {
      await userB.close();
    }
  });

  it('keeps API errors in the error schema through the proxy', async () => {
    const answer = await page.evaluate(async () => {
      const res = await fetch('/api/aggregator/v1/connectors/NoSuchConnector/metrics?window=1h');
      return { status: res.status, body: (await res.json()) as { error?: { code?: string; correlationId?: string } } };
    });
    expect(answer.status).toBe(404);
    expect(answer.body.error?.code).toBeTypeOf('string');
    expect(answer.body.error?.correlationId).toBeTypeOf('string');
  });
});

/** Tiles of the page equal the reference of `subset` (calls, success rate, throttle rate). */
async function expectTiles(page: Page, subset: DemoCall[]): Promise<void> {
  const want = figures(subset);
  await expect(page.locator('#tile-calls').textContent()).resolves.toBe(String(subset.length));
  await expect(page.locator('#tile-success').textContent()).resolves.toBe(pct(want.successRate, 2));
  await expect(page.locator('#tile-throttle').textContent()).resolves.toBe(pct(want.throttleRate, 2));
}

/** Success and throttle rate per minute exactly, P95 read/write within 1 %, against `subset`. */
async function expectSeries(page: Page, subset: DemoCall[]): Promise<void> {
  for (const [id, pick] of [
    ['chart-success', (f: ReturnType<typeof figures>) => f.successRate],
    ['chart-throttle', (f: ReturnType<typeof figures>) => f.throttleRate],
  ] as const) {
    const { from, stepMs } = await series(page, id);
    const { datasets } = await chartData(page, id);
    expect(stepMs).toBe(60_000);
    const values = datasets[0]!.data;
    expect(values.length).toBe(60);
    const want = values.map((_, i) => pick(figures(within(subset, from + i * stepMs, from + (i + 1) * stepMs))));
    expect(values.filter((v) => v !== null).length, id).toBeGreaterThanOrEqual(2);
    values.forEach((v, i) => {
      if (want[i] === null) expect(v, `${id}[${i}]`).toBeNull();
      else expect(v, `${id}[${i}]`).toBeCloseTo(want[i]!, 12);
    });
  }
  const { from, stepMs } = await series(page, 'chart-p95');
  const { datasets } = await chartData(page, 'chart-p95');
  expect(datasets.map((d) => d.label).slice(0, 2)).toEqual(['P95 read (GET)', 'P95 write']);
  datasets.slice(0, 2).forEach((d, k) => {
    const method = k === 0 ? 'GET' : 'POST';
    d.data.forEach((v, i) => {
      const want = figures(within(subset, from + i * stepMs, from + (i + 1) * stepMs).filter((c) => c.method === method)).p95;
      if (want === null) expect(v).toBeNull();
      else expect(Math.abs(v! - want) / want, `${d.label}[${i}]`).toBeLessThanOrEqual(0.01);
    });
  });
}

/** The dashed target datasets of the three line charts hold exactly `want` at every point. */
async function expectTargets(page: Page, want: { success: number; throttle: number; read: number; write: number }): Promise<void> {
  const flat = (values: Array<number | null>, v: number): void => {
    expect(values.length).toBe(60);
    for (const x of values) expect(x).toBe(v);
  };
  const success = await chartData(page, 'chart-success');
  expect(success.datasets.length).toBe(2);
  flat(success.datasets[1]!.data, want.success);
  const throttle = await chartData(page, 'chart-throttle');
  expect(throttle.datasets.length).toBe(2);
  flat(throttle.datasets[1]!.data, want.throttle);
  const p95 = await chartData(page, 'chart-p95');
  expect(p95.datasets.map((d) => d.label).slice(2)).toEqual([`target read ${want.read} ms`, `target write ${want.write} ms`]);
  flat(p95.datasets[2]!.data, want.read);
  flat(p95.datasets[3]!.data, want.write);
}
