import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { MemoryBus } from '@pulsegate/bus';
import { Topics, type MetricSnapshot } from '@pulsegate/events';
import { createLogger } from '@pulsegate/logging';
import { MemoryWindowStore } from '@pulsegate/windows';
import { loadConfig } from '../src/config';
import { createAggregatorService, type AggregatorService } from '../src/service';
import { invocation, packed, traffic } from './builders';
import { checkApiAgainstReference, expectMetrics, get, openapi } from './metrics-suite';
import { catalogFor, DEFAULT_TENANT, workload } from './fixtures';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// A fixed "now" 30.5 minutes into an hour: windows and plans are reproducible.
const NOW = Math.floor(Date.now() / HOUR) * HOUR + 30 * 60_000 + 30_000;
const logger = createLogger({ name: 'aggregator-test', level: 'silent' });

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond(), what).toBe(true);
}

const catalog = catalogFor(NOW);

describe('aggregator service, embedded (MemoryBus + memory window store)', () => {
  const events = workload(NOW);
  const dropped = [invocation({ tenant: DEFAULT_TENANT, eventTime: NOW - 40 * DAY }), invocation({ tenant: DEFAULT_TENANT, eventTime: NOW + HOUR })];
  const accepted = events.filter((e) => e.eventTime >= NOW - 35 * DAY - HOUR && Math.floor(e.eventTime / HOUR) * HOUR + HOUR + 35 * DAY > NOW);
  let bus: MemoryBus;
  let svc: AggregatorService;

  beforeAll(async () => {
    bus = new MemoryBus({ maxBatchRecords: 20 });
    const config = loadConfig({ SNAPSHOT_INTERVAL_SECONDS: '3600' });
    svc = await createAggregatorService({ bus, logger, config, store: new MemoryWindowStore({ clock: () => NOW }), clock: () => NOW });
    const before = await request(svc.app).get('/readyz');
    expect(before.status).toBe(503);
    expect(openapi.check('GET', '/readyz', 503, before.body)).toEqual([]);
    await svc.start();
    await bus.publish(Topics.catalog, [{ key: 'default/crm', value: JSON.stringify(catalog) }]);
    // A poison record between good ones: dead-lettered, the good ones all counted.
    const records = packed([...events, ...dropped], 150);
    await bus.publish(Topics.invocations, records.slice(0, 10));
    await bus.publish(Topics.invocations, [{ key: 'default\u001fcrm', value: '{"format":"pulsegate.invocation-batch","v":1,"events":[{"schemaVersion":1}]}' }]);
    await bus.publish(Topics.invocations, records.slice(10));
    await until(() => svc.stats.appliedEvents === events.length + dropped.length, 'all events applied');
    await until(() => bus.recordsIn(Topics.catalog).length === 1, 'catalog published');
    await until(() => svc.store !== undefined, 'store');
    // The catalog consumer runs on its own subscription; wait for it to land.
    for (let i = 0; i < 200 && (await svc.store.getCatalog(DEFAULT_TENANT, 'crm')) === null; i++) await new Promise((r) => setTimeout(r, 5));
  });
  afterAll(async () => {
    await svc.stop();
    await svc.stop();
    await bus.close();
  });

  it('is live and ready once started', async () => {
    await get(svc.app, '/healthz');
    expect(await get(svc.app, '/readyz')).toEqual({ status: 'ready' });
    expect(svc.isReady()).toBe(true);
  });

  it('answers every metric exactly like the reference computed from the same events', async () => {
    expect(accepted.length).toBeGreaterThan(0);
    await checkApiAgainstReference(svc.app, events, { tenant: DEFAULT_TENANT, now: NOW, catalog });
  });

  it('counts late and future events as dropped and dead-letters the undecodable record', async () => {
    expect(svc.stats.droppedLate + svc.stats.droppedFuture).toBeGreaterThanOrEqual(2);
    const list = await get(svc.app, '/v1/connectors?window=30d');
    const crm = (list.connectors as Array<{ connector: string; dropped: { late: number; future: number } }>).find((c) => c.connector === 'crm')!;
    const expectLate = [...events, ...dropped].filter((e) => e.tenant === DEFAULT_TENANT && e.connector === 'crm' && Math.floor(e.eventTime / HOUR) * HOUR + HOUR + 35 * DAY <= NOW).reduce((a, e) => a + e.sampleWeight, 0);
    expect(crm.dropped).toEqual({ late: expectLate, future: 1, duplicates: 0 });
    const dlq = bus.recordsIn(Topics.invocationsDeadLetter);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.headers['x-dlq-reason']).toMatch(/event 0/);
  });

  it('falls back to the highest version seen when no catalog is registered', async () => {
    const v = await get(svc.app, '/v1/connectors/billing/versions');
    expect(v).toMatchObject({ latest: '2.1.0', latestSource: 'observed', deprecatedShare: 0, latestMinorReleasedAt: null });
    const crm = await get(svc.app, '/v1/connectors/crm/versions');
    expect(crm).toMatchObject({ latest: '2.1.0', latestSource: 'catalog', latestMinorReleasedAt: NOW - 5 * DAY });
  });

  it("lists a connector's actions with exactly the kinds and versions its events had", async () => {
    for (const connector of ['crm', 'billing']) {
      const mine = accepted.filter((e) => e.tenant === DEFAULT_TENANT && e.connector === connector);
      const want = [...new Set(mine.map((e) => e.action))].sort().map((action) => {
        const of = mine.filter((e) => e.action === action);
        return { action, kinds: [...new Set(of.map((e) => e.kind))].sort(), versions: [...new Set(of.map((e) => e.connectorVersion))].sort() };
      });
      expect(want.length).toBeGreaterThan(0);
      expect(await get(svc.app, `/v1/connectors/${connector}/actions`)).toEqual({ connector, actions: want });
    }
    await get(svc.app, '/v1/connectors/nope/actions', 404);
  });

  it('reports stale series', async () => {
    const stale = await get(svc.app, '/v1/stale-series?days=1');
    const series = stale.series as Array<{ connector: string; lastSeen: number; idleDays: number }>;
    for (const s of series) expect(s.lastSeen).toBeLessThan(NOW - DAY);
    expect(stale.connectors).toEqual([]);
    const none = await get(svc.app, '/v1/stale-series');
    expect(none).toMatchObject({ days: 90, series: [], connectors: [] });
  });

  it('publishes a snapshot per active series and an adoption snapshot per connector', async () => {
    const n = await svc.snapshots.publishOnce();
    const snaps = bus.recordsIn(Topics.metrics).map((r) => JSON.parse(r.value.toString()) as MetricSnapshot);
    expect(snaps).toHaveLength(n);
    const series = snaps.filter((s) => s.type === 'series');
    const adoption = snaps.filter((s) => s.type === 'adoption');
    expect(adoption.map((a) => `${a.tenant}/${a.connector}`).sort()).toEqual(['default/billing', 'default/crm', 'globex/billing', 'globex/crm']);
    const one = series.find((s) => s.tenant === DEFAULT_TENANT && s.connector === 'crm')!;
    expect(Object.keys(one.windows).sort()).toEqual(['1h', '5m']);
    const body = { ...one.windows['1h']!, connector: 'crm' } as unknown as Record<string, unknown>;
    expectMetrics({ ...body, throttledPerHour: body.throttled }, events, { tenant: DEFAULT_TENANT, connector: 'crm', action: one.action, version: one.version, kind: one.kind }, 'snapshot 1h');
    const crm = adoption.find((a) => a.tenant === DEFAULT_TENANT && a.connector === 'crm')!;
    const api = await get(svc.app, '/v1/connectors/crm/versions?window=30d');
    expect(crm.latestMinorShare).toBe(api.latestMinorShare);
    // recentCalls: calls per version over the series snapshots' 5-minute window, counted from the events.
    const w5 = one.windows['5m']!;
    expect(crm.recentWindow).toBe('5m');
    const recent = (version: string): number =>
      events.filter((e) => e.tenant === DEFAULT_TENANT && e.connector === 'crm' && e.connectorVersion === version && e.eventTime >= w5.from && e.eventTime < w5.to).reduce((sum, e) => sum + e.sampleWeight, 0);
    expect(crm.versions.length).toBeGreaterThan(0);
    expect(crm.versions.some((v) => (v.recentCalls ?? 0) > 0)).toBe(true);
    for (const v of crm.versions) expect(v.recentCalls, v.version).toBe(recent(v.version));
  });

  it('keeps tenants apart: the default tenant never sees globex calls', async () => {
    const all = await get(svc.app, '/v1/connectors/crm/metrics?window=30d');
    expectMetrics(all, events, { tenant: DEFAULT_TENANT, connector: 'crm' }, 'default crm 30d');
    const withGlobex = events.filter((e) => e.connector === 'crm' && e.eventTime >= (all.from as number) && e.eventTime < (all.to as number));
    expect(all.calls as number).toBeLessThan(withGlobex.reduce((a, e) => a + e.sampleWeight, 0));
  });

  it('rejects bad parameters with 400 in the error schema', async () => {
    for (const path of [
      '/v1/connectors/crm/metrics?window=2m',
      '/v1/connectors/crm/metrics?kind=delete',
      '/v1/connectors/crm/metrics?from=10&to=5',
      '/v1/connectors/crm/metrics?from=10',
      '/v1/connectors/crm/metrics?window=1h&from=1&to=2',
      '/v1/connectors/crm/metrics?from=yesterday&to=now',
      `/v1/connectors/crm/metrics?from=0&to=${NOW}`,
      `/v1/connectors/crm/metrics?action=${'x'.repeat(300)}`,
      '/v1/connectors/crm/metrics?window=1h&window=5m',
      '/v1/connectors/crm/timeseries?metric=p42',
      '/v1/connectors/crm/timeseries?step=1m&window=7d',
      '/v1/connectors/crm/timeseries?step=2m',
      '/v1/connectors/crm/versions?window=90d',
      '/v1/stale-series?days=0',
      '/v1/connectors?window=1y',
    ]) {
      const body = await get(svc.app, path, 400);
      expect((body.error as { code: string }).code).toBe('INVALID_ARGUMENT');
      expect(JSON.stringify(body)).not.toMatch(/at .*\.ts/);
    }
    const nf = await get(svc.app, '/v1/connectors/nope/metrics', 404);
    expect((nf.error as { message: string }).message).toMatch(/nope/);
    await get(svc.app, '/v1/connectors/nope/versions', 404);
    await get(svc.app, '/v1/connectors/nope/timeseries', 404);
    const res = await request(svc.app).get('/v2/whatever');
    expect(res.status).toBe(404);
  });
});

