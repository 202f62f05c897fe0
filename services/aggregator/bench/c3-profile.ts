// TEMPORARY profiling script (helper C3) — to be deleted.
import { Redis } from 'ioredis';
import { errorCodeForStatus, outcomeFor, type InvocationEvent } from '@pulsegate/events';
import { startRedis } from '@pulsegate/testkit';
import { RedisWindowStore, aggregateBatch, DEFAULT_WINDOW_CONFIG, type BatchRecord } from '@pulsegate/windows';

const ACTIONS = ['list', 'get', 'create', 'update', 'delete'];
const VERSIONS = ['1.0.0', '1.1.0', '2.0.0', '2.1.0'];
let seed = 1;
const rand = (): number => { seed = (seed + 0x6d2b79f5) >>> 0; let t = seed; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
function events(n: number, from: number, to: number, connectors = 50): InvocationEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const a = Math.floor(rand() * ACTIONS.length);
    const status = rand() < 0.95 ? 200 : rand() < 0.5 ? 429 : 500;
    const outcome = outcomeFor(status, false);
    return { schemaVersion: 1, tenant: 'bench', connector: `conn-${Math.floor(rand() * connectors)}`, connectorVersion: VERSIONS[Math.floor(rand() * VERSIONS.length)]!, action: ACTIONS[a]!, httpMethod: a < 2 ? 'GET' : 'POST', kind: a < 2 ? 'read' : 'write', httpStatus: status, outcome, errorCode: outcome === 'success' ? null : errorCodeForStatus(status), latencyMs: Math.round(Math.exp(Math.log(150) + 0.7 * (rand() + rand() + rand() - 1.5) * 2) * 1000) / 1000, eventTime: from + Math.floor(rand() * (to - from)), correlationId: null, traceId: (i + 1).toString(16).padStart(32, '0'), spanId: (i + 1).toString(16).padStart(16, '0'), sampleWeight: 1 } as InvocationEvent;
  });
}
function partitionBatches(evs: InvocationEvent[], perMessage: number, recordsPerBatch: number) {
  const byConn = new Map<string, InvocationEvent[]>();
  for (const e of evs) (byConn.get(e.connector) ?? byConn.set(e.connector, []).get(e.connector)!).push(e);
  const parts: BatchRecord[][] = [[], [], [], []];
  let c = 0;
  for (const list of byConn.values()) { const p = parts[c++ % 4]!; for (let i = 0; i < list.length; i += perMessage) p.push({ offset: String(p.length), events: list.slice(i, i + perMessage) }); }
  const out: Array<{ partition: number; records: BatchRecord[] }> = [];
  parts.forEach((recs, partition) => { recs.sort((a, b) => Number(a.offset) - Number(b.offset)); recs.forEach((r, i) => (r.offset = String(i))); for (let i = 0; i < recs.length; i += recordsPerBatch) out.push({ partition, records: recs.slice(i, i + recordsPerBatch) }); });
  return out;
}
async function usec(admin: Redis): Promise<number> { const info = await admin.info('commandstats'); let t = 0; for (const m of info.matchAll(/cmdstat_(evalsha|eval):calls=\d+,usec=(\d+)/g)) t += Number(m[2]); return t; }
const redis = await startRedis();
const admin = new Redis(redis.url);
try {
  const now = Date.now();
  const store = new RedisWindowStore({ target: { url: redis.url } });
  let src = 0;
  for (const b of partitionBatches(events(200_000, now - 60_000, now), 500, 6)) await store.apply({ source: 'pre', partition: b.partition, firstOffset: b.records[0]!.offset, lastOffset: b.records.at(-1)!.offset, records: b.records });
  for (let rep = 0; rep < 3; rep++) {
    const batches = partitionBatches(events(150_000, now - 60_000, now), 500, 3);
    let agg = 0;
    for (const b of batches) { const t = performance.now(); aggregateBatch(b.records, now, DEFAULT_WINDOW_CONFIG); agg += performance.now() - t; }
    const u0 = await usec(admin);
    const t0 = performance.now();
    for (const b of batches) await store.apply({ source: `run${src++}`, partition: b.partition, firstOffset: b.records[0]!.offset, lastOffset: b.records.at(-1)!.offset, records: b.records });
    const ms = performance.now() - t0;
    const lua = ((await usec(admin)) - u0) / 1000;
    console.log(`${batches.length} applies of ~${Math.round(150000 / batches.length)} events: total ${ms.toFixed(0)} ms = ${(ms / batches.length).toFixed(2)} ms/apply; lua ${(lua / batches.length).toFixed(2)} ms/apply; aggregateBatch ${(agg / batches.length).toFixed(2)} ms/apply; ${Math.round(150000 / ms * 1000)} ev/s`);
  }
  const keys = (await admin.keys('pg:w1:*:b:m:*')).slice(0, 300);
  let bytes = 0; for (const k of keys) bytes += Number(await admin.memory('USAGE', k));
  const hk = (await admin.keys('pg:w1:*:b:h:*')).slice(0, 100);
  let hb = 0; for (const k of hk) hb += Number(await admin.memory('USAGE', k));
  console.log(`bytes/minute key ${Math.round(bytes / keys.length)}, hour key ${Math.round(hb / hk.length)}`);
  await store.close();
} finally { await admin.quit(); await redis.stop(); }
