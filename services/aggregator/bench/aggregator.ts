/**
 * Aggregator benchmark (prints figures; not part of the test suite). Run from the repo root:
 *   npx tsx services/aggregator/bench/aggregator.ts
 * Starts its own redis-server and Kafka-protocol broker through @pulsegate/testkit (or uses
 * REDIS_URL / KAFKA_BROKERS) and measures, in one run:
 *  1. events/s into real Redis by one process (RedisWindowStore.apply, exactly-once scripts),
 *     Redis commands per event at 1 000 active series (client calls, and all commands incl. Lua's);
 *  2. the ceiling: redis-benchmark -P 64 against the same server;
 *  3. kafkajs consume + decode alone (decodeInvocationBatch, the event objects; and, for reference,
 *     decodeInvocationColumns, the aggregator's decoder), and the aggregator end to end (KafkaBus →
 *     Redis) on the same messages, with each side's process CPU per round (the aggregator's split
 *     into main and other threads); BENCH_AGG_STORE=aggregate|none swaps the aggregator's store to
 *     see where its time goes; BENCH_CPU_PROFILE=<dir> writes a CPU profile of each aggregator round;
 *     BENCH_KAFKA_WARMUP_ROUNDS (default 1) rounds run first for every side and are left out of the
 *     ratios (printed, and a ratio with them counted too);
 *  4. P95 latency of a 30-day metrics query over HTTP;
 *  5. Redis bytes per series-minute (MEMORY USAGE);
 *  6. dedup of span identities (AGGREGATOR_DEDUP_HORIZON_MINUTES): sections 1 and 3 run with dedup on
 *     (the default) and off in the same run, and Redis bytes of dedup state per 1 000 events/s at the
 *     default horizon (MEMORY USAGE of the identity sets).
 *  7. bytes per series-minute at 20, 200 and 2 000 calls per series-minute over BENCH_BYTES_MINUTES
 *     (20) minutes of simulated traffic (inside one hour), bucket layout 1 (JSON segments, the earlier writer) and 2
 *     (binary records) in the same run: MEMORY USAGE of the minute keys and used_memory over the run,
 *     each run in an empty logical database of its own (so no run is charged a keyspace table doubled
 *     by earlier runs' keys), split into keyspace hash tables, client buffers and the rest, with the
 *     identity logs' every byte (value, name, both table entries) outside the figure and counted
 *     apart. BENCH_BYTES_MINUTES=60 shows the steady state of the per-hour keys.
 * BENCH_BUCKET_LAYOUT=1|2 (default 2) picks the layout of the store and Kafka sections;
 * BENCH_LAYOUTS=1,2 runs the store and Kafka sections with both layouts in the same run (each with
 * dedup on and off). Redis time is printed as script wall time and as the server's main-thread CPU
 * (less disturbed by other work on a shared machine).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { PerformanceObserver } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import { createBus, type SubscribeOptions } from '@pulsegate/bus';
import { decodeInvocationBatch, decodeInvocationColumns, encodeInvocationBatch, errorCodeForStatus, outcomeFor, Topics, type InvocationEvent } from '@pulsegate/events';
import { createLogger } from '@pulsegate/logging';
import { startKafka, startRedis } from '@pulsegate/testkit';
import { aggregateBatch, archiveEntries, DEFAULT_WINDOW_CONFIG, emptyBucket, mergeBucket, planRange, readRanges, recordEvents, RedisWindowStore, SettledDayCache, type ApplyInput, type BatchRecord, type RangePlan, type WindowStore } from '@pulsegate/windows';
import { loadConfig } from '../src/config';
import { MetricsQueries, namedRange } from '../src/query';
import { createAggregatorService } from '../src/service';
import { seededRandom } from '@pulsegate/random';

/** Version stamp leading each identity log (packages/windows/src/dedup-cache.ts). */
const DEDUP_STAMP_BYTES = 32;

const SERIES_CONNECTORS = 50; // × 5 actions × 4 versions = 1 000 active series
const ACTIONS = ['list', 'get', 'create', 'update', 'delete'];
const VERSIONS = ['1.0.0', '1.1.0', '2.0.0', '2.1.0'];
const STORE_EVENTS = Number(process.env.BENCH_STORE_EVENTS ?? 400_000);
/**
 * Events per round. The mock broker keeps ≈ 5 MiB per partition; a v3 message of 500 events is
 * ≈ 55 KB (≈ 111 B per event) and the busiest partition gets 18 of the 50 connectors (murmur2 of
 * the keys), so 80 000 events put ≈ 3.2 MB there. A round that loses messages says so.
 */
const KAFKA_EVENTS = Number(process.env.BENCH_KAFKA_EVENTS ?? 80_000);
const KAFKA_ROUNDS = Number(process.env.BENCH_KAFKA_ROUNDS ?? 5);
/**
 * Kafka section: rounds run first and left out of the totals (BENCH_KAFKA_WARMUP_ROUNDS, default 1),
 * for every side alike: the first round of a process compiles each side's code paths (the
 * aggregator's first round costs 1.3 – 2 × its later ones in CPU). Each is still printed.
 */
const KAFKA_WARMUP_ROUNDS = Number(process.env.BENCH_KAFKA_WARMUP_ROUNDS ?? 1);
const PER_MESSAGE = 500;
const LAYOUT = Number(process.env.BENCH_BUCKET_LAYOUT ?? 2) as 1 | 2;
if (LAYOUT !== 1 && LAYOUT !== 2) throw new Error('BENCH_BUCKET_LAYOUT must be 1 or 2');
/** Layouts of the store and Kafka sections (BENCH_LAYOUTS, default BENCH_BUCKET_LAYOUT). */
const LAYOUTS = (process.env.BENCH_LAYOUTS ?? String(LAYOUT)).split(',').map((l) => Number(l.trim()) as 1 | 2);
if (LAYOUTS.some((l) => l !== 1 && l !== 2)) throw new Error('BENCH_LAYOUTS must list 1 and/or 2');
const BYTES_MINUTES = Number(process.env.BENCH_BYTES_MINUTES ?? 20);
/** Query section: connectors × 20 series each with history over 30 days (BENCH_QUERY_CONNECTORS, default 50 = 1 000 series). */
const QUERY_CONNECTORS = Number(process.env.BENCH_QUERY_CONNECTORS ?? 50);
/** Overrides the aggregator subscription's lingerMs (0 = every fetched batch handled on its own, the behaviour before linger). */
const LINGER_MS = process.env.BENCH_LINGER_MS === undefined ? undefined : Number(process.env.BENCH_LINGER_MS);
/**
 * What the aggregator side's store does, to see where its time goes: `redis` (default) the real
 * RedisWindowStore; `aggregate` only the in-memory pre-aggregation (aggregateBatch), no Redis;
 * `none` nothing (the bus runner and decoding alone). Only `redis` is the aggregator.
 */