describe('aggregator service, auth and tenant isolation', () => {
  const keys = JSON.stringify([
    { key: 'acme-key', tenant: 'acme', scopes: ['metrics.read'] },
    { key: 'globex-key', tenant: 'globex', scopes: ['metrics.read'] },
    { key: 'ingest-only', tenant: 'acme', scopes: ['ingest'] },
  ]);
  let bus: MemoryBus;
  let svc: AggregatorService;
  const events = [...traffic(500, 7, NOW - HOUR, NOW, { tenants: ['acme'], connectors: ['crm'] }), ...traffic(300, 8, NOW - HOUR, NOW, { tenants: ['globex'], connectors: ['crm', 'erp'] })];

  beforeAll(async () => {
    bus = new MemoryBus();
    svc = await createAggregatorService({ bus, logger, config: loadConfig({ PULSEGATE_API_KEYS: keys }), store: new MemoryWindowStore({ clock: () => NOW }), clock: () => NOW });
    await svc.start();
    await bus.publish(Topics.invocations, packed(events, 100));
    await until(() => svc.stats.appliedEvents === events.length, 'applied');
  });
  afterAll(async () => {
    await svc.stop();
    await bus.close();
  });

  it('shows each key only its own tenant', async () => {
    const a = await get(svc.app, '/v1/connectors/crm/metrics?window=1h', 200, { authorization: 'Bearer acme-key' });
    expectMetrics(a, events, { tenant: 'acme', connector: 'crm' }, 'acme crm');
    const g = await get(svc.app, '/v1/connectors/crm/metrics?window=1h', 200, { 'x-api-key': 'globex-key' });
    expectMetrics(g, events, { tenant: 'globex', connector: 'crm' }, 'globex crm');
    await get(svc.app, '/v1/connectors/erp/metrics', 404, { authorization: 'Bearer acme-key' });
    const list = await get(svc.app, '/v1/connectors', 200, { authorization: 'Bearer acme-key' });
    expect((list.connectors as Array<{ connector: string }>).map((c) => c.connector)).toEqual(['crm']);
  });

  it('refuses missing, unknown and under-scoped keys', async () => {
    expect(((await get(svc.app, '/v1/connectors', 401)).error as { code: string }).code).toBe('UNAUTHORIZED');
    await get(svc.app, '/v1/connectors', 401, { authorization: 'Bearer wrong' });
    expect(((await get(svc.app, '/v1/connectors', 403, { authorization: 'Bearer ingest-only' })).error as { code: string }).code).toBe('FORBIDDEN');
    await get(svc.app, '/healthz');
  });
});

