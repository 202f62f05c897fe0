import { afterEach, describe, expect, it } from 'vitest';
import request from 'supertest';
import { MemoryBus } from '@pulsegate/bus';
import { Topics, type InvocationEvent } from '@pulsegate/events';
import { createLogger } from '@pulsegate/logging';
import { parsePrometheusText, sampleValue, type ParsedSample } from '@pulsegate/telemetry';
import { MemoryWindowStore, type ApplyInput, type ApplyResult } from '@pulsegate/windows';
import { loadConfig } from '../src/config';
import { namedRange } from '../src/query';
import { createAggregatorService, type AggregatorService } from '../src/service';
import { invocation, packed, traffic } from './builders';
import { openapi } from './metrics-suite';
import { referenceMetrics } from './reference';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Math.floor(Date.now() / HOUR) * HOUR + 30 * 60_000 + 30_000;
const logger = createLogger({ name: 'aggregator-metrics-test', level: 'silent' });
const LABELS = ['tenant', 'connector', 'action', 'version', 'kind'] as const;

/** A memory store whose first `failures` applies fail like a lost Redis connection. */
class FlakyStore extends MemoryWindowStore {
  constructor(private failures: number) {
    super({ clock: () => NOW });
  }
  override async apply(input: ApplyInput): Promise<ApplyResult> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('connection lost');
    }
    return super.apply(input);
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond(), what).toBe(true);
}

async function scrape(svc: AggregatorService, key?: string): Promise<{ status: number; samples: ParsedSample[]; body: unknown }> {
  let req = request(svc.app).get('/metrics');
  if (key !== undefined) req = req.set('x-api-key', key);
  const res = await req;
  expect(openapi.check('GET', '/metrics', res.status, res.body)).toEqual([]);
  if (res.status === 200) expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return { status: res.status, samples: res.status === 200 ? parsePrometheusText(res.text) : [], body: res.body };
}

const seriesId = (l: Record<string, string>) => LABELS.map((k) => l[k]).join('|');