const AGG_STORE = process.env.BENCH_AGG_STORE ?? 'redis';
if (!['redis', 'aggregate', 'none'].includes(AGG_STORE)) throw new Error(`BENCH_AGG_STORE must be redis, aggregate or none, not ${AGG_STORE}`);

/** BENCH_CPU_PROFILE: a directory to write a CPU profile of each aggregator round into (open in Chrome DevTools). */
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE;

/** Starts the V8 sampling profiler of this process (200 µs interval); stop() returns the profile. */
async function startProfiler(): Promise<{ stop(): Promise<unknown> }> {
  const session = new Session();
  session.connect();
  const post = (method: string, params: object = {}): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res as Record<string, unknown>))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = await post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}

let rand = seededRandom(1);

/**
 * `words` × 8 random hex characters (exporters draw ids at random; unique over the run in
 * practice), as one flat string like those JSON.parse and the OTLP decoders give (joined, not
 * concatenated: V8 keeps a concatenation of long strings as a rope, slower to read by character).
 */
const hexId = (words: number): string => Array.from({ length: words }, () => Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0')).join('');

function events(n: number, from: number, to: number, connectors = SERIES_CONNECTORS): InvocationEvent[] {
  return Array.from({ length: n }, () => {
    const a = Math.floor(rand() * ACTIONS.length);
    const status = rand() < 0.95 ? 200 : rand() < 0.5 ? 429 : 500;
    const outcome = outcomeFor(status, false);
    return {
      schemaVersion: 1,
      tenant: 'bench',
      connector: `conn-${Math.floor(rand() * connectors)}`,
      connectorVersion: VERSIONS[Math.floor(rand() * VERSIONS.length)]!,
      action: ACTIONS[a]!,
      httpMethod: a < 2 ? 'GET' : 'POST',
      kind: a < 2 ? 'read' : 'write',
      httpStatus: status,
      outcome,
      errorCode: outcome === 'success' ? null : errorCodeForStatus(status),
      latencyMs: Math.round(Math.exp(Math.log(150) + 0.7 * (rand() + rand() + rand() - 1.5) * 2) * 1000) / 1000,
      eventTime: from + Math.floor(rand() * (to - from)),
      correlationId: null,
      traceId: hexId(4),
      spanId: hexId(2),
      sampleWeight: 1,
    };
  });
}

/** Packs per connector like ingest, then deals the messages to 4 partitions by connector. */
function partitionBatches(evs: InvocationEvent[], perMessage: number, recordsPerBatch: number): Array<{ partition: number; records: BatchRecord[] }> {
  const byConn = new Map<string, InvocationEvent[]>();
  for (const e of evs) (byConn.get(e.connector) ?? byConn.set(e.connector, []).get(e.connector)!).push(e);
  const parts: BatchRecord[][] = [[], [], [], []];
  let c = 0;
  for (const list of byConn.values()) {
    const p = parts[c++ % 4]!;
    for (let i = 0; i < list.length; i += perMessage) p.push({ offset: String(p.length), events: list.slice(i, i + perMessage) });
  }
  // Interleave connectors inside a partition the way a log would.
  const out: Array<{ partition: number; records: BatchRecord[] }> = [];
  parts.forEach((recs, partition) => {
    recs.sort((a, b) => Number(a.offset) - Number(b.offset));
    recs.forEach((r, i) => (r.offset = String(i)));
    for (let i = 0; i < recs.length; i += recordsPerBatch) out.push({ partition, records: recs.slice(i, i + recordsPerBatch) });
  });
  return out;
}

/** Microseconds Redis spent in script calls (EVALSHA, incl. the commands inside). */
async function scriptUsec(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/cmdstat_(?:evalsha|eval):calls=\d+,usec=(\d+)/g)) total += Number(m[1]);
  return total;
}

/** Milliseconds of CPU the Redis server's main thread has used (INFO cpu), less disturbed than wall time by other work. */
async function redisCpuMs(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  return (Number(/used_cpu_user_main_thread:([\d.]+)/.exec(info)![1]) + Number(/used_cpu_sys_main_thread:([\d.]+)/.exec(info)![1])) * 1000;
}

async function commandTotal(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) total += Number(m[1]);
  return total;
}

/**
 * Minor page faults of a process so far (/proc/<pid>/stat field 10; Linux, else 0): first touches of
 * memory the process got from the kernel. On a virtual machine each can cost tens of times what it
 * does on bare metal (bench/RESULTS.md has this machine's figure), so a round's fresh memory shows
 * up in its time.
 */
function minorFaults(pid: number | string = 'self'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  } catch {
    return 0;
  }
}

/** Main-thread GC pauses of this process so far: count and ms, major (mark-compact) and minor (scavenges). */
const gcPauses = { major: 0, majorMs: 0, minor: 0, minorMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    // perf_hooks constants: NODE_PERFORMANCE_GC_MAJOR = 4, MINOR = 1, INCREMENTAL = 8, WEAKCB = 16.
    if (kind === 1) {
      gcPauses.minor++;
      gcPauses.minorMs += e.duration;
    } else {
      gcPauses.major += kind === 4 ? 1 : 0;
      gcPauses.majorMs += e.duration;
    }
  }
}).observe({ entryTypes: ['gc'] });

/**
 * CPU ms of this process's main thread and of all its other threads (V8's GC and compiler helpers,
 * libuv's pool), from /proc (Linux; 10 ms ticks). Undefined elsewhere.
 */
function threadCpuMs(): { main: number; others: number } | undefined {
  try {
    let main = 0;
    let others = 0;
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = (Number(f[11]) + Number(f[12])) * 10; // utime + stime, clock ticks of 1/100 s
      if (tid === String(process.pid)) main += ms;
      else others += ms;
    }
    return { main, others };
  } catch {
    return undefined;
  }
}

