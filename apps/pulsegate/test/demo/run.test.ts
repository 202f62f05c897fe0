import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { CONNECTOR, NEW_VERSION, OLD_VERSION, runDemo, type DemoSummary } from '../../src/demo';
import { chromiumStatus, launchChromium, SHOTS, signIn } from '../support/chromium';
import { eventually, startPipeline, type Pipeline } from '../support/pipeline';

interface Alert {
  rule: string;
  state: string;
  labels: Record<string, string>;
}

// The default configuration of `npm start` (10 s snapshots, built-in rules): what a newcomer runs.
describe.skipIf(chromiumStatus().skip)('npm run demo against npm start: an alert and a risk assessment on the dashboard within two minutes', () => {
  let pipeline: Pipeline;
  let browser: Browser;
  const stop = new AbortController();
  let demo: Promise<DemoSummary>;
  const lines: string[] = [];

  // The key `npm start` prints, given to the demo as PULSEGATE_API_KEY and typed into the sign-in form.
  const key = 'demo-test-tenant-key';
  const auth = { authorization: `Bearer ${key}` };

  beforeAll(async () => {
    pipeline = await startPipeline({}, { tenantKey: key });
    demo = runDemo({
      apiKey: key,
      ingestUrl: pipeline.url('ingest'),
      riskUrl: pipeline.url('risk-scorer'),
      aggregatorUrl: pipeline.url('aggregator'),
      durationSeconds: 120,
      signal: stop.signal,
      log: (l) => lines.push(l),
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    stop.abort();
    await demo?.catch(() => undefined);
    await browser?.close();
    await pipeline?.stop();
  });

  it('fires the 429 surge alert and assesses 1.2.0 with 1.1.0 telemetry, both shown on the dashboard', { timeout: 180_000 }, async () => {
    // Polled for at most 2 minutes (480 × 250 ms); no assertion on how fast.
    const firing = await eventually(async () => {
      const body = (await (await fetch(`${pipeline.url('anomaly-detector')}/v1/alerts?state=firing`, { headers: auth })).json()) as { alerts: Alert[] };
      const a = body.alerts.find((x) => x.rule === 'ThrottleRateHigh' && x.labels.connector === CONNECTOR && x.labels.action === 'ListInvoices');
      return a;
    }, 480);
    expect(firing.labels.kind).toBe('read');

    const assessment = await eventually(async () => {
      const res = await fetch(`${pipeline.url('risk-scorer')}/v1/risk/assessments/${CONNECTOR}/${NEW_VERSION}`, { headers: auth });
      if (res.status !== 200) return undefined;
      const body = (await res.json()) as { previousVersion: string; level: string; missing: string[]; features: Record<string, number> };
      return body.missing.length === 0 ? body : undefined;
    }, 480);
    expect(assessment.previousVersion).toBe(OLD_VERSION);
    expect(['low', 'medium', 'high']).toContain(assessment.level);
    // Telemetry features come from the prior version's live traffic, which had the surge.
    expect(assessment.features.priorThrottleRate).toBeGreaterThan(0);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    await page.goto(`${pipeline.dashboard.url}/?refresh=1000`);
    await signIn(page, key);
    const alertRow = page.locator('#alerts tbody tr[data-rule="ThrottleRateHigh"][data-state="firing"]').first();
    await alertRow.waitFor({ timeout: 30_000 });
    expect(await alertRow.textContent()).toContain(CONNECTOR);
    const riskRow = page.locator(`#assessments tbody tr[data-connector="${CONNECTOR}"][data-version="${NEW_VERSION}"]`);
    await riskRow.waitFor({ timeout: 30_000 });
    await expect(riskRow.getAttribute('data-level')).resolves.toBe(assessment.level);
    expect(await riskRow.textContent()).toContain(OLD_VERSION);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'demo.png'), fullPage: true });
    await page.close();

    stop.abort();
    const summary = await demo;
    expect(summary.problems).toEqual([]);
    expect(summary.aborted).toBe(true);
    expect(summary.spans.failed).toBe(0);
    expect(summary.spans.exported).toBe(summary.spans.recorded);
    expect(summary.model?.version).toBeTypeOf('string');
    // Every span the demo recorded is counted by the aggregator, exactly.
    const total = Object.values(summary.calls).reduce((a, c) => a + c.calls, 0);
    expect(total).toBe(summary.spans.recorded);
    await eventually(async () => {
      const body = (await (await fetch(`${pipeline.url('aggregator')}/v1/connectors/${CONNECTOR}/metrics?window=1h`, { headers: auth })).json()) as { calls: number; throttled: number };
      return body.calls === total ? body : undefined;
    }).then((body) => expect(body.throttled).toBe(Object.values(summary.calls).reduce((a, c) => a + c.throttled, 0)));
    expect(lines.some((l) => l.startsWith('risk assessment ContosoSales 1.2.0'))).toBe(true);
  });
});