describe('GET /metrics (aggregator)', () => {
  let svc: AggregatorService | null = null;
  let bus: MemoryBus | null = null;
  afterEach(async () => {
    await svc?.stop();
    await bus?.close();
    svc = null;
    bus = null;
  });

  async function run(events: InvocationEvent[], env: Record<string, string>, store = new MemoryWindowStore({ clock: () => NOW })): Promise<AggregatorService> {
    bus = new MemoryBus({ maxBatchRecords: 4 });
    svc = await createAggregatorService({ bus, logger, config: loadConfig({ SNAPSHOT_INTERVAL_SECONDS: '3600', ...env }), store, clock: () => NOW });
    await svc.start();
    await bus.publish(Topics.invocations, packed(events, 40));
    const s = svc;
    await until(() => s.stats.appliedEvents === events.length, 'all events applied');
    return s;
  }

  it('reports consumer totals, apply latency, store errors and the connector KPIs of the traffic sent', async () => {
    const recent = traffic(800, 11, NOW - 9 * 60_000, NOW, { tenants: ['default', 'globex'], connectors: ['crm', 'billing'], weights: true });
    const older = traffic(300, 12, NOW - 2 * HOUR, NOW - 10 * 60_000, { tenants: ['default'], connectors: ['crm'] });
    const dropped = [invocation({ tenant: 'default', connector: 'crm', eventTime: NOW - 40 * DAY }), invocation({ tenant: 'default', connector: 'crm', eventTime: NOW + HOUR })];
    const events = [...recent, ...older, ...dropped];
    const s = await run(events, {}, new FlakyStore(2));
    const { samples } = await scrape(s);
    const v = (name: string, labels?: Record<string, string>) => sampleValue(samples, name, labels);

    expect(v('pulsegate_aggregator_events_applied_total')).toBe(events.length);
    expect(v('pulsegate_aggregator_events_replayed_total')).toBe(0);
    expect(v('pulsegate_aggregator_events_dropped_total', { reason: 'late' })).toBe(1);
    expect(v('pulsegate_aggregator_events_dropped_total', { reason: 'future' })).toBe(1);
    const batches = v('pulsegate_aggregator_batches_total')!;
    expect(batches).toBe(s.stats.batches);
    expect(batches).toBeGreaterThan(1);
    expect(v('pulsegate_aggregator_store_calls_total')).toBe(s.stats.storeCalls);
    // Every successful apply is one histogram observation; the two failed ones are Redis errors.
    expect(v('pulsegate_aggregator_batch_apply_seconds_count')).toBe(batches);
    expect(v('pulsegate_aggregator_batch_apply_seconds_bucket', { le: '+Inf' })).toBe(batches);
    expect(v('pulsegate_aggregator_redis_errors_total', { operation: 'apply' })).toBe(2);
    expect(v('pulsegate_aggregator_ready')).toBe(1);
    expect(v('pulsegate_aggregator_kpi_series_capped')).toBe(0);
    // Everything published was handled: no lag on any of the memory bus's 4 partitions.
    const lag = samples.filter((x) => x.name === 'pulsegate_consumer_lag');
    expect(lag.map((x) => [x.labels.topic, x.labels.partition, x.value])).toEqual([0, 1, 2, 3].map((p) => [Topics.invocations, String(p), 0]));

    // KPI gauges: one sample per series with calls in the last 5 minutes, equal to the reference.
    const range = namedRange('5m', NOW);
    const want = new Map<string, ReturnType<typeof referenceMetrics>>();
    for (const e of events) {
      const id = [e.tenant, e.connector, e.action, e.connectorVersion, e.kind].join('|');
      if (want.has(id) || e.eventTime < range.from || e.eventTime >= range.to) continue;
      want.set(id, referenceMetrics(events, { tenant: e.tenant, connector: e.connector, action: e.action, version: e.connectorVersion, kind: e.kind, from: range.from, to: range.to }));
    }
    expect(want.size).toBeGreaterThan(20);
    const close = (got: number, want: number | null): void => expect(got).toBeCloseTo(want!, 12);
    const latency = (q: 'p50' | 'p95' | 'p99') => (got: number, ref: ReturnType<typeof referenceMetrics>) =>
      expect(Math.abs(got - ref.latencyMs[q]! / 1000) / (ref.latencyMs[q]! / 1000)).toBeLessThanOrEqual(0.01);
    const checks: Record<string, (got: number, ref: ReturnType<typeof referenceMetrics>) => void> = {
      pulsegate_connector_calls: (got, ref) => expect(got).toBe(ref.calls),
      pulsegate_connector_success_ratio: (got, ref) => close(got, ref.successRate),
      pulsegate_connector_throttle_ratio: (got, ref) => close(got, ref.throttleRate),
      pulsegate_connector_latency_p50_seconds: latency('p50'),
      pulsegate_connector_latency_p95_seconds: latency('p95'),
      pulsegate_connector_latency_p99_seconds: latency('p99'),
    };
    for (const [name, check] of Object.entries(checks)) {
      const got = samples.filter((x) => x.name === name);
      expect(got.map((x) => seriesId(x.labels)).sort(), name).toEqual([...want.keys()].sort());
      for (const x of got) check(x.value, want.get(seriesId(x.labels))!);
    }
    // Error calls by code and the mapping coverage, exactly as the reference computes them.
    for (const [id, ref] of want) {
      const mine = (name: string) => samples.filter((x) => x.name === name && seriesId(x.labels) === id);
      expect(Object.fromEntries(mine('pulsegate_connector_error_calls').map((x) => [x.labels.code, x.value]))).toEqual(ref.errorCodes);
      const coverage = mine('pulsegate_connector_error_mapping_coverage_ratio');
      if (ref.errorMappingCoverage === null) expect(coverage).toEqual([]);
      else close(coverage[0]!.value, ref.errorMappingCoverage);
    }
    // Version shares per connector: calls on the version / calls of the connector over the window.
    for (const [tenant, connector] of [...new Set([...want.keys()].map((id) => id.split('|').slice(0, 2).join('|')))].map((k) => k.split('|'))) {
      const inWindow = events.filter((e) => e.tenant === tenant && e.connector === connector && e.eventTime >= range.from && e.eventTime < range.to);
      const total = inWindow.reduce((n, e) => n + e.sampleWeight, 0);
      const shares = samples.filter((x) => x.name === 'pulsegate_connector_version_share_ratio' && x.labels.tenant === tenant && x.labels.connector === connector);
      expect(shares.length).toBeGreaterThan(0);
      for (const x of shares) {
        const calls = inWindow.filter((e) => e.connectorVersion === x.labels.version).reduce((n, e) => n + e.sampleWeight, 0);
        close(x.value, calls / total);
      }
      expect(sampleValue(samples, 'pulsegate_connector_latest_minor_share_ratio', { tenant: tenant!, connector: connector! })).toBeGreaterThanOrEqual(0);
    }
  });

  it('caps the KPI series and counts the rest', async () => {
    const events = traffic(400, 21, NOW - 4 * 60_000, NOW, { tenants: ['default'], connectors: ['crm', 'billing'] });
    const s = await run(events, { AGGREGATOR_METRICS_MAX_SERIES: '5' });
    const active = new Set(events.map((e) => [e.tenant, e.connector, e.action, e.connectorVersion, e.kind].join('|')));
    const { samples } = await scrape(s);
    expect(samples.filter((x) => x.name === 'pulsegate_connector_success_ratio')).toHaveLength(5);
    expect(samples.filter((x) => x.name === 'pulsegate_connector_calls')).toHaveLength(5);
    expect(sampleValue(samples, 'pulsegate_aggregator_kpi_series_capped')).toBe(active.size - 5);
  });

  it('reports the query cache warm-up: connectors warmed and passes; nothing with QUERY_CACHE_WARMUP=false', async () => {
    const events = traffic(300, 23, NOW - 3 * DAY, NOW, { tenants: ['default', 'globex'], connectors: ['crm', 'billing'] });
    const s = await run(events, {});
    // The pass at start may have run before the traffic: one more, now that every connector exists.
    await s.warmer!.runPass();
    const { samples } = await scrape(s);
    const connectors = new Set(events.map((e) => `${e.tenant}|${e.connector}`)).size;
    expect(sampleValue(samples, 'pulsegate_aggregator_query_cache_warm_connectors')).toBe(connectors);
    expect(sampleValue(samples, 'pulsegate_aggregator_query_cache_warmup_selected_connectors')).toBe(connectors);
    expect(sampleValue(samples, 'pulsegate_aggregator_query_cache_warming_connectors')).toBe(0);
    expect(sampleValue(samples, 'pulsegate_aggregator_query_cache_warmup_passes_total')).toBeGreaterThanOrEqual(1);
    await s.stop();
    await bus?.close();
    const off = await run(events, { QUERY_CACHE_WARMUP: 'false' });
    expect(off.warmer).toBeNull();
    expect((await scrape(off)).samples.filter((x) => x.name.startsWith('pulsegate_aggregator_query_cache_'))).toEqual([]);
  });

  it('needs an admin key when keys are configured', async () => {
    const keys = JSON.stringify([
      { key: 'reader', tenant: 'default', scopes: ['metrics.read'] },
      { key: 'ops', tenant: 'default', scopes: ['admin'] },
    ]);
    const s = await run([invocation({ tenant: 'default', eventTime: NOW - 60_000 })], { PULSEGATE_API_KEYS: keys });
    expect((await scrape(s)).status).toBe(401);
    const forbidden = await scrape(s, 'reader');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const ok = await scrape(s, 'ops');
    expect(ok.status).toBe(200);
    expect(sampleValue(ok.samples, 'pulsegate_aggregator_events_applied_total')).toBe(1);
    expect(sampleValue(ok.samples, 'pulsegate_connector_calls', { tenant: 'default', connector: 'crm' })).toBe(1);
  });
});