const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** Sections to run: BENCH_ONLY=store,kafka,query (default all). */
const only = new Set((process.env.BENCH_ONLY ?? 'store,bytes,kafka,query').split(',').map((s) => s.trim()));

async function main(): Promise<void> {
  const redis = await startRedis();
  const kafka = only.has('kafka') ? await startKafka() : null;
  const admin = new Redis(redis.url);
  const out = { push: (line: string): void => console.log(line) };
  const now = Date.now();
  try {
    if (only.has('store')) await storeSection(redis.url, admin, now, out);
    if (only.has('bytes')) await bytesSection(redis.url, now, out);
    if (kafka !== null) await kafkaSection(redis.url, admin, kafka.brokers, now, out);
    if (only.has('query')) await querySection(redis.url, now, out);
  } finally {
    await admin.quit();
    await kafka?.stop();
    await redis.stop();
  }
}

type Out = { push(line: string): void };

/** 1, 2, 5: store throughput, commands per event, bytes per series-minute, the redis-benchmark ceiling. */
async function storeSection(url: string, admin: Redis, now: number, out: Out): Promise<void> {
  for (const [layout, dedup] of LAYOUTS.flatMap((l) => [[l, false], [l, true]] as const)) {
    // 1. Store throughput and commands per event, dedup off then on (the default), other keys each.
    const evs = events(STORE_EVENTS, now - 60_000, now);
    const batches = partitionBatches(evs, PER_MESSAGE, 6); // ~3 000 events per partition batch (≈1 MB, kafkajs' default)
    const keyPrefix = `l${layout}${dedup ? 'on' : 'off'}:`;
    const store = new RedisWindowStore({ target: { url }, bucketLayout: layout, keyPrefix, config: dedup ? {} : { dedupHorizonMs: 0 } });
    await store.ping();
    const before = await commandTotal(admin);
    const usecBefore = await scriptUsec(admin);
    const cpuBefore = await redisCpuMs(admin);
    let calls = 0;
    const t0 = process.hrtime.bigint();
    for (const b of batches) {
      const r = await store.apply({ source: 'bench|t', partition: b.partition, firstOffset: b.records[0]!.offset, lastOffset: b.records[b.records.length - 1]!.offset, records: b.records });
      calls += r.storeCalls;
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const after = await commandTotal(admin);
    const luaUsec = (await scriptUsec(admin)) - usecBefore;
    const redisCpu = (await redisCpuMs(admin)) - cpuBefore;
    const series = new Set(evs.map((e) => `${e.connector}|${e.action}|${e.connectorVersion}`)).size;
    out.push(`store apply, layout ${layout}, dedup ${dedup ? 'on' : 'off'} (1 process, ${fmt(series)} active series, ${fmt(batches.length)} partition batches): ${fmt(STORE_EVENTS / secs)} events/s, of which Redis scripts ${fmt(luaUsec / STORE_EVENTS, 2)} µs per event (Redis main-thread CPU ${fmt((redisCpu * 1000) / STORE_EVENTS, 2)} µs per event)`);
    out.push(`Redis client commands per event: ${(calls / STORE_EVENTS).toFixed(5)}  (all commands incl. inside Lua, minus INFO: ${((after - before - 1) / STORE_EVENTS).toFixed(4)})`);

    // 5. Bytes per series-minute.
    const keys = (await admin.keys(`${keyPrefix}pg:w1:*:${layout === 1 ? 'b' : 'b2'}:m:*`)).slice(0, 500);
    let bytes = 0;
    for (const k of keys) bytes += Number(await admin.memory('USAGE', k));
    const perMinuteEvents = STORE_EVENTS / series; // all events fall in ≤ 2 minutes
    out.push(`Redis bytes per series-minute: ${fmt(bytes / keys.length)} (MEMORY USAGE of ${keys.length} minute keys, ~${fmt(perMinuteEvents / 2)} events each, layout ${layout}, all still hot)`);
    if (dedup) {
      // 6. Dedup state: every identity of the run sits in its connector-minute set. A minute's set
      // lives until the horizon after the later of its end and its last write, so at a steady rate
      // an identity is kept between the horizon and the horizon + 1 min: bytes at 1 000 events/s =
      // bytes per identity × 1 000 × (horizon + 60 s).
      const ddKeys = await admin.keys(`${keyPrefix}pg:w1:*:dl:*`);
      let ddBytes = 0;
      let members = 0;
      for (const k of ddKeys) {
        ddBytes += Number(await admin.memory('USAGE', k, 'SAMPLES', '0'));
        members += ((await admin.strlen(k)) - DEDUP_STAMP_BYTES) / 24;
      }
      const horizonS = DEFAULT_WINDOW_CONFIG.dedupHorizonMs / 1000;
      const perId = ddBytes / members;
      out.push(`Redis bytes of dedup state, hot logs (still appended to, with APPEND's spare room): ${fmt(perId, 1)} per identity (${fmt(members)} identities in ${ddKeys.length} connector-minute logs of ~${fmt(members / ddKeys.length)}); at 1 000 events/s and the default ${horizonS / 60}-min horizon: ${fmt((perId * 1_000 * horizonS) / 1e6, 1)} – ${fmt((perId * 1_000 * (horizonS + 60)) / 1e6, 1)} MB (settled logs are rewritten at their exact size: see the bytes section)`);
    }
    await store.close();
    if (dedup || layout !== LAYOUTS[LAYOUTS.length - 1]) continue;

    // 2. Ceiling of the same server.
    const port = new URL(url).port;
    const rb = execFileSync('redis-benchmark', ['-p', port, '-P', '64', '-q', '-n', '1000000', '-t', 'set,incr'], { encoding: 'utf8' });
    for (const line of rb.split(/\r|\n/).filter((l) => /requests per second/.test(l))) out.push(`redis-benchmark -P 64: ${line.trim()}`);
  }
}

/** MEMORY STATS as flat numbers (db.N entries as `db.N.overhead.hashtable.main` and so on). */
async function memoryStats(admin: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const walk = (reply: unknown[], prefix: string): void => {
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const [k, v] = [String(reply[i]), reply[i + 1]];
      if (Array.isArray(v)) walk(v, `${prefix}${k}.`);
      else if (typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v))) out.set(`${prefix}${k}`, Number(v));
    }
  };
  walk((await admin.call('MEMORY', 'STATS')) as unknown[], '');
  return out;
}

