/**
 * In-process pause benchmark of the aggregator's reads (prints figures; not part of the test
 * suite): how long the event loop is held by the reads themselves, garbage collection included,
 * without HTTP or a second process competing for the core. Run from the repo root:
 *   npx tsx services/aggregator/bench/query-pauses.ts
 * Starts its own redis-server (@pulsegate/testkit), writes the query-cost bench's data
 * (wide-connector.ts: BENCH_SERIES, default 5 000, series on one connector) and, for each step size
 * in BENCH_CHUNKS (QUERY_CHUNK_BUCKETS values, default "4000,2000") and each read in BENCH_MODES
 * (default all of them):
 *   cold      a 30-day metrics query with an empty cache (BENCH_COLD_QUERIES, 1);
 *   warm      30-day metrics queries after a warm-up (BENCH_WARM_QUERIES, 20);
 *   filtered  24h/1m timeseries of one version, a quarter of the series (2);
 *   ranges    per-series 5m/1h/24h windows of every series (seriesRanges: snapshots, /metrics KPIs) (3)
 * prints the wall time per read, this process's CPU per read, the event-loop delay p99 / max
 * (monitorEventLoopDelay, 1 ms resolution), the longest gaps of a 1 ms interval timer with the
 * garbage collections that overlap each (PerformanceObserver 'gc'), and the collections over 15 ms.
 * Node flags go on the command line (`node --max-semi-space-size=32 --import tsx …`).
 */
import { monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { startRedis } from '@pulsegate/testkit';
import { DEFAULT_WINDOW_CONFIG, RedisWindowStore } from '@pulsegate/windows';
import { MetricsQueries, namedRange } from '../src/query';
import { fillWideConnector } from './wide-connector';

const SERIES = Number(process.env.BENCH_SERIES ?? 5_000);
const CHUNKS = (process.env.BENCH_CHUNKS ?? '4000,2000').split(',').map(Number);
const MODES = (process.env.BENCH_MODES ?? 'cold,warm,filtered,ranges').split(',') as Array<'cold' | 'warm' | 'filtered' | 'ranges'>;
const COUNT = { cold: Number(process.env.BENCH_COLD_QUERIES ?? 1), warm: Number(process.env.BENCH_WARM_QUERIES ?? 20), filtered: 2, ranges: 3 };

interface Gc {
  start: number;
  duration: number;
  kind: string;
}
const GC_KINDS: Record<number, string> = { 1: 'scavenge', 2: 'mark-compact', 4: 'incremental marking', 8: 'weak callbacks' };
const gcs: Gc[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries() as Array<PerformanceEntry & { detail?: { kind?: number } }>) gcs.push({ start: e.startTime, duration: e.duration, kind: GC_KINDS[e.detail?.kind ?? 0] ?? 'other' });
}).observe({ entryTypes: ['gc'] });

/** Runs `read` `n` times; prints the figures named in the header. */
async function measure(label: string, n: number, read: () => Promise<unknown>): Promise<void> {
  const gaps: Array<{ ms: number; end: number }> = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const t = performance.now();
    gaps.push({ ms: t - last, end: t });
    last = t;
  }, 1);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  gcs.length = 0;
  delay.enable();
  const cpu0 = process.cpuUsage();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await read();
    times.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  delay.disable();
  clearInterval(timer);
  const longest = gaps.sort((a, b) => b.ms - a.ms).slice(0, 5);
  const during = (g: { ms: number; end: number }): string => {
    const hit = gcs.filter((x) => x.start < g.end && x.start + x.duration > g.end - g.ms);
    return hit.length === 0 ? 'no gc' : hit.map((x) => `${x.kind} ${x.duration.toFixed(0)}`).join(' + ');
  };
  const gcTotal = gcs.reduce((a, x) => a + x.duration, 0);
  const over15 = gcs.filter((x) => x.duration > 15).map((x) => x.duration.toFixed(0));
  console.log(
    `${label}: ${n}× ${times.map((t) => t.toFixed(0)).join(' ')} ms; CPU ${((cpu.user + cpu.system) / 1_000 / n).toFixed(0)} ms per read; ` +
      `event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms; ` +
      `longest gaps ${longest.map((g) => `${g.ms.toFixed(0)} ms (${during(g)})`).join(', ')}; ` +
      `gc ${gcTotal.toFixed(0)} ms in ${gcs.length}, over 15 ms: ${over15.length === 0 ? 'none' : over15.join(' ')}`,
  );
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const store = new RedisWindowStore({ target: { url: redis.url } });
  try {
    const now = Date.now();
    await fillWideConnector(redis.url, now, { series: SERIES, historyEvents: 8, recentEvents: 4 });
    console.log(`${new Date().toISOString()}: ${SERIES} series on one connector written; node ${process.version} ${process.execArgv.join(' ')}`);
    for (const chunkBuckets of CHUNKS) {
      for (const mode of MODES) {
        const queries = new MetricsQueries(store, DEFAULT_WINDOW_CONFIG, () => Date.now(), undefined, { chunkBuckets });
        const label = `QUERY_CHUNK_BUCKETS ${chunkBuckets}, ${mode}`;
        if (mode === 'cold') {
          await measure(label, COUNT.cold, async () => {
            queries.dayCache?.clear();
            return queries.metrics('default', 'wide', {}, namedRange('30d', Date.now()));
          });
        } else if (mode === 'warm') {
          await queries.warm('default', 'wide');
          await measure(label, COUNT.warm, () => queries.metrics('default', 'wide', {}, namedRange('30d', Date.now())));
        } else if (mode === 'filtered') {
          await measure(label, COUNT.filtered, () => queries.timeseries('default', 'wide', { version: '2.0.0' }, 'p95', { name: '1m', ms: 60_000 }, namedRange('24h', Date.now())));
        } else {
          const series = (await queries.series('default', 'wide'))!;
          await measure(label, COUNT.ranges, () => queries.seriesRanges('default', 'wide', series, ['5m', '1h', '24h'].map((w) => namedRange(w, Date.now()))));
        }
      }
    }
  } finally {
    await store.close();
    await redis.stop();
  }
}

await main();
