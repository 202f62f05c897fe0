/**
 * Aggregator-side CPU of span dedup, in one process, no Kafka and no Redis: the same batches as the
 * aggregator bench's Kafka section (80 000 events per round over 50 connectors, the last minute,
 * 500 events per message, ≤ 20 000 per apply) decoded into columns, then aggregated with dedup off
 * and on; with dedup on, each group's identities also go through the client's identity cache
 * (prepare, the script arguments, commit) as an applied script would leave them. Prints CPU per
 * event of the process (all threads: GC helpers included) and of the main thread's aggregation, per
 * side, alternating the order, after a warm-up round. Not part of the test suite. From the repo root:
 *   node --import tsx packages/windows/bench/dedup-cpu.ts
 */
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { decodeInvocationColumns, encodeInvocationBatch, outcomeFor, errorCodeForStatus, type InvocationEvent } from '@pulsegate/events';
import { seededRandom } from '@pulsegate/random';
import { aggregateBatch, DEFAULT_WINDOW_CONFIG, type BatchRecord } from '../src/index';
import { DedupCache, IdentityArgs, newStamp } from '../src/dedup-cache';
import { dedupExpireAt } from '../src/dedup';
import { WriterPool } from '../src/codec';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 80_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONNECTORS = 50;
const PER_MESSAGE = 500;
const PER_APPLY = 20_000;
const ACTIONS = ['ListAccounts', 'GetAccount', 'CreateLead', 'UpdateLead', 'DeleteLead'];
const VERSIONS = ['1.0.0', '1.1.0', '2.0.0', '2.1.0'];

const rand = seededRandom(1);
const hexId = (words: number): string => Array.from({ length: words }, () => Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0')).join('');

function roundMessages(now: number): Buffer[] {
  const byConn = new Map<string, InvocationEvent[]>();
  for (let i = 0; i < EVENTS; i++) {
    const a = Math.floor(rand() * ACTIONS.length);
    const status = rand() < 0.95 ? 200 : rand() < 0.5 ? 429 : 500;
    const outcome = outcomeFor(status, false);
    const connector = `conn-${Math.floor(rand() * CONNECTORS)}`;
    const ev: InvocationEvent = {
      schemaVersion: 1, tenant: 'bench', connector, connectorVersion: VERSIONS[Math.floor(rand() * VERSIONS.length)]!, action: ACTIONS[a]!,
      httpMethod: a < 2 ? 'GET' : 'POST', kind: a < 2 ? 'read' : 'write', httpStatus: status, outcome,
      errorCode: outcome === 'success' ? null : errorCodeForStatus(status),
      latencyMs: Math.round(Math.exp(Math.log(150) + 0.7 * (rand() + rand() + rand() - 1.5) * 2) * 1000) / 1000,
      eventTime: now - 60_000 + Math.floor(rand() * 60_000), correlationId: null, traceId: hexId(4), spanId: hexId(2),
      deprecated: false, sampleWeight: 1,
    } as InvocationEvent;
    (byConn.get(connector) ?? byConn.set(connector, []).get(connector)!).push(ev);
  }
  const msgs: Buffer[] = [];
  for (const list of byConn.values()) for (let i = 0; i < list.length; i += PER_MESSAGE) msgs.push(encodeInvocationBatch(list.slice(i, i + PER_MESSAGE)));
  // Interleaved the way a partition's log would be.
  return msgs.sort(() => rand() - 0.5);
}

/** Main-thread GC pause time so far, ms. */
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

function side(msgs: Buffer[], dedup: boolean, cache: DedupCache, now: number): { cpuUs: number; mainMs: number } {
  const cfg = { ...DEFAULT_WINDOW_CONFIG, dedupHorizonMs: dedup ? DEFAULT_WINDOW_CONFIG.dedupHorizonMs : 0 };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let offset = 0;
  for (let i = 0; i < msgs.length; ) {
    const records: BatchRecord[] = [];
    for (let n = 0; i < msgs.length && n < PER_APPLY; i++) {
      const columns = decodeInvocationColumns(msgs[i]!);
      n += columns.length;
      records.push({ offset: String(offset++), columns });
    }
    const groups = aggregateBatch(records, now, cfg);
    if (!dedup) continue;
    const keys: string[] = [];
    const stamp = newStamp();
    const prepared = [...groups.values()].filter((g) => g.dedup.byMinute.size > 0).map((g) => ({ g, ids: cache.prepare(g.dedup, g.tag, now) }));
    const args = IdentityArgs.sized(prepared.map((p) => p.ids.minutes), pool);
    for (const { g, ids } of prepared) {
      args.entries(ids.minutes, (k) => keys.push(k), now, cfg.dedupHorizonMs);
      cache.commit(g.tag, ids.minutes, stamp, (minute) => dedupExpireAt(minute, now, cfg.dedupHorizonMs));
    }
    pool.give(args.writer);
    if (args.buffer().length === 0) throw new Error('no identities written');
  }
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: cpu.user + cpu.system, mainMs: performance.now() - t0 };
}

const now = Date.now();
const cache = new DedupCache(4_000_000);
const pool = new WriterPool();
const totals = { on: { cpu: 0, wall: 0, gc: 0 }, off: { cpu: 0, wall: 0, gc: 0 } };
console.log(`node ${process.version}; ${EVENTS} events per round, ${ROUNDS} rounds after 1 warm-up round`);
// Every round's messages made first, so the sides' GC figures hold only their own garbage.
const rounds = Array.from({ length: ROUNDS + 1 }, () => roundMessages(now));
for (let r = 0; r <= ROUNDS; r++) {
  const msgs = rounds[r]!;
  for (const dedup of (r % 2 === 0 ? [true, false] : [false, true]).filter((d) => process.env.SIDE === undefined || String(d) === process.env.SIDE)) {
    const gc0 = gcMs;
    const s = side(msgs, dedup, cache, now);
    // GC entries reach the observer on a later turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (r === 0) continue;
    const t = dedup ? totals.on : totals.off;
    t.cpu += s.cpuUs;
    t.wall += s.mainMs;
    t.gc += gcMs - gc0;
  }
}
const per = (x: number, scale: number): string => ((x * scale) / (EVENTS * ROUNDS)).toFixed(2);
for (const [name, t] of Object.entries(totals)) console.log(`dedup ${name}: ${per(t.wall, 1e3)} µs per event on the main thread (wall), ${per(t.cpu, 1)} µs per event of process CPU (all threads), of which main-thread GC pauses ${per(t.gc, 1e3)} µs`);
console.log(`dedup adds ${per(totals.on.wall - totals.off.wall, 1e3)} µs per event (main thread), ${per(totals.on.cpu - totals.off.cpu, 1)} µs (process CPU); the cache holds ${cache.size} identities`);
if (cache.size !== EVENTS * (ROUNDS + 1)) throw new Error(`the cache holds ${cache.size} identities, not every event's ${EVENTS * (ROUNDS + 1)}`);