async function usedMemory(admin: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
}

/** Logical database of the next bytes-section run (0 is the other sections'). */
let bytesDb = 0;

/** Bytes of one entry of a Redis dict (key, value and next pointers) on a 64-bit build. */
const DICT_ENTRY_BYTES = 24;

/** MEMORY USAGE of every key matching `pattern` (SCAN; these are keys this bench wrote). */
async function keyBytes(admin: Redis, pattern: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    cursor = next;
    for (const k of keys) out.set(k, Number(await admin.memory('USAGE', k, 'SAMPLES', '0')));
  } while (cursor !== '0');
  return out;
}

/**
 * 6: bytes per series-minute at 20, 200 and 2 000 calls per series-minute, layouts 1 and 2 in the
 * same run on the same traffic: BYTES_MINUTES minutes of event time, each minute's events applied
 * in partition batches of ~3 000 events (as the store section) with the store's clock at the
 * batch's place in the minute, so hot minutes get many small deltas, as in production.
 */
async function bytesSection(serverUrl: string, now: number, out: Out): Promise<void> {
  if (BYTES_MINUTES > 60) throw new Error('BENCH_BYTES_MINUTES must be ≤ 60');
  const t0 = Math.floor(now / 3_600_000) * 3_600_000 - 3_600_000;
  const mixes: Array<{ rate: number; connectors: number }> = [
    { rate: 20, connectors: 50 }, // 1 000 series
    { rate: 200, connectors: 10 }, // 200 series
    { rate: 2_000, connectors: 2 }, // 40 series
  ];
  const figures: string[] = [];
  for (const { rate, connectors } of mixes) {
    const series = connectors * ACTIONS.length * VERSIONS.length;
    const row: Record<number, { all: number; settled: number; used: number; dataset: number; tables: number; clients: number; keys: number; ddPerId: number; ddPerMinute: number }> = {};
    for (const layout of [1, 2] as const) {
      rand = seededRandom(4_242 + rate);
      // Each run in a logical database of its own, empty at the start: the keyspace's hash tables
      // (the main one and the expiries) grow by doubling, and in a shared database the run that
      // crosses a power of two of all earlier runs' keys would be charged the whole new table.
      const db = ++bytesDb;
      const url = `${serverUrl}/${db}`;
      const admin = new Redis(url);
      let clock = t0;
      const prefix = `bytes${rate}l${layout}:`;
      // The dedup horizon stretched by how far the simulated clock lies back, so the identity logs
      // outlive the run by the real clock too (Redis expires by its own) and are counted; the
      // logs hold the same bytes whatever their expiry.
      const dedupHorizonMs = DEFAULT_WINDOW_CONFIG.dedupHorizonMs + (now - t0);
      const store = new RedisWindowStore({ target: { url }, bucketLayout: layout, clock: () => clock, keyPrefix: prefix, config: { dedupHorizonMs } });
      const used0 = await usedMemory(admin);
      const stats0 = await memoryStats(admin);
      let offset = 0;
      for (let m = 0; m < BYTES_MINUTES; m++) {
        const from = t0 + m * 60_000;
        const evs = events(rate * series, from, from + 60_000, connectors);
        // Exactly `rate` calls per series-minute would need a fixed split; random series at this mean is close enough.
        evs.sort((a, b) => a.eventTime - b.eventTime);
        const batches = partitionBatches(evs, PER_MESSAGE, 6);
        for (const [i, b] of batches.entries()) {
          clock = from + Math.floor(((i + 1) / batches.length) * 60_000);
          const recs = b.records.map((r) => ({ ...r, offset: String(offset + Number(r.offset)) }));
          await store.apply({ source: 'bench|bytes', partition: b.partition, firstOffset: recs[0]!.offset, lastOffset: recs[recs.length - 1]!.offset, records: recs });
        }
        offset += 1_000_000;
      }
      // Dedup: every identity of the run is still in a log (the horizon is stretched); logs of
      // minutes that are over were rewritten at their exact size, as in production.
      const ddBytes = await keyBytes(admin, `${prefix}pg:w1:*:dl:*`);
      let ddTotal = 0;
      let ids = 0;
      for (const [k, b] of ddBytes) {
        ddTotal += b;
        ids += ((await admin.strlen(k)) - DEDUP_STAMP_BYTES) / 24;
      }
      // MEMORY USAGE counts a key's name, value and main-table entry, not its entry in the expiries
      // table: the logs' own are taken out here too, so the figure without them holds none of their cost.
      const ddCost = ddTotal + ddBytes.size * DICT_ENTRY_BYTES;
      const used = (await usedMemory(admin)) - used0 - ddCost;
      const stats1 = await memoryStats(admin);
      const delta = (k: string): number => (stats1.get(k) ?? 0) - (stats0.get(k) ?? 0);
      // Of used_memory: the keyspace's hash tables (bucket arrays and entries), the connections'
      // buffers (a fixed cost of the store's client, not of the series) and the rest (values, key names, scripts).
      const clients = delta('clients.normal');
      const tables = delta(`db.${db}.overhead.hashtable.main`) + delta(`db.${db}.overhead.hashtable.expires`) - ddBytes.size * 2 * DICT_ENTRY_BYTES;
      if (process.env.BENCH_BYTES_PROBE === '1') {
        const d = [...stats1].map(([k, v]) => [k, v - (stats0.get(k) ?? 0)] as const).filter(([k, v]) => v !== 0 && !/ratio|percentage|peak|startup|rss|allocator\.|fragmentation/.test(k));
        console.error(`probe rate ${rate} layout ${layout}: ddTotal ${ddTotal} ddKeys ${ddBytes.size} ids ${ids}`, Object.fromEntries(d));
      }
      // Layout 1: one key per series-minute. Layout 2: hot minute keys (the last minutes) and, per
      // series and hour, one minute archive holding the settled minutes.
      const bytes = await keyBytes(admin, `${prefix}pg:w1:*:${layout === 1 ? 'b' : 'b2'}:[mM]:*`);
      const settledBefore = clock - 4 * 60_000;
      let all = 0;
      let settled = 0;
      let settledMinutes = 0;
      let seriesMinutes = 0;
      for (const [k, b] of bytes) {
        all += b;
        const [, res, start] = /:([mM]):(\d+):/.exec(k)!;
        if (res === 'M') {
          const n = archiveEntries((await admin.getBuffer(k))!).length;
          settled += b;
          settledMinutes += n;
          seriesMinutes += n;
        } else {
          seriesMinutes++;
          if (layout === 1 && Number(start) + 60_000 <= settledBefore) {
            settled += b;
            settledMinutes++;
          }
        }
      }
      if (process.env.BENCH_BYTES_PROBE === '1') {
        const ks = [...bytes.keys()].sort().slice(0, 4);
        for (const k of ks) console.error(k, bytes.get(k), await admin.strlen(k));
      }
      // At steady state a series keeps the identities of the last horizon … horizon + 1 min (10.5
      // min on average at the default) for every one of its retained minutes (the minute retention).
      const ddPerId = ddCost / ids;
      const keptMinutes = DEFAULT_WINDOW_CONFIG.dedupHorizonMs / 60_000 + 0.5;
      const ddPerMinute = (ddPerId * (ids / (series * BYTES_MINUTES)) * keptMinutes) / (DEFAULT_WINDOW_CONFIG.minuteRetentionMs / 60_000);
      const perSm = series * BYTES_MINUTES;
      row[layout] = { all: all / seriesMinutes, settled: settled / settledMinutes, used: used / perSm, dataset: (used - tables - clients) / perSm, tables: tables / perSm, clients: clients / perSm, keys: seriesMinutes, ddPerId, ddPerMinute };
      await store.close();
      await admin.quit();
    }
    const [a, b] = [row[1]!, row[2]!];
    const pct = (x: number, y: number): string => `${((100 * x) / y).toFixed(0)} %`;
    figures.push(
      `bytes per series-minute at ~${fmt(rate)} calls/min (${fmt(series)} series, ${BYTES_MINUTES} min, ${fmt(b.keys)} series-minutes): ` +
        `MEMORY USAGE per settled minute ${fmt(a.settled)} → ${fmt(b.settled)} B (${pct(b.settled, a.settled)}), all minute storage / series-minutes incl. the hot last ones ${fmt(a.all)} → ${fmt(b.all)} B (${pct(b.all, a.all)}); ` +
        `used_memory over the run / series-minutes (incl. hour buckets, offsets, series; without the dedup logs, their keys' table entries included) ${fmt(a.used)} → ${fmt(b.used)} B (${pct(b.used, a.used)}), of which keyspace hash tables ${fmt(a.tables)} → ${fmt(b.tables)} B, client buffers ${fmt(a.clients)} → ${fmt(b.clients)} B, the rest (values, key names) ${fmt(a.dataset)} → ${fmt(b.dataset)} B  [layout 1 → layout 2]; ` +
        `dedup logs (MEMORY USAGE, settled ones rewritten at exact size): ${fmt(b.ddPerId, 1)} B per identity (${fmt((b.ddPerId * 1_000 * 60 * (DEFAULT_WINDOW_CONFIG.dedupHorizonMs / 60_000 + 0.5)) / 1e6, 1)} MB per 1 000 events/s), at the default ${DEFAULT_WINDOW_CONFIG.dedupHorizonMs / 60_000}-min horizon + ${fmt(b.ddPerMinute)} B per retained series-minute (48 h of minutes), so used_memory + dedup ${fmt(a.used + a.ddPerMinute)} → ${fmt(b.used + b.ddPerMinute)} B (${pct(b.used + b.ddPerMinute, a.used + a.ddPerMinute)})`,
    );
  }
  for (const f of figures) out.push(f);
}

