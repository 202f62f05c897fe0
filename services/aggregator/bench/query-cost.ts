/**
 * Query-cost benchmark (prints figures; not part of the test suite). Run from the repo root after
 * `npm run build`:
 *   npx tsx services/aggregator/bench/query-cost.ts
 * Starts its own redis-server (@pulsegate/testkit, free port), writes BENCH_SERIES (5 000) series
 * on one connector through the window store's apply (each with BENCH_HISTORY_EVENTS (8) calls over
 * 30 days and BENCH_RECENT_EVENTS (4) in the last 50 minutes, so every series is active now: the
 * worst case for the reader), then starts the compiled aggregator (`node services/aggregator/dist/main.js`,
 * no Kafka, default limits unless QUERY_* are set in the environment) and, for each query below,
 * prints P50/P95/max of its answer time, of `/healthz` of the same process polled every 20 ms while
 * it runs, the aggregator's own event-loop delay (p99 and max from its /metrics, monitorEventLoopDelay),
 * the aggregator's CPU time per query (user + system, /proc; steadier than wall time on a
 * shared machine) and its RSS (before, max during, after):
 *   metrics?window=30d: the first answer of an aggregator started with QUERY_CACHE_WARMUP=false
 *   (nothing cached), then, in a second aggregator with QUERY_CACHE_WARMUP=true, the background
 *   warm-up (time from ready to its first pass's end, CPU, event-loop delay), the first answer after
 *   it and warm answers; timeseries 24h/1m (over
 *   QUERY_MAX_BUCKET_READS at 5 000 series: a 422), the same for one version (a quarter of the
 *   series), timeseries 24h/1h, versions?window=30d.
 * BENCH_AGGREGATOR_NODE_ARGS passes node flags to the aggregator (e.g. `--trace-gc`).
 * BENCH_BEFORE=1 also times, in this process, the reader the aggregator had before bounded queries
 * (readRanges, 200 series at a time) on the same data, for the before/after figure.
 * The ingest side caps series per connector at INGEST_MAX_SERIES_PER_CONNECTOR (2 000); writing
 * through the store skips ingest, as raising that cap would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { freePort, startRedis } from '@pulsegate/testkit';
import { DEFAULT_WINDOW_CONFIG, emptyBucket, mergeBucket, planRange, readRanges, RedisWindowStore } from '@pulsegate/windows';
import { namedRange } from '../src/query';
import { fillWideConnector } from './wide-connector';

const SERIES = Number(process.env.BENCH_SERIES ?? 5_000);
const HISTORY_EVENTS = Number(process.env.BENCH_HISTORY_EVENTS ?? 8);
const RECENT_EVENTS = Number(process.env.BENCH_RECENT_EVENTS ?? 4);
const WARM_QUERIES = Number(process.env.BENCH_WARM_QUERIES ?? 10);

const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function percentiles(ms: number[]): string {
  if (ms.length === 0) return 'none';
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(s.length * q) - 1)]!;
  return `p50 ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms`;
}

/** CPU ms (user + system) a process has used, from /proc (10 ms ticks): load-independent, unlike wall time on a shared machine. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

async function startAggregator(redisUrl: string, extraEnv: Record<string, string> = {}): Promise<{ child: ChildProcess; base: string; stop(): Promise<void> }> {
  const port = await freePort();
  // BENCH_AGGREGATOR_NODE_ARGS: node flags for the aggregator (e.g. --trace-gc, which NODE_OPTIONS does not take).
  const nodeArgs = (process.env.BENCH_AGGREGATOR_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, 'services/aggregator/dist/main.js'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), REDIS_URL: redisUrl, LOG_LEVEL: 'warn', KAFKA_BROKERS: '', ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: child.stdout! }).on('line', (l) => process.stderr.write(`aggregator: ${l}\n`));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`aggregator exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error('aggregator not ready after 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    base,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The aggregator's own event-loop delay since its previous scrape (prom-client's
 * pulsegate_nodejs_eventloop_lag_{max,p99}_seconds, monitorEventLoopDelay, reset at every scrape), ms.
 */
