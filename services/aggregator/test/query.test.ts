import { describe, expect, it } from 'vitest';
import request from 'supertest';
import { KeyRing } from '@pulsegate/http-kit';
import { createLogger } from '@pulsegate/logging';
import { DEFAULT_WINDOW_CONFIG, MemoryWindowStore } from '@pulsegate/windows';
import type { InvocationEvent } from '@pulsegate/events';
import { createApp } from '../src/app';
import { MetricsQueries, namedRange, QueryTooLarge, type QueryLimits } from '../src/query';
import { invocation } from './builders';
import { openapi } from './metrics-suite';
import { referenceMetrics, referenceVersions } from './reference';

const HOUR = 3_600_000;
const NOW = Math.floor(Date.now() / HOUR) * HOUR + 30 * 60_000;
const SERIES = 437;

/** `SERIES` series on one connector (one action each, 7 versions), three calls each over the last 50 minutes. */
async function storeWithSeries(): Promise<{ store: MemoryWindowStore; events: InvocationEvent[] }> {
  const store = new MemoryWindowStore({ clock: () => NOW });
  const events = Array.from({ length: SERIES * 3 }, (_, i) =>
    invocation({ tenant: 'acme', connector: 'crm', action: `a${i % SERIES}`, connectorVersion: `${(i % SERIES) % 7}.0.0`, httpStatus: i % 11 === 0 ? 500 : 200, latencyMs: 1 + (i % 97), eventTime: NOW - 60_000 * (1 + (i % 50)) }),
  );
  await store.apply({ source: 's', partition: 0, firstOffset: '0', lastOffset: '0', records: [{ offset: '0', events }] });
  return { store, events };
}

const queriesOf = (store: MemoryWindowStore, limits: Partial<QueryLimits> = {}) => new MetricsQueries(store, DEFAULT_WINDOW_CONFIG, () => NOW, 0, limits);

/** Counts event-loop turns (setImmediate callbacks) while `run` is in flight. */
async function turnsDuring<T>(run: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let done = false;
  const tick = (): void => {
    if (done) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return { result: await run(), turns };
  } finally {
    done = true;
  }
}

describe('MetricsQueries over many series, read in chunks', () => {
  it('merges every chunk exactly like the reference: metrics, versions and a timeseries', async () => {
    const { store, events } = await storeWithSeries();
    const queries = queriesOf(store, { chunkBuckets: 500 });
    expect((await queries.series('acme', 'crm'))!.length).toBe(SERIES);
    const range = namedRange('1h', NOW);
    const got = await queries.metrics('acme', 'crm', {}, range);
    const want = referenceMetrics(events, { tenant: 'acme', connector: 'crm', from: range.from, to: range.to });
    expect(got!.calls).toBe(want.calls);
    expect(got!.successes).toBe(want.successes);
    expect(got!.errorCodes).toEqual(want.errorCodes);
    const versions = await queries.versions('acme', 'crm', range);
    const wantVersions = referenceVersions(events, { tenant: 'acme', connector: 'crm', from: range.from, to: range.to }, null, NOW);
    expect(Object.fromEntries(versions!.versions.map((v) => [v.version, v.calls]))).toEqual(Object.fromEntries(Object.entries(wantVersions.versions).map(([v, x]) => [v, x.calls])));
    const ts = await queries.timeseries('acme', 'crm', {}, 'calls', { name: '1m', ms: 60_000 }, range);
    expect(ts!.points).toHaveLength(60);
    for (const p of ts!.points) expect(p.value).toBe(referenceMetrics(events, { tenant: 'acme', connector: 'crm', from: p.from, to: p.to }).calls);
  });

  it('gives the event loop a turn between chunks: other callbacks run while a big query is computed', async () => {
    const { store } = await storeWithSeries();
    const range = namedRange('1h', NOW);
    // 437 series × 60 minute buckets = 26 220 reads; 500 per chunk → at least 50 chunks. The memory
    // store answers without I/O, so without the yields nothing else would run until the end.
    const queries = queriesOf(store, { chunkBuckets: 500 });
    const chunks = Math.floor((SERIES * 60) / 500);
    const m = await turnsDuring(() => queries.metrics('acme', 'crm', {}, range));
    expect(m.result!.calls).toBe(SERIES * 3);
    expect(m.turns).toBeGreaterThanOrEqual(chunks / 2);
    const ts = await turnsDuring(() => queries.timeseries('acme', 'crm', {}, 'p95', { name: '1m', ms: 60_000 }, range));
    expect(ts.result!.points).toHaveLength(60);
    expect(ts.turns).toBeGreaterThanOrEqual(chunks / 2);
    const v = await turnsDuring(() => queries.versions('acme', 'crm', range));
    expect(v.result!.versions).toHaveLength(7);
    expect(v.turns).toBeGreaterThanOrEqual(chunks / 2);
  });

  it('refuses a query over its limits before reading: too many series, too many bucket reads', async () => {
    const { store } = await storeWithSeries();
    const range = namedRange('30d', NOW);
    await expect(queriesOf(store, { maxSeries: 400 }).metrics('acme', 'crm', {}, range)).rejects.toThrow(/selects 437 series; at most 400 \(QUERY_MAX_SERIES\)/);
    // A filter brings it under the series limit.
    expect((await queriesOf(store, { maxSeries: 400 }).metrics('acme', 'crm', { version: '1.0.0' }, range))!.calls).toBeGreaterThan(0);
    // 30 days = 721 hour buckets (plus minutes of the current hour) per series.
    await expect(queriesOf(store, { maxBucketReads: 300_000 }).metrics('acme', 'crm', {}, range)).rejects.toThrow(QueryTooLarge);
    await expect(queriesOf(store, { maxBucketReads: 300_000 }).versions('acme', 'crm', range)).rejects.toThrow(/bucket reads .*QUERY_MAX_BUCKET_READS/);
    await expect(queriesOf(store, { maxBucketReads: 20_000 }).timeseries('acme', 'crm', {}, 'calls', { name: '1m', ms: 60_000 }, namedRange('1h', NOW))).rejects.toThrow(/26220 bucket reads/);
  });
});