/**
 * Plain kafkajs drains a topic from its group's committed offset (eachBatch, `decode` on every
 * message): done when KAFKA_EVENTS arrived or nothing more came for 3 s (the broker may have
 * trimmed). Timed from the first eachBatch to the end of the last.
 */
async function drainWithKafkajs(kjs: Kafka, topic: string, groupId: string, decode: (value: Buffer) => number): Promise<{ events: number; msgs: number; secs: number; cpuMs: number }> {
  const consumer = kjs.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let events = 0;
  let msgs = 0;
  let started = 0n;
  let end = 0n;
  let cpu0 = process.cpuUsage();
  let cpuMs = 0;
  await consumer.run({
    eachBatch: async ({ batch }) => {
      if (started === 0n) {
        started = process.hrtime.bigint();
        cpu0 = process.cpuUsage();
      }
      for (const m of batch.messages) events += decode(m.value!);
      msgs += batch.messages.length;
      end = process.hrtime.bigint();
      const cpu = process.cpuUsage(cpu0);
      cpuMs = (cpu.user + cpu.system) / 1000;
    },
  });
  for (let last = -1, idle = 0; events < KAFKA_EVENTS && idle < 30; idle = events === last ? idle + 1 : 0, last = events) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  return { events, msgs, secs: Number(end - started) / 1e9, cpuMs };
}