describe('aggregator configuration', () => {
  it('names the variable in every error', () => {
    expect(() => loadConfig({ PORT: 'x' })).toThrow(/PORT/);
    expect(() => loadConfig({ SNAPSHOT_INTERVAL_SECONDS: '0' })).toThrow(/SNAPSHOT_INTERVAL_SECONDS/);
    expect(() => loadConfig({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:1,b' })).toThrow(/REDIS_CLUSTER_NODES/);
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/PULSEGATE_ALLOW_ANONYMOUS/);
    expect(() => loadConfig({ MINUTE_RETENTION_HOURS: '240', HOUR_RETENTION_DAYS: '5' })).toThrow(/MINUTE_RETENTION_HOURS/);
    expect(() => loadConfig({ AGGREGATOR_READ_LEGACY_BUCKETS: 'yes' })).toThrow(/AGGREGATOR_READ_LEGACY_BUCKETS/);
    expect(loadConfig({ AGGREGATOR_READ_LEGACY_BUCKETS: 'false' }).readLegacyBuckets).toBe(false);
    expect(loadConfig({}).readLegacyBuckets).toBe(true);
    expect(loadConfig({ HOST: '0.0.0.0', PULSEGATE_ALLOW_ANONYMOUS: 'true' }).allowAnonymous).toBe(true);
    expect(loadConfig({})).toMatchObject({ port: 8081, snapshotIntervalMs: 10_000, staleAfterDays: 90, kafkaBrokers: [], redisUrl: null, groupId: 'pulsegate-aggregator' });
    expect(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000, 127.0.0.1:7001' }).redisClusterNodes).toEqual([
      { host: '127.0.0.1', port: 7000 },
      { host: '127.0.0.1', port: 7001 },
    ]);
  });
});
