/**
 * Freshness benchmark (prints figures; not part of the test suite). It drives the whole pipeline
 * (the embedded start, or ingest and aggregator as processes), so it lives at the repository root,
 * not under one service. Run from the repo root:
 *   npx tsx bench/freshness.ts            (both modes; or `npm run bench freshness`)
 *   FRESH_MODE=embedded npx tsx bench/freshness.ts
 * Measures the time from a span leaving the OpenTelemetry SDK exporter (an upper bound of "received
 * by ingest") to its call being visible in GET /v1/connectors/{c}/metrics, P50/P99, while background
 * invocation batches keep the aggregator at FRESH_LOAD events/s (default: half of the ~100k
 * events/s measured by services/aggregator/bench/aggregator.ts for the Kafka path; 25k for embedded):
 *  - embedded: startEmbedded() with the memory bus and memory window store;
 *  - distributed: ingest and aggregator as their own processes, the kcat mock broker and a
 *    redis-server started here.
 * Each probe is one span of a connector no other probe uses, exported by the real OTLP/HTTP
 * exporter; the API is polled every 5 ms.
 */
import { createBus, type Bus } from '@pulsegate/bus';
import { encodeInvocationBatch, errorCodeForStatus, outcomeFor, seriesKey, Topics, type InvocationEvent } from '@pulsegate/events';
import { createLogger } from '@pulsegate/logging';
import { freePort, startKafka, startRedis } from '@pulsegate/testkit';
import { startEmbedded } from '../apps/pulsegate/src/embedded';
import { exportCalls } from '../test/support/otel';
import { startService } from '../test/support/processes';

const PROBES = Number(process.env.FRESH_PROBES ?? 100);
const mode = process.env.FRESH_MODE ?? 'both';

let seq = 0;
/** Background traffic: batches of 500 events over 50 connectors, published straight onto the bus. */
function loadBatch(n: number): Array<{ key: string; value: Buffer }> {
  const now = Date.now();
  const byConn = new Map<string, InvocationEvent[]>();
  for (let i = 0; i < n; i++) {
    const c = `load-${seq % 50}`;
    const status = seq % 20 === 0 ? 500 : 200;
    const outcome = outcomeFor(status, false);
    const e: InvocationEvent = {
      schemaVersion: 1, tenant: 'default', connector: c, connectorVersion: '1.0.0', action: 'list', httpMethod: 'GET', kind: 'read',
      httpStatus: status, outcome, errorCode: outcome === 'success' ? null : errorCodeForStatus(status), latencyMs: 50 + (seq % 200),
      eventTime: now, correlationId: null, traceId: (++seq).toString(16).padStart(32, '0'), spanId: seq.toString(16).padStart(16, '0'), sampleWeight: 1,
    };
    (byConn.get(c) ?? byConn.set(c, []).get(c)!).push(e);
  }
  return [...byConn].map(([c, evs]) => ({ key: seriesKey('default', c), value: encodeInvocationBatch(evs) }));
}

/** Publishes `rate` events/s in 20 ms ticks until stopped. */
function startLoad(bus: Bus, rate: number): { stop(): Promise<void>; sent(): number } {
  let stopped = false;
  let sent = 0;
  const loop = (async () => {
    const t0 = performance.now();
    while (!stopped) {
      const due = Math.floor(((performance.now() - t0) / 1000) * rate) - sent;
      if (due > 0) {
        const n = Math.min(due, 20_000);
        await bus.publish(Topics.invocations, loadBatch(n));
        sent += n;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return { stop: async () => { stopped = true; await loop; }, sent: () => sent };
}

async function probe(ingestUrl: string, aggregatorUrl: string, i: number): Promise<number> {
  const connector = `fresh-${process.pid}-${i}`;
  const t0 = performance.now();
  await exportCalls(ingestUrl, 'json', [{ connector, version: '1.0.0', action: 'ping', method: 'GET', status: 200, latencyMs: 5, endMs: Date.now() }]);
  for (;;) {
    const res = await fetch(`${aggregatorUrl}/v1/connectors/${connector}/metrics?window=5m`);
    if (res.status === 200 && ((await res.json()) as { calls: number }).calls >= 1) return performance.now() - t0;
    if (res.status !== 404) await res.arrayBuffer();
    if (performance.now() - t0 > 30_000) throw new Error(`probe ${i} not visible after 30 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function measure(label: string, bus: Bus, rate: number, ingestUrl: string, aggregatorUrl: string): Promise<void> {
  await probe(ingestUrl, aggregatorUrl, -1); // warm-up
  const load = startLoad(bus, rate);
  const t0 = performance.now();
  const lat: number[] = [];
  try {
    for (let i = 0; i < PROBES; i++) {
      lat.push(await probe(ingestUrl, aggregatorUrl, i));
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await load.stop();
  }
  const achieved = load.sent() / ((performance.now() - t0) / 1000);
  lat.sort((a, b) => a - b);
  const q = (p: number): number => lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)]!;
  console.log(`${label}: freshness (span exported → visible in the API) over ${PROBES} probes at ${Math.round(achieved).toLocaleString('en-US')} background events/s: p50 ${q(0.5).toFixed(0)} ms, p99 ${q(0.99).toFixed(0)} ms, max ${lat[lat.length - 1]!.toFixed(0)} ms`);
}

async function embedded(): Promise<void> {
  const rate = Number(process.env.FRESH_LOAD ?? 25_000);
  const system = await startEmbedded({ env: { LOG_LEVEL: 'silent', SNAPSHOT_INTERVAL_SECONDS: '3600' }, ephemeralPorts: true, logger: createLogger({ name: 'fresh', level: 'silent' }) });
  try {
    const url = (n: string): string => system.services.find((s) => s.name === n)!.url;
    await measure('embedded', system.bus, rate, url('ingest'), url('aggregator'));
  } finally {
    await system.stop();
  }
}

async function distributed(): Promise<void> {
  const rate = Number(process.env.FRESH_LOAD ?? 50_000);
  const redis = await startRedis();
  const kafka = await startKafka();
  const env = { KAFKA_BROKERS: kafka.brokers.join(','), REDIS_URL: redis.url, SNAPSHOT_INTERVAL_SECONDS: '3600', AGGREGATOR_GROUP_ID: `fresh-${Date.now()}` };
  const aggregator = await startService('aggregator', await freePort(), env);
  const ingest = await startService('ingest', await freePort(), env);
  const bus = createBus({ KAFKA_BROKERS: env.KAFKA_BROKERS, clientId: 'fresh-load' });
  try {
    await measure('distributed', bus, rate, ingest.url, aggregator.url);
  } finally {
    await bus.close();
    await ingest.stop();
    await aggregator.stop();
    await kafka.stop();
    await redis.stop();
  }
}

if (mode === 'both' || mode === 'embedded') await embedded();
if (mode === 'both' || mode === 'distributed') await distributed();