/** 3: kafkajs alone vs the aggregator end to end. */
async function kafkaSection(url: string, admin: Redis, brokers: string[], now: number, out: Out): Promise<void> {
  {

    // 3. kafkajs alone vs the aggregator on the same messages, in rounds: the mock broker keeps only
    // ~5 MiB per partition, so each round produces KAFKA_EVENTS to both topics while no consumer
    // runs, then drains the raw topic with plain kafkajs and the invocations topic with the
    // aggregator (same consumer groups every round, so each resumes where it stopped). Each side is
    // timed from its first fetched data to its last processed data, summed over the rounds: plain
    // kafkajs from its first eachBatch to the end of its last; the aggregator from its first
    // decoded record to the end of its last apply (so time records wait in the bus runner before
    // an apply, e.g. lingering, counts).
    const kjs = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });
    const redisPid = Number(/process_id:(\d+)/.exec(await admin.info('server'))?.[1] ?? 0);
    const rawTopic = `bench.raw.${Date.now()}`;
    const rawGroup = `bench-raw-${Date.now()}`;
    const colTopic = `bench.columns.${Date.now()}`;
    const colGroup = `bench-columns-${Date.now()}`;
    let colEvents = 0;
    let colSecs = 0;
    const aggGroup = `bench-agg-${Date.now()}`;
    const logger = createLogger({ name: 'bench', level: 'silent' });
    // Consuming in steady state: no query-cache warm-up. A service's first warm-up pass (right after
    // start) reads every connector's 30 days into the query cache — a start-up cost that the
    // query-cost bench measures — and each round starts new services, so with it on every side of
    // every round re-read the whole history (MGETs, decoding) while it consumed. Later passes only
    // read hours that settled since (once an hour per connector).
    const aggConfig = loadConfig({ ...process.env, KAFKA_BROKERS: brokers.join(','), AGGREGATOR_GROUP_ID: aggGroup, SNAPSHOT_INTERVAL_SECONDS: '3600', QUERY_CACHE_WARMUP: process.env.QUERY_CACHE_WARMUP ?? 'false' });
    // The aggregator with dedup on (the default) and off, each its own consumer group and keys, on
    // the same messages, alternating which goes first.
    const sides = LAYOUTS.flatMap((layout) => [true, false].map((dedup) => ({ layout, dedup }))).map(({ layout, dedup }) => ({
      dedup,
      layout,
      name: `layout ${layout}, dedup ${dedup ? 'on' : 'off'}`,
      group: `${aggGroup}-l${layout}-${dedup ? 'on' : 'off'}`,
      store: new RedisWindowStore({ target: { url }, bucketLayout: layout, keyPrefix: `kl${layout}${dedup ? 'on' : 'off'}:`, config: dedup ? {} : { dedupHorizonMs: 0 } }),
      redisCpuMs: 0,
      events: 0,
      secs: 0,
      calls: 0,
      batches: 0,
      commands: 0,
      /** Including the warm-up rounds. */
      allEvents: 0,
      allSecs: 0,
    }));
    let rawEvents = 0;
    let rawMsgs = 0;
    let rawSecs = 0;
    let rawAllEvents = 0;
    let rawAllSecs = 0;
    const totalRounds = KAFKA_WARMUP_ROUNDS + KAFKA_ROUNDS;
    for (let round = 0; round < totalRounds; round++) {
      const warmup = round < KAFKA_WARMUP_ROUNDS;
      const label = `round ${round + 1}/${totalRounds}${warmup ? ' (warm-up, left out)' : ''}`;
      const kevs = events(KAFKA_EVENTS, now - 60_000, now);
      const msgs: Array<{ key: string; value: Buffer }> = [];
      const byConn = new Map<string, InvocationEvent[]>();
      for (const e of kevs) (byConn.get(e.connector) ?? byConn.set(e.connector, []).get(e.connector)!).push(e);
      for (const [c, list] of byConn) for (let i = 0; i < list.length; i += PER_MESSAGE) msgs.push({ key: `bench\u001f${c}`, value: encodeInvocationBatch(list.slice(i, i + PER_MESSAGE)) });
      const producer = kjs.producer();
      await producer.connect();
      for (const t of [rawTopic, colTopic, Topics.invocations]) for (let i = 0; i < msgs.length; i += 20) await producer.send({ topic: t, messages: msgs.slice(i, i + 20) });
      await producer.disconnect();

      const rawFaultsBefore = minorFaults();
      const raw = await drainWithKafkajs(kjs, rawTopic, rawGroup, (v) => decodeInvocationBatch(v).length);
      const rawFaults = minorFaults() - rawFaultsBefore;
      const decoded = raw.events;
      rawAllSecs += raw.secs;
      rawAllEvents += raw.events;
      const col = await drainWithKafkajs(kjs, colTopic, colGroup, (v) => decodeInvocationColumns(v).length);
      if (!warmup) {
        rawSecs += raw.secs;
        rawEvents += raw.events;
        rawMsgs += raw.msgs;
        colSecs += col.secs;
        colEvents += col.events;
      }
      if (raw.events < KAFKA_EVENTS || col.events < KAFKA_EVENTS) console.error(`${label}: the broker kept only ${raw.events} / ${col.events} of ${KAFKA_EVENTS} events (lower BENCH_KAFKA_EVENTS)`);

      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        const aggStore = side.store;
        // The bus the way main.ts builds it. Timed from the first decoded record of the invocations
        // topic (not the group join) to the end of the last apply.
        const bus = createBus({ KAFKA_BROKERS: brokers.join(','), clientId: 'bench-agg' }, { kafka: { maxBatchRecords: 100_000, consumer: { maxBytesPerPartition: aggConfig.fetchMaxBytesPerPartition, maxWaitTimeMs: aggConfig.fetchMaxWaitMs } } });
        let firstDecode = 0;
        let lastDecode = 0;
        // Process CPU (all threads) from the first decoded record to the end of the last apply.
        let cpuAtFirstDecode = process.cpuUsage();
        let cpuAtLastEnd = cpuAtFirstDecode;
        let threadsAtFirstDecode = threadCpuMs();
        let threadsAtLastEnd = threadsAtFirstDecode;
        const subscribe = bus.subscribe.bind(bus);
        bus.subscribe = <T>(opts: SubscribeOptions<T>) =>
          opts.topic !== Topics.invocations
            ? subscribe(opts)
            : subscribe<T>({
                ...opts,
                ...(LINGER_MS === undefined ? {} : { lingerMs: LINGER_MS }),
                decode: (r) => {
                  lastDecode = performance.now();
                  if (firstDecode === 0) {
                    firstDecode = lastDecode;
                    cpuAtFirstDecode = process.cpuUsage();
                    threadsAtFirstDecode = threadCpuMs();
                  }
                  return opts.decode(r);
                },
              });
        let firstStart = 0;
        let lastEnd = 0;
        let inApply = 0; // ms during which at least one apply was running
        let running = 0;
        let since = 0;
        const timed: WindowStore = Object.assign(Object.create(aggStore) as WindowStore, {
          apply: async (input: ApplyInput) => {
            const t = performance.now();
            if (firstStart === 0) firstStart = t;
            if (running++ === 0) since = t;
            try {
              if (AGG_STORE === 'redis') return await aggStore.apply(input);
              let events = 0;
              for (const r of input.records) events += recordEvents(r);
              if (AGG_STORE === 'aggregate') aggregateBatch(input.records, Date.now(), DEFAULT_WINDOW_CONFIG);
              return { appliedEvents: events, replayedEvents: 0, droppedLate: 0, droppedFuture: 0, storeCalls: 0, duplicateEvents: 0, eventsWithoutIds: 0, byTenant: new Map() };
            } finally {
              lastEnd = performance.now();
              cpuAtLastEnd = process.cpuUsage();
              threadsAtLastEnd = threadCpuMs();
              if (--running === 0) inApply += lastEnd - since;
            }
          },
        });
        const svc = await createAggregatorService({ bus, logger, store: timed, config: { ...aggConfig, groupId: side.group, dedupHorizonMs: side.dedup ? aggConfig.dedupHorizonMs : 0 } });
        const usecBefore = await scriptUsec(admin);
        const commandsBefore = await commandTotal(admin);
        const cpuBefore = await redisCpuMs(admin);
        const profiler = PROFILE_DIR === undefined ? undefined : await startProfiler();
        const gcBefore = { ...gcPauses };
        const faultsBefore = minorFaults();
        const redisFaultsBefore = minorFaults(redisPid);
        await svc.start();
        for (let last = -1, idle = 0; svc.stats.appliedEvents < decoded && idle < 30; idle = svc.stats.appliedEvents === last ? idle + 1 : 0, last = svc.stats.appliedEvents) await new Promise((r) => setTimeout(r, 100));
        // Everything Redis ran meanwhile (incl. inside Lua), minus the second INFO; the service's own
        // few calls (ping at start) are counted too.
        const commands = (await commandTotal(admin)) - commandsBefore - 1;
        const luaMs = ((await scriptUsec(admin)) - usecBefore) / 1000;
        const cpuMs = (await redisCpuMs(admin)) - cpuBefore;
        const faults = `minor page faults: aggregator process ${fmt(minorFaults() - faultsBefore)}, Redis ${fmt(minorFaults(redisPid) - redisFaultsBefore)}`;
        const gc = `${faults}; main-thread GC pauses: ${gcPauses.major - gcBefore.major} mark-compact, ${fmt(gcPauses.majorMs - gcBefore.majorMs)} ms with incremental steps; ${gcPauses.minor - gcBefore.minor} scavenges, ${fmt(gcPauses.minorMs - gcBefore.minorMs)} ms`;
        side.allEvents += svc.stats.appliedEvents;
        side.allSecs += (lastEnd - firstDecode) / 1000;
        if (!warmup) {
          side.commands += commands;
          side.redisCpuMs += cpuMs;
          side.secs += (lastEnd - firstDecode) / 1000;
          side.events += svc.stats.appliedEvents;
          side.calls += svc.stats.storeCalls;
          side.batches += svc.stats.batches;
        }
        if (profiler !== undefined) writeFileSync(`${PROFILE_DIR}/aggregator-round-${round + 1}-l${side.layout}-dedup-${side.dedup ? 'on' : 'off'}.cpuprofile`, JSON.stringify(await profiler.stop()));
        await svc.stop();
        await bus.close();
        const threads = threadsAtFirstDecode === undefined || threadsAtLastEnd === undefined ? '' : ` (main thread ${fmt(threadsAtLastEnd.main - threadsAtFirstDecode.main)} ms, other threads ${fmt(threadsAtLastEnd.others - threadsAtFirstDecode.others)} ms)`;
        console.error(`${label}: raw ${fmt(raw.events / raw.secs)} events/s, aggregator (${side.name}) ${fmt(svc.stats.appliedEvents / ((lastEnd - firstDecode) / 1000))} events/s (first decode → first apply ${fmt(firstStart - firstDecode)} ms, → last decode ${fmt(lastDecode - firstDecode)} ms, store busy ${fmt(inApply)} of ${fmt(lastEnd - firstDecode)} ms of which Redis scripts ${fmt(luaMs)} ms, Redis main-thread CPU ${fmt(cpuMs)} ms, ${svc.stats.batches} applies; aggregator process CPU ${fmt((cpuAtLastEnd.user + cpuAtLastEnd.system - cpuAtFirstDecode.user - cpuAtFirstDecode.system) / 1000)} ms${threads}, raw ${fmt(raw.cpuMs)} ms, ${fmt(rawFaults)} minor page faults; ${gc})`);
      }
    }
    for (const side of sides) await side.store.close();
    const rawRate = rawEvents / rawSecs;
    out.push(`kafkajs consume + columnar decode (decodeInvocationColumns, the aggregator's decoder), for reference: ${fmt(colEvents / colSecs)} events/s`);
    out.push(`kafkajs consume + decode alone: ${fmt(rawRate)} events/s (${fmt(rawMsgs / rawSecs)} msgs/s of ≤ ${PER_MESSAGE} events; ${fmt(rawEvents)} events in ${KAFKA_ROUNDS} rounds after ${KAFKA_WARMUP_ROUNDS} warm-up round${KAFKA_WARMUP_ROUNDS === 1 ? '' : 's'})`);
    for (const side of sides) {
      const aggRate = side.events / side.secs;
      out.push(`${AGG_STORE === 'redis' ? `aggregator end to end, ${side.name} (KafkaBus → Redis, exactly-once)` : `NOT the aggregator: KafkaBus with BENCH_AGG_STORE=${AGG_STORE}`}: ${fmt(aggRate)} events/s = ${(aggRate / rawRate).toFixed(2)} × kafkajs alone, over ${fmt(side.events)} events in ${fmt(side.batches)} applies (${(side.calls / side.events).toFixed(5)} Redis client commands per event, ${(side.commands / side.events).toFixed(3)} incl. inside Lua; Redis main-thread CPU ${fmt((side.redisCpuMs * 1000) / side.events, 2)} µs per event; linger ${LINGER_MS === undefined ? 'default' : `${LINGER_MS} ms`}; concurrency ${aggConfig.partitionConcurrency}, ≤ ${fmt(aggConfig.maxBatchEvents)} events per apply)`);
    }
    if (KAFKA_WARMUP_ROUNDS > 0) {
      const rawAll = rawAllEvents / rawAllSecs;
      out.push(`with the warm-up round${KAFKA_WARMUP_ROUNDS === 1 ? '' : 's'} counted too: kafkajs consume + decode ${fmt(rawAll)} events/s; ${sides.map((side) => `${side.name} ${((side.allEvents / side.allSecs) / rawAll).toFixed(2)} ×`).join(', ')}`);
    }
  }
}

