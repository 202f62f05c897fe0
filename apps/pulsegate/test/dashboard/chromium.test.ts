import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { backfill, catalogEntry, CONNECTOR, DEFAULT_TIMELINE, liveSecond, OLD_VERSION, NEW_VERSION, rng, SpanSender, type DemoCall } from '../../src/demo';
import { chromiumStatus, launchChromium, SHOTS } from '../support/chromium';
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

describe.skipIf(chromiumStatus().skip)('dashboard in headless Chromium: real charts of exactly counted traffic', () => {
  let pipeline: Pipeline;
  let browser: Browser;
  let page: Page;
  const calls: DemoCall[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // Short snapshot interval: alerts reach the page within seconds.
    pipeline = await startPipeline({ SNAPSHOT_INTERVAL_SECONDS: '2' });
    const catalog = await fetch(`${pipeline.url('risk-scorer')}/v1/catalog/connectors/${CONNECTOR}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(catalogEntry(Date.now())),
    });
    expect(catalog.status).toBe(201);

    // 20 minutes of baseline, then 50 seconds of the live scenario (surge, regression, rollout),
    // every span ending at least 5 s in the past.
    const random = rng(7);
    const now = Date.now();
    calls.push(...backfill(20, now - 60_000, random));
    for (let s = 0; s < 50; s++) calls.push(...liveSecond(DEFAULT_TIMELINE, s, now - 55_000, random));
    const sender = new SpanSender(pipeline.url('ingest'));
    for (const c of calls) sender.record(c);
    await sender.shutdown();
    expect(sender.counts).toEqual({ recorded: calls.length, exported: calls.length, failed: 0 });

    await eventually(async () => {
      const res = await fetch(`${pipeline.url('aggregator')}/v1/connectors/${CONNECTOR}/versions?window=1h`);
      const body = (await res.json()) as { versions?: Array<{ version: string; calls: number; deprecated: boolean }> };
      const total = (body.versions ?? []).reduce((a, v) => a + v.calls, 0);
      return total === calls.length && body.versions?.find((v) => v.version === OLD_VERSION)?.deprecated === true ? true : undefined;
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    await page.goto(`${pipeline.dashboard.url}/?window=1h&refresh=1000`);
    // Wait until the detector's ThrottleRateHigh alert is on the page as well.
    await page.locator('#alerts tbody tr[data-rule="ThrottleRateHigh"][data-state="firing"]').first().waitFor({ timeout: 60_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await pipeline?.stop();
  });

  it('lists the connector with its exact call count and headline figures', async () => {
    const row = page.locator(`#connectors tbody tr[data-connector="${CONNECTOR}"]`);
    await expect(row.locator('td').nth(1).textContent()).resolves.toBe(String(calls.length));
    const want = figures(calls);
    await expect(page.locator('#tile-calls').textContent()).resolves.toBe(String(calls.length));
    await expect(page.locator('#tile-success').textContent()).resolves.toBe(`${(want.successRate! * 100).toFixed(2)} %`);
    await expect(page.locator('#tile-throttle').textContent()).resolves.toBe(`${(want.throttleRate! * 100).toFixed(2)} %`);
  });

  it('draws success rate, throttle rate and read/write P95 per minute equal to a reference computed from the calls', async () => {
    for (const [id, pick] of [
      ['chart-success', (f: ReturnType<typeof figures>) => f.successRate],
      ['chart-throttle', (f: ReturnType<typeof figures>) => f.throttleRate],
    ] as const) {
      const { from, stepMs } = await series(page, id);
      const { datasets } = await chartData(page, id);
      expect(stepMs).toBe(60_000);
      const values = datasets[0]!.data;
      expect(values.length).toBe(60);
      const want = values.map((_, i) => pick(figures(within(calls, from + i * stepMs, from + (i + 1) * stepMs))));
      expect(values.filter((v) => v !== null).length, id).toBeGreaterThanOrEqual(20);
      values.forEach((v, i) => {
        if (want[i] === null) expect(v, `${id}[${i}]`).toBeNull();
        else expect(v, `${id}[${i}]`).toBeCloseTo(want[i]!, 12);
      });
    }
    const { from, stepMs } = await series(page, 'chart-p95');
    const { datasets } = await chartData(page, 'chart-p95');
    expect(datasets.map((d) => d.label)).toEqual(['P95 read (GET)', 'P95 write']);
    datasets.forEach((d, k) => {
      const method = k === 0 ? 'GET' : 'POST';
      d.data.forEach((v, i) => {
        const want = figures(within(calls, from + i * stepMs, from + (i + 1) * stepMs).filter((c) => c.method === method)).p95;
        if (want === null) expect(v).toBeNull();
        else expect(Math.abs(v! - want) / want, `${d.label}[${i}]`).toBeLessThanOrEqual(0.01);
      });
    });
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
