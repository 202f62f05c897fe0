/*
 * Ingest benchmark: spans per second for 512-span OTLP bodies, decode-only and end to end through
 * the HTTP app into the bus, next to JSON.parse of the same body, plus peak RSS.
 * Run: npx tsx services/ingest/bench/ingest.ts   (loopback only, bounded; ~1 minute)
 * With kcat on PATH it also starts a librdkafka mock broker and measures the Kafka bus.
 * BENCH_SERVER_FLAGS="<node flags>" starts the server process with extra node flags.
 * BENCH_E2E=<run names separated by ;> runs only those end-to-end runs (e.g. "kafka (mock broker), batched").
 * BENCH_CPU_PROF=<dir> writes a CPU profile of each timed end-to-end run (server side) into <dir>.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { encodeInvocationBatch, encodeInvocationBatchV1, encodeInvocationBatchV2 } from '@pulsegate/events';
import { decodeJsonTraces, decodeProtobufTraces, extractInvocations } from '@pulsegate/otlp';
import { connectorSpan, recordSpans } from '../../../packages/otlp/test/builders';

const SPANS = 512;
/** Requests sent before each timed end-to-end run (not counted). */
const WARMUP_REQUESTS = 40;
const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Runs fn repeatedly for about `ms` (after a warm-up) and returns spans/s. */
function rate(fn: () => void, ms = 1500): number {
  for (let i = 0; i < 20; i++) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < ms && n < 100_000) {
    fn();
    n++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (n * SPANS) / (elapsed / 1000);
}

// The load generator runs in its own process so the figures (and the CPU time) are the ingest
// process's own. Plain JS for `node -e`: argv = port, requests, concurrency, body file.
const CLIENT = `
const http = require('node:http');
const fs = require('node:fs');
const [port, requests, concurrency, file, type] = process.argv.slice(1);
const body = fs.readFileSync(file);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) });
const status = {};
let next = 0;
const send = () => new Promise((resolve, reject) => {
  const req = http.request({ host: '127.0.0.1', port: Number(port), path: '/v1/traces', method: 'POST', agent,
    headers: { 'content-type': type, 'content-encoding': 'gzip', 'content-length': body.length } }, (res) => {
    status[res.statusCode] = (status[res.statusCode] || 0) + 1;
    res.resume();
    res.on('end', resolve);
  });
  req.on('error', reject);
  req.end(body);
});
Promise.all(Array.from({ length: Number(concurrency) }, async () => { while (next < Number(requests)) { next++; await send(); } }))
  .then(() => { process.stdout.write(JSON.stringify(status)); agent.destroy(); });
`;

/** A gzip request body on disk for the load generator, with its content type. */
interface Body {
  file: string;
  type: string;
}

interface EndToEnd {
  spansPerSec: number;
  cpuUsPerSpan: number;
  peakRssMiB: number;
  status: Record<number, number>;
}

