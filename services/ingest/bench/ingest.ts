/*
 * Ingest benchmark: spans per second for 512-span OTLP bodies, decode-only and end to end through
 * the HTTP app into the bus, next to JSON.parse of the same body, plus peak RSS.
 * Run: npx tsx services/ingest/bench/ingest.ts   (loopback only, bounded; ~1 minute)
 * With kcat on PATH it also starts a librdkafka mock broker and measures the Kafka bus.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { MemoryBus, createBus, type Bus, type OutgoingRecord } from '@pulsegate/bus';
import { Topics, decodeInvocationBatch, encodeInvocationBatch } from '@pulsegate/events';
import { createLogger } from '@pulsegate/logging';
import { decodeJsonTraces, decodeProtobufTraces, extractInvocations } from '@pulsegate/otlp';
import { connectorSpan, recordSpans } from '../../../packages/otlp/test/builders';
import { createIngestService, loadConfig } from '../src/index';

const SPANS = 512;
const logger = createLogger({ name: 'ingest-bench', level: 'silent' });

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20);
rssTimer.unref();

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

/** Splits every batch record into one record per event: the "one Kafka message per span" design. */
class PerSpanBus implements Bus {
  constructor(private readonly inner: Bus) {}
  get kind() {
    return this.inner.kind;
  }
  publish(topic: string, records: OutgoingRecord[]): Promise<void> {
    const split: OutgoingRecord[] = [];
    for (const r of records) for (const e of decodeInvocationBatch(r.value as Buffer)) split.push({ key: r.key, value: encodeInvocationBatch([e]) });
    return this.inner.publish(topic, split);
  }
  subscribe: Bus['subscribe'] = (o) => this.inner.subscribe(o);
  isReady(): boolean {
    return this.inner.isReady();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

// The load generator runs in its own process so the figures (and the CPU time) are the ingest
// process's own. Plain JS for `node -e`: argv = port, requests, concurrency, body file.
const CLIENT = `
const http = require('node:http');
const fs = require('node:fs');
const [port, requests, concurrency, file] = process.argv.slice(1);
const body = fs.readFileSync(file);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) });
const status = {};
let next = 0;
const send = () => new Promise((resolve, reject) => {
  const req = http.request({ host: '127.0.0.1', port: Number(port), path: '/v1/traces', method: 'POST', agent,
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip', 'content-length': body.length } }, (res) => {
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

async function endToEnd(bus: Bus, bodyFile: string, requests: number, concurrency: number): Promise<{ spansPerSec: number; cpuUsPerSpan: number; status: Record<number, number> }> {
  const service = await createIngestService({ bus, logger, config: loadConfig({}) });
  await service.start();
  const server = service.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const client = spawn(process.execPath, ['-e', CLIENT, String(port), String(requests), String(concurrency), bodyFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  client.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((r) => client.once('exit', r));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await new Promise<void>((r) => server.close(() => r()));
  await service.stop();
  const status = JSON.parse(out || '{}') as Record<number, number>;
  const accepted = (status[200] ?? 0) * SPANS;
  return { spansPerSec: accepted / seconds, cpuUsPerSpan: (cpu.user + cpu.system) / Math.max(1, accepted), status };
}

/** Keeps the memory bus trimmed the way a consumer would, without decoding. */
async function drained(bus: MemoryBus): Promise<MemoryBus> {
  await bus.subscribe({ groupId: 'bench-drain', topic: Topics.invocations, decode: () => null, handle: async () => undefined });
  return bus;
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
  const bodyFile = join(dir, 'body.pb.gz');
  writeFileSync(bodyFile, gzProto);
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
  for (const [name, fn] of rows) console.log(`  ${name.padEnd(40)} ${fmt(rate(fn)).padStart(12)}`);

  const requests = 300;
  console.log(`\nend to end: gzip protobuf over HTTP/1.1 keep-alive (loopback, load generator in a child process), ${requests} requests × ${SPANS} spans, 16 concurrent`);
  const report = (name: string, r: Awaited<ReturnType<typeof endToEnd>>): void =>
    console.log(`  ${name.padEnd(40)} ${fmt(r.spansPerSec).padStart(12)} spans/s   ${r.cpuUsPerSpan.toFixed(2)} µs CPU/span   statuses ${JSON.stringify(r.status)}`);
  report('memory bus, batched', await endToEnd(await drained(new MemoryBus({ retainRecords: 16 })), bodyFile, requests, 16));
  report('memory bus, one message per span', await endToEnd(new PerSpanBus(await drained(new MemoryBus({ retainRecords: 16 }))), bodyFile, requests, 16));

  const kafka = await startMockKafka();
  if (kafka === undefined) {
    console.log('  (Kafka bus skipped: kcat not found on PATH)');
  } else {
    try {
      for (const [name, wrap] of [
        ['kafka (mock broker), batched', (b: Bus) => b],
        ['kafka (mock broker), one message per span', (b: Bus) => new PerSpanBus(b)],
      ] as const) {
        const bus = createBus({ KAFKA_BROKERS: kafka.brokers, clientId: 'ingest-bench' });
        // A first publish connects the producer and creates the topic before timing starts.
        for (let i = 0; i < 100 && !bus.isReady(); i++) await new Promise((r) => setTimeout(r, 50));
        await bus.publish(Topics.invocations, [{ key: 'warm', value: encodeInvocationBatch([]) }]);
        report(name, await endToEnd(wrap(bus), bodyFile, name.includes('per span') ? 60 : requests, 16));
        await bus.close();
      }
    } finally {
      kafka.proc.kill('SIGTERM');
    }
  }

  console.log('\noverload: 128 concurrent senders against the default in-flight limit (64 requests / 96 MiB)');
  report('memory bus, batched, overload', await endToEnd(await drained(new MemoryBus({ retainRecords: 16 })), bodyFile, 600, 128));
  console.log(`\npeak RSS of this (ingest) process ${(peakRss / 1024 / 1024).toFixed(1)} MiB`);
  rmSync(dir, { recursive: true, force: true });
}

await main();