/** P50 / P95 / max of a list of ms, for one printed line. */
function percentiles(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(s.length * q) - 1)]!;
  return `p50 ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms`;
}

/**
 * The metrics read of the aggregator before bounded queries (kept here to measure against): series
 * 200 at a time through readRanges, each series' settled days in a per-series SettledDayCache.
 */
async function oldMetricsRead(store: WindowStore, connector: string, plan: RangePlan, now: number, cache: SettledDayCache | null): Promise<number> {
  const series = await store.listSeries('default', connector);
  const total = emptyBucket();
  for (let i = 0; i < series.length; i += 200) {
    if (i > 0) await new Promise((r) => setImmediate(r));
    const [merged] = await readRanges(store, 'default', connector, series.slice(i, i + 200), [plan], cache === null ? undefined : { cache, now, cfg: DEFAULT_WINDOW_CONFIG });
    for (const b of merged ?? []) mergeBucket(total, b);
  }
  return total.c;
}

/**
 * 4: P50/P95 of a 30-day metrics query at QUERY_CONNECTORS × 20 active series (default 1 000)
 * with 30 days of history, querying the connectors in turn (each query merges one connector's 20
 * series), for bucket layout 1 (the JSON writer before layout 2), layout 2 reading layout-1 keys
 * too (the default during migration) and layout 2 alone, in one run on the same events: in
 * process, the reader before bounded queries (readRanges, per-series day cache) and readTotals
 * (MetricsQueries), each with its cache off and on; then over HTTP through the service.
 */