/** Forks the ingest server (bench/server.ts) with `mode`, drives it with the load generator, stops it. */
async function endToEnd(mode: string, brokers: string | undefined, body: Body, requests: number, concurrency: number): Promise<EndToEnd> {
  const execArgv = [...process.execArgv, ...(process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter((f) => f !== '')];
  const server = fork(SERVER, brokers === undefined ? [mode] : [mode, brokers], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const message = <T>(): Promise<T> =>
    new Promise((resolve, reject) => {
      server.once('message', (m) => resolve(m as T));
      server.once('exit', (code) => reject(new Error(`ingest server exited with ${code}`)));
    });
  const { port } = await message<{ port: number }>();
  const load = async (n: number): Promise<string> => {
    const client = spawn(process.execPath, ['-e', CLIENT, String(port), String(n), String(concurrency), body.file, body.type], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    client.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((r) => client.once('exit', r));
    return out;
  };
  // Warm-up so the JIT has compiled the hot path before the timed run.
  await load(WARMUP_REQUESTS);
  const marked = message<{ marked: boolean }>();
  server.send('mark');
  await marked;
  const t0 = process.hrtime.bigint();
  const out = await load(requests);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const stats = message<{ cpuUs: number; peakRss: number }>();
  server.send('stop');
  const { cpuUs, peakRss } = await stats;
  await new Promise((r) => (server.exitCode === null ? server.once('exit', r) : r(undefined)));
  const status = JSON.parse(out || '{}') as Record<number, number>;
  const accepted = (status[200] ?? 0) * SPANS;
  return { spansPerSec: accepted / seconds, cpuUsPerSpan: cpuUs / Math.max(1, accepted), peakRssMiB: peakRss / 1024 / 1024, status };
}

async function startMockKafka(): Promise<{ brokers: string; proc: ChildProcess } | undefined> {
  if (spawnSync('kcat', ['-V']).status !== 0) return undefined;
  const proc = spawn('kcat', ['-b', 'localhost:1', '-X', 'test.mock.num.brokers=1', '-C', '-t', 'bench-keepalive', '-d', 'mock', '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve(undefined), 10_000);
    proc.stderr!.on('data', (c: Buffer) => {
      text += c.toString();
      const m = /bootstrap\.servers=(\S+)/.exec(text);
      if (m !== null) {
        clearTimeout(timer);
        proc.stderr!.removeAllListeners('data');
        proc.stderr!.resume();
        resolve({ brokers: m[1]!, proc });
      }
    });
  });
}

async function main(): Promise<void> {
  const spans = await recordSpans([{ attributes: { 'service.name': 'contoso-sales', 'service.version': '2.0.0' }, spans: Array.from({ length: SPANS }, (_, i) => connectorSpan(i, { action: `Action${i % 8}`, status: i % 50 === 0 ? 503 : 200 })) }]);
  const proto = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
  const json = Buffer.from(JsonTraceSerializer.serializeRequest(spans)!);
  const gzProto = gzipSync(proto);
  const gzJson = gzipSync(json);
  console.log(`bodies of ${SPANS} spans: protobuf ${fmt(proto.length)} B (gzip ${fmt(gzProto.length)} B), JSON ${fmt(json.length)} B (gzip ${fmt(gzJson.length)} B)`);
  const dir = mkdtempSync(join(tmpdir(), 'ingest-bench-'));
  const proto512: Body = { file: join(dir, 'body.pb.gz'), type: 'application/x-protobuf' };
  const json512: Body = { file: join(dir, 'body.json.gz'), type: 'application/json' };
  writeFileSync(proto512.file, gzProto);
  writeFileSync(json512.file, gzJson);
  console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
  console.log('decode only (spans/s, one core)');
  const jsonText = json.toString('utf8');
  const rows: Array<[string, () => void]> = [
    ['JSON.parse of the JSON body alone', () => JSON.parse(jsonText)],
    ['JSON decode + extraction', () => extractInvocations(decodeJsonTraces(json), 't')],
    ['gunzip + JSON decode + extraction', () => extractInvocations(decodeJsonTraces(gunzipSync(gzJson)), 't')],
    ['protobuf decode + extraction', () => extractInvocations(decodeProtobufTraces(proto), 't')],
    ['gunzip + protobuf decode + extraction', () => extractInvocations(decodeProtobufTraces(gunzipSync(gzProto)), 't')],
  ];
  const events = extractInvocations(decodeProtobufTraces(proto), 't').events;
  rows.push(
    ['encodeInvocationBatch (v3) of the extracted events', () => encodeInvocationBatch(events)],
    ['encodeInvocationBatchV2 (previous format)', () => encodeInvocationBatchV2(events)],
    ['encodeInvocationBatchV1 (v1 objects)', () => encodeInvocationBatchV1(events)],
  );
  const perEvent = (b: Buffer): string => (b.length / events.length).toFixed(0);
  console.log(`  batch message bytes per event: v3 ${perEvent(encodeInvocationBatch(events))}, v2 ${perEvent(encodeInvocationBatchV2(events))}, v1 ${perEvent(encodeInvocationBatchV1(events))}`);
  if (process.env.BENCH_E2E === undefined) for (const [name, fn] of rows) console.log(`  ${name.padEnd(46)} ${fmt(rate(fn)).padStart(10)}`);

  const requests = 300;
  console.log(`\nend to end: gzip protobuf (or gzip JSON where named) over HTTP/1.1 keep-alive (loopback, load generator in a child process), ${requests} requests × ${SPANS} spans, 16 concurrent`);
  const only = process.env.BENCH_E2E?.split(';');
  const OVERLOAD = '\noverload: 128 concurrent senders against the default in-flight limit (64 requests / 96 MiB)';
  const run = async (name: string, ...args: Parameters<typeof endToEnd>): Promise<void> => {
    if (only === undefined || only.includes(name)) report(name, await endToEnd(...args));
  };
  // Overload rows run in both bus sections; their heading is printed once, before the first that runs.
  let overloadHeading = false;
  const runOverload = async (name: string, ...args: Parameters<typeof endToEnd>): Promise<void> => {
    if (only !== undefined && !only.includes(name)) return;
    if (!overloadHeading) console.log(OVERLOAD);
    overloadHeading = true;
    await run(name, ...args);
  };
  const report = (name: string, r: EndToEnd): void =>
    console.log(`  ${name.padEnd(42)} ${fmt(r.spansPerSec).padStart(10)} spans/s  ${r.cpuUsPerSpan.toFixed(2).padStart(6)} µs CPU/span  server peak RSS ${r.peakRssMiB.toFixed(0)} MiB  statuses ${JSON.stringify(r.status)}`);
  await run('memory bus, batched', 'memory', undefined, proto512, requests, 16);
  await run('memory bus, batched, gzip JSON', 'memory', undefined, json512, requests, 16);
  await run('memory bus, one message per span', 'memory-per-span', undefined, proto512, requests, 16);

  const kafka = await startMockKafka();
  if (kafka === undefined) {
    console.log('  (Kafka bus skipped: kcat not found on PATH)');
  } else {
    try {
      await run('kafka (mock broker), batched', 'kafka', kafka.brokers, proto512, requests, 16);
      await run('kafka (mock broker), batched, gzip JSON', 'kafka', kafka.brokers, json512, requests, 16);
      await run('kafka (mock broker), one message per span', 'kafka-per-span', kafka.brokers, proto512, 60, 16);
      await runOverload('kafka (mock broker), batched, overload', 'kafka', kafka.brokers, proto512, 600, 128);
    } finally {
      kafka.proc.kill('SIGTERM');
    }
  }

  await runOverload('memory bus, batched, overload', 'memory', undefined, proto512, 600, 128);
  rmSync(dir, { recursive: true, force: true });
}

await main();