describe('the HTTP API over the limits', () => {
  const logger = createLogger({ name: 'query-test', level: 'silent' });
  const appOf = (queries: MetricsQueries) => createApp({ queries, keys: new KeyRing([], 'acme'), logger, isReady: async () => true, maxRangeMs: 35 * 24 * HOUR, staleAfterDays: 90 });

  it('answers 422 QUERY_TOO_LARGE in the error schema, as the OpenAPI document says', async () => {
    const { store } = await storeWithSeries();
    const app = appOf(queriesOf(store, { maxSeries: 100, maxBucketReads: 50_000 }));
    for (const path of ['/v1/connectors/crm/metrics?window=1h', '/v1/connectors/crm/version-sketches?versions=1.0.0,2.0.0&window=1h', '/v1/connectors/crm/versions?window=1h', '/v1/connectors/crm/timeseries?window=1h&step=1m', '/v1/connectors?window=30d']) {
      const res = await request(app).get(path);
      expect(res.status, path).toBe(422);
      expect(res.body.error.code).toBe('QUERY_TOO_LARGE');
      expect(res.body.error.message).toMatch(/QUERY_MAX_SERIES|QUERY_MAX_BUCKET_READS/);
      expect(typeof res.body.error.correlationId).toBe('string');
      expect(openapi.check('GET', path, 422, res.body), path).toEqual([]);
    }
    // Narrowed by version (≤ 63 series), the same query is answered.
    const ok = await request(app).get('/v1/connectors/crm/metrics?window=1h&version=2.0.0');
    expect(ok.status).toBe(200);
    expect(openapi.check('GET', '/v1/connectors/crm/metrics?window=1h&version=2.0.0', 200, ok.body)).toEqual([]);
  });

  it('pages /v1/connectors with limit and after', async () => {
    const store = new MemoryWindowStore({ clock: () => NOW });
    const events = ['c1', 'c2', 'c3', 'c4', 'c5'].map((connector) => invocation({ tenant: 'acme', connector, eventTime: NOW - 120_000 }));
    await store.apply({ source: 's', partition: 0, firstOffset: '0', lastOffset: '0', records: [{ offset: '0', events }] });
    const app = appOf(queriesOf(store));
    const seen: string[] = [];
    let after: string | null = '';
    for (let page = 0; after !== null && page < 10; page++) {
      const path = `/v1/connectors?window=1h&limit=2${after === '' ? '' : `&after=${after}`}`;
      const res = await request(app).get(path);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(openapi.check('GET', path, 200, res.body)).toEqual([]);
      expect(res.body.connectors.length).toBeLessThanOrEqual(2);
      seen.push(...(res.body.connectors as Array<{ connector: string }>).map((c) => c.connector));
      after = res.body.next as string | null;
    }
    expect(seen).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
    expect((await request(app).get('/v1/connectors?limit=0')).status).toBe(400);
  });
});