async function querySection(url: string, now: number, out: Out): Promise<void> {
  const perConnector = Number(process.env.BENCH_QUERY_EVENTS ?? 20_000);
  const writers = { 1: new RedisWindowStore({ target: { url }, bucketLayout: 1, keyPrefix: 'q1:' }), 2: new RedisWindowStore({ target: { url }, bucketLayout: 2, keyPrefix: 'q2:' }) };
  let offset = 0;
  for (let c = 0; c < QUERY_CONNECTORS; c++) {
    const old = events(perConnector, now - 30 * 86_400_000, now, 1).map((e) => ({ ...e, tenant: 'default', connector: `history-${c}` }));
    for (let i = 0; i < old.length; i += 5_000, offset++) {
      const input = { source: 'bench|q', partition: 0, firstOffset: String(offset), lastOffset: String(offset), records: [{ offset: String(offset), events: old.slice(i, i + 5_000) }] };
      await writers[1].apply(input);
      await writers[2].apply(input);
    }
  }
  await writers[1].close();
  await writers[2].close();
  const variants = [
    { name: 'layout 1', layout: 1 as const, readLegacy: false, prefix: 'q1:' },
    { name: 'layout 2 + layout-1 reads', layout: 2 as const, readLegacy: true, prefix: 'q2:' },
    { name: 'layout 2', layout: 2 as const, readLegacy: false, prefix: 'q2:' },
  ];
  const only = process.env.BENCH_QUERY_VARIANTS === undefined ? null : new Set(process.env.BENCH_QUERY_VARIANTS.split(','));
  for (const v of variants) {
    if (only !== null && !only.has(String(variants.indexOf(v) + 1))) continue;
    const qStore = new RedisWindowStore({ target: { url }, bucketLayout: v.layout, readLegacy: v.readLegacy, keyPrefix: v.prefix });
    let seriesCount = 0;
    for (let c = 0; c < QUERY_CONNECTORS; c++) seriesCount += (await qStore.listSeries('default', `history-${c}`)).length;
    const head = `30d metrics query, ${v.name} (${fmt(seriesCount)} series in ${QUERY_CONNECTORS} connectors, 20 per query)`;
    const range = namedRange('30d', now);
    const plan = planRange(range.from, range.to, now, DEFAULT_WINDOW_CONFIG);
    const runs = async (n: number, read: (connector: string) => Promise<number>): Promise<number[]> => {
      const lat: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        const calls = await read(`history-${i % QUERY_CONNECTORS}`);
        lat.push(performance.now() - t);
        if (!(calls > 0)) throw new Error('30d query found nothing');
      }
      return lat;
    };
    const n = Math.max(60, 2 * QUERY_CONNECTORS);
    // In process, cache off: the read path alone (every hour bucket of the 30 days).
    const plain = new MetricsQueries(qStore, DEFAULT_WINDOW_CONFIG, () => now, 0);
    out.push(`${head}, no cache, before (readRanges): ${percentiles(await runs(QUERY_CONNECTORS, (c) => oldMetricsRead(qStore, c, plan, now, null)))}`);
    out.push(`${head}, no cache, after (readTotals): ${percentiles(await runs(QUERY_CONNECTORS, async (c) => (await plain.metrics('default', c, {}, range))!.calls))}`);
    // Default cache size (QUERY_DAY_CACHE_ENTRIES 20 000), connectors in turn twice.
    const dayCache = new SettledDayCache();
    out.push(`${head}, default cache, before (per-series days): ${percentiles(await runs(n, (c) => oldMetricsRead(qStore, c, plan, now, dayCache)))}`);
    const cachedQueries = new MetricsQueries(qStore, DEFAULT_WINDOW_CONFIG, () => now);
    out.push(`${head}, default cache, after (per-set days and hours): ${percentiles(await runs(n, async (c) => (await cachedQueries.metrics('default', c, {}, range))!.calls))}`);
    // Over HTTP through the service (its own cache, cold at start).
    const bus = createBus({});
    const logger = createLogger({ name: 'bench', level: 'silent' });
    const svc = await createAggregatorService({ bus, logger, store: qStore, config: loadConfig({ ...process.env, SNAPSHOT_INTERVAL_SECONDS: '3600' }) });
    await svc.start();
    const server = svc.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port: httpPort } = server.address() as AddressInfo;
    try {
      for (const window of (process.env.BENCH_QUERY_WINDOWS ?? '30d').split(',')) {
        const lat = await runs(n, async (c) => {
          const res = await fetch(`http://127.0.0.1:${httpPort}/v1/connectors/${c}/metrics?window=${window}`);
          return ((await res.json()) as { calls: number }).calls;
        });
        out.push(`${window} metrics query over HTTP, ${v.name} (${fmt(seriesCount)} series, 20 per query, ${n} queries): first ${lat[0]!.toFixed(1)} ms, ${percentiles(lat)}`);
      }
    } finally {
      await new Promise((r) => server.close(r));
      await svc.stop();
      await bus.close();
      await qStore.close();
    }
  }
}

await main();
