import { expect } from 'vitest';
import request from 'supertest';
import type { Express } from 'express';
import type { CatalogEvent, InvocationEvent } from '@pulsegate/events';
import { OpenApiChecker } from '@pulsegate/testkit';
import { referenceMetrics, referenceVersions, select } from './reference';

export const openapi = new OpenApiChecker(new URL('../openapi.yaml', import.meta.url).pathname);

const ALPHA = 0.01;

/** GETs a path, checks the answer against the OpenAPI document, returns the body. */
export async function get(app: Express, path: string, status = 200, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const res = await request(app).get(path).set(headers);
  expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(status);
  expect(openapi.check('GET', path, res.status, res.body)).toEqual([]);
  return res.body as Record<string, unknown>;
}

function expectQuantile(got: unknown, want: number | null, what: string): void {
  if (want === null) return void expect(got, what).toBeNull();
  expect(typeof got, what).toBe('number');
  expect(Math.abs((got as number) - want) / want, `${what}: got ${String(got)} want ${want}`).toBeLessThanOrEqual(ALPHA);
}

/** Checks every number of one metrics answer against the exact reference over its own from/to. */
export function expectMetrics(body: Record<string, unknown>, events: readonly InvocationEvent[], sel: Omit<ReturnType<typeof selOf>, 'from' | 'to'>, label: string): void {
  const from = body.from as number;
  const to = body.to as number;
  const ref = referenceMetrics(events, { ...sel, from, to });
  expect(ref.calls, `${label}: the reference selects nothing, the case tests nothing`).toBeGreaterThan(0);
  expect(body.calls, label).toBe(ref.calls);
  expect(body.successes, label).toBe(ref.successes);
  expect(body.successRate, label).toBe(ref.successRate);
  expect(body.throttled, label).toBe(ref.throttled);
  expect(body.throttleRate, label).toBe(ref.throttleRate);
  expect(body.throttledPerHour as number, label).toBeCloseTo(ref.throttledPerHour, 9);
  expect(body.errorCodes, label).toEqual(ref.errorCodes);
  expect(body.errorMappingCoverage, label).toBe(ref.errorMappingCoverage);
  const lat = body.latencyMs as Record<string, unknown>;
  expectQuantile(lat.p50, ref.latencyMs.p50, `${label} p50`);
  expectQuantile(lat.p95, ref.latencyMs.p95, `${label} p95`);
  expectQuantile(lat.p99, ref.latencyMs.p99, `${label} p99`);
}

function selOf(tenant: string, connector: string, q: { action?: string; version?: string; kind?: 'read' | 'write' }) {
  return { tenant, connector, ...q, from: 0, to: 0 };
}

/**
 * The API answers for `tenant` compared with references computed from `events`: every window,
 * filters, custom ranges, versions, timeseries points and the connector listing.
 */
export async function checkApiAgainstReference(app: Express, events: readonly InvocationEvent[], opts: { tenant: string; now: number; catalog: CatalogEvent | null; headers?: Record<string, string> }): Promise<void> {
  const h = opts.headers ?? {};
  const t = opts.tenant;
  for (const window of ['1m', '5m', '15m', '1h', '6h', '24h', '7d', '30d']) {
    const body = await get(app, `/v1/connectors/crm/metrics?window=${window}`, 200, h);
    expect(body).toMatchObject({ connector: 'crm', window, action: null, version: null, kind: null });
    expectMetrics(body, events, selOf(t, 'crm', {}), `crm ${window}`);
  }
  const filtered: Array<[string, { action?: string; version?: string; kind?: 'read' | 'write' }]> = [
    ['window=1h&kind=read', { kind: 'read' }],
    ['window=24h&kind=write&action=createContact', { kind: 'write', action: 'createContact' }],
    ['window=7d&version=1.2.0', { version: '1.2.0' }],
    ['window=30d&action=getInvoice&version=2.1.0&kind=read', { action: 'getInvoice', version: '2.1.0', kind: 'read' }],
  ];
  for (const [q, f] of filtered) expectMetrics(await get(app, `/v1/connectors/billing/metrics?${q}`, 200, h), events, selOf(t, 'billing', f), `billing ${q}`);

  // A custom range across hour edges, partly older than the minute retention.
  const now = opts.now;
  const from = now - 3 * 86_400_000 - 17 * 60_000;
  const to = now - 2 * 3_600_000 - 43 * 60_000;
  const custom = await get(app, `/v1/connectors/crm/metrics?from=${from}&to=${new Date(to).toISOString()}`, 200, h);
  expect(custom.window).toBe('custom');
  expect(custom.from as number).toBeLessThanOrEqual(from);
  expect(custom.to as number).toBeGreaterThanOrEqual(to);
  expectMetrics(custom, events, selOf(t, 'crm', {}), 'crm custom');

  // Versions over 30 days.
  const v = await get(app, '/v1/connectors/crm/versions?window=30d', 200, h);
  const refV = referenceVersions(events, { tenant: t, connector: 'crm', from: v.from as number, to: v.to as number }, opts.catalog, now);
  expect(v.latest).toBe(refV.latest);
  expect(v.latestMinorShare).toBeCloseTo(refV.latestMinorShare!, 12);
  expect(v.deprecatedShare).toBeCloseTo(refV.deprecatedShare!, 12);
  const versions = v.versions as Array<{ version: string; calls: number; share: number; deprecated: boolean }>;
  expect(Object.fromEntries(versions.map((x) => [x.version, { calls: x.calls, share: x.share, deprecated: x.deprecated }]))).toEqual(refV.versions);

  // Timeseries: every point is the reference over the point's own range.
  for (const [metric, step, window] of [
    ['calls', '1m', '1h'],
    ['p95', '5m', '6h'],
    ['throttleRate', '1h', '7d'],
  ] as const) {
    const ts = await get(app, `/v1/connectors/crm/timeseries?metric=${metric}&step=${step}&window=${window}`, 200, h);
    const points = ts.points as Array<{ from: number; to: number; value: number | null }>;
    expect(points.length).toBeGreaterThan(0);
    let nonEmpty = 0;
    for (const p of points) {
      const ref = referenceMetrics(events, { tenant: t, connector: 'crm', from: p.from, to: p.to });
      if (ref.calls > 0) nonEmpty++;
      if (metric === 'calls') expect(p.value).toBe(ref.calls);
      else if (metric === 'throttleRate') expect(p.value).toBe(ref.throttleRate);
      else expectQuantile(p.value, ref.latencyMs.p95, `timeseries p95 at ${p.from}`);
    }
    expect(nonEmpty).toBeGreaterThan(0);
  }

  // Listing: both connectors with their calls over the last hour.
  const list = await get(app, '/v1/connectors?window=1h', 200, h);
  const conns = list.connectors as Array<{ connector: string; calls: number }>;
  for (const c of ['billing', 'crm']) {
    const want = select(events, { tenant: t, connector: c, from: list.from as number, to: list.to as number }).reduce((a, e) => a + e.sampleWeight, 0);
    expect(conns.find((x) => x.connector === c)?.calls).toBe(want);
  }
}