async function loopLag(base: string): Promise<{ max: number; p99: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const read = (name: string): number => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN) * 1_000;
  return { max: read('pulsegate_nodejs_eventloop_lag_max_seconds'), p99: read('pulsegate_nodejs_eventloop_lag_p99_seconds') };
}

/** Waits for the aggregator's first warm-up pass (started at start-up) to finish; prints its time from ready, CPU and event-loop delay. */
async function awaitWarmup(base: string, pid: number, readyAt: number, cpuAtReady: number): Promise<void> {
  let maxRss = rssMiB(pid);
  // Every scrape resets the event-loop histogram: the worst p99 and max over the scrapes.
  let p99 = 0;
  let max = 0;
  for (;;) {
    const text = await (await fetch(`${base}/metrics`)).text();
    const read = (name: string): number => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
    p99 = Math.max(p99, read('pulsegate_nodejs_eventloop_lag_p99_seconds') * 1_000);
    max = Math.max(max, read('pulsegate_nodejs_eventloop_lag_max_seconds') * 1_000);
    maxRss = Math.max(maxRss, rssMiB(pid));
    if (read('pulsegate_aggregator_query_cache_warmup_passes_total') >= 1) {
      const took = (performance.now() - readyAt) / 1000;
      console.log(`warm-up (background, from ready): ${fmt(took, 1)} s, aggregator CPU ${fmt(cpuMs(pid) - cpuAtReady)} ms, ${read('pulsegate_aggregator_query_cache_warm_connectors')} connector(s) warm; aggregator event-loop delay meanwhile (worst of 1 s scrapes) p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms; RSS max ${fmt(maxRss)} MiB`);
      return;
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** Runs `query` `n` times while polling /healthz every 20 ms and sampling RSS; prints one line. */
async function measure(label: string, base: string, pid: number, path: string, n: number): Promise<void> {
  const healthz: number[] = [];
  let maxRss = rssMiB(pid);
  const rssBefore = maxRss;
  let running = true;
  const poller = (async () => {
    while (running) {
      const t = performance.now();
      await (await fetch(`${base}/healthz`)).arrayBuffer();
      healthz.push(performance.now() - t);
      maxRss = Math.max(maxRss, rssMiB(pid));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const times: number[] = [];
  await loopLag(base);
  const cpu0 = cpuMs(pid);
  const statuses = new Map<number, number>();
  let note = '';
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await fetch(base + path);
    const body = (await res.json()) as { calls?: number; points?: unknown[]; versions?: unknown[]; error?: { message: string } };
    times.push(performance.now() - t);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status === 200 && body.calls === 0) throw new Error(`${path}: no calls`);
    note = res.status === 200 ? (body.points !== undefined ? `${body.points.length} points` : body.versions !== undefined ? `${body.versions.length} versions` : `${fmt(body.calls ?? 0)} calls`) : `${body.error?.message ?? ''}`;
  }
  const cpu = (cpuMs(pid) - cpu0) / n;
  running = false;
  await poller;
  const lag = await loopLag(base);
  const codes = [...statuses].map(([s, c]) => `${c}× ${s}`).join(', ');
  console.log(`${label}: ${codes}; answer ${percentiles(times)} (aggregator CPU ${fmt(cpu)} ms per query, /healthz polls included); /healthz during it (${healthz.length} polls) ${percentiles(healthz)}; aggregator event-loop delay p99 ${lag.p99.toFixed(1)} ms, max ${lag.max.toFixed(1)} ms; RSS ${fmt(rssBefore)} → max ${fmt(maxRss)} MiB  [${note.slice(0, 160)}]`);
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const now = Date.now();
  try {
    const t0 = performance.now();
    await fillWideConnector(redis.url, now, { series: SERIES, historyEvents: HISTORY_EVENTS, recentEvents: RECENT_EVENTS });
    console.log(`${new Date().toISOString()}: wrote ${fmt(SERIES)} series on one connector (${fmt(SERIES * (HISTORY_EVENTS + RECENT_EVENTS))} calls: ${HISTORY_EVENTS} per series over 30 days, ${RECENT_EVENTS} in the last 50 min) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // The first 30-day query with warm-up off (cold: nothing cached), then a fresh aggregator with
    // warm-up on, its first 30-day query after the warm-up pass, and the other queries.
    const cold = await startAggregator(redis.url, { QUERY_CACHE_WARMUP: 'false' });
    try {
      await measure('metrics?window=30d, first, QUERY_CACHE_WARMUP=false (nothing cached)', cold.base, cold.child.pid!, '/v1/connectors/wide/metrics?window=30d', 1);
    } finally {
      await cold.stop();
    }
    const agg = await startAggregator(redis.url, { QUERY_CACHE_WARMUP: 'true' });
    const pid = agg.child.pid!;
    try {
      const readyAt = performance.now();
      const cpuAtReady = cpuMs(pid);
      await loopLag(agg.base);
      console.log(`aggregator (compiled, pid ${pid}) ready; RSS ${fmt(rssMiB(pid))} MiB; limits: QUERY_MAX_SERIES ${process.env.QUERY_MAX_SERIES ?? 'default'}, QUERY_MAX_BUCKET_READS ${process.env.QUERY_MAX_BUCKET_READS ?? 'default'}, QUERY_CHUNK_BUCKETS ${process.env.QUERY_CHUNK_BUCKETS ?? 'default'}`);
      await awaitWarmup(agg.base, pid, readyAt, cpuAtReady);
      await measure('metrics?window=30d, first after the warm-up (QUERY_CACHE_WARMUP=true)', agg.base, pid, '/v1/connectors/wide/metrics?window=30d', 1);
      await measure(`metrics?window=30d, warm (${WARM_QUERIES} queries)`, agg.base, pid, '/v1/connectors/wide/metrics?window=30d', WARM_QUERIES);
      await measure('timeseries?window=24h&step=1m, all series', agg.base, pid, '/v1/connectors/wide/timeseries?window=24h&step=1m&metric=p95', 3);
      await measure('timeseries?window=24h&step=1m&version=2.0.0 (a quarter of the series)', agg.base, pid, '/v1/connectors/wide/timeseries?window=24h&step=1m&metric=p95&version=2.0.0', 2);
      await measure('timeseries?window=24h&step=1h, all series', agg.base, pid, '/v1/connectors/wide/timeseries?window=24h&step=1h&metric=calls', 3);
      await measure('versions?window=30d', agg.base, pid, '/v1/connectors/wide/versions?window=30d', 3);
      console.log(`aggregator RSS after the queries: ${fmt(rssMiB(pid))} MiB`);
    } finally {
      await agg.stop();
    }
    if (process.env.BENCH_BEFORE === '1') {
      // The reader before bounded queries, in this process: 200 series at a time through readRanges, no cache.
      const store = new RedisWindowStore({ target: { url: redis.url } });
      const series = await store.listSeries('default', 'wide');
      const range = namedRange('30d', Date.now());
      const plan = planRange(range.from, range.to, Date.now(), DEFAULT_WINDOW_CONFIG);
      const t = performance.now();
      const total = emptyBucket();
      for (let i = 0; i < series.length; i += 200) {
        const [merged] = await readRanges(store, 'default', 'wide', series.slice(i, i + 200), [plan]);
        for (const b of merged ?? []) mergeBucket(total, b);
      }
      console.log(`before (readRanges, 200 series per step, in the bench process): metrics 30d over ${fmt(series.length)} series in ${fmt(performance.now() - t)} ms (${fmt(total.c)} calls)`);
      await store.close();
    }
  } finally {
    await redis.stop();
  }
}

await main();
