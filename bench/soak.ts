// `npm run soak -- --minutes N [--rate SPANS_PER_SECOND] [--sample SECONDS]`: the distributed
// pipeline (ingest, aggregator, anomaly detector, risk scorer as processes; the harness's
// Kafka-protocol broker and Redis) under a fixed span rate from the real OpenTelemetry SDK and
// OTLP/HTTP exporter. Prints throughput, freshness (span accepted by ingest → visible in the
// aggregator's metrics API) P50/P99, peak RSS per process, Redis memory, and memory over time.
// Not part of the test suite; figures only, nothing asserted.
import { SpanKind, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { freePort, redisCommand, startKafka, startRedis } from '@pulsegate/testkit';
import { counted, launch, type ServiceProc } from '../test/faults/support/pipeline';
import { otlpJson, postTraces } from '../test/faults/support/otlp-json';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number (got ${process.argv[i + 1]})`);
  return v;
}

const minutes = arg('minutes', 10);
const rate = arg('rate', 300);
const sampleSeconds = arg('sample', 30);
const CONNECTORS = ['SoakSales', 'SoakBilling', 'SoakCrm', 'SoakMail'];
const ACTIONS = ['List', 'Get', 'Create', 'Update'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mib = (kb: number | undefined): string => (kb === undefined ? 'n/a' : (kb / 1024).toFixed(1));
const quantile = (sorted: number[], p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;

function tracers(url: string): Array<{ tracer: Tracer; provider: BasicTracerProvider }> {
  return CONNECTORS.map((c) => {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': `${c}-backend`, 'connector.name': c, 'connector.version': '2.1.0' }),
      spanProcessors: [
        new BatchSpanProcessor(new OTLPTraceExporter({ url: `${url}/v1/traces`, compression: CompressionAlgorithm.GZIP, timeoutMillis: 30_000 }), {
          maxExportBatchSize: 512,
          scheduledDelayMillis: 200,
          maxQueueSize: 100_000,
        }),
      ],
    });
    return { tracer: provider.getTracer('soak'), provider };
  });
}

async function redisUsedMemory(host: string, port: number): Promise<number> {
  const info = await redisCommand(host, port, ['INFO', 'memory']);
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

async function main(): Promise<void> {
  process.stdout.write(`soak: ${minutes} min at ${rate} spans/s, sampling every ${sampleSeconds} s\n`);
  const [kafka, redis] = await Promise.all([startKafka(), startRedis()]);
  const env = { KAFKA_BROKERS: kafka.brokers.join(','), REDIS_URL: redis.url, LOG_LEVEL: 'warn', SNAPSHOT_INTERVAL_SECONDS: '10' };
  const procs: ServiceProc[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop()));
    await redis.stop();
    await kafka.stop();
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    const ingest = await launch('ingest', await freePort(), env);
    procs.push(ingest);
    const aggregator = await launch('aggregator', await freePort(), env);
    procs.push(aggregator);
    procs.push(await launch('anomaly-detector', await freePort(), { ...env, AGGREGATOR_URL: aggregator.url }));
    procs.push(await launch('risk-scorer', await freePort(), env));

    const load = tracers(ingest.url);
    const endAt = Date.now() + minutes * 60_000;
    const started = Date.now();
    let spans = 0;
    let redisPeak = 0;
    const samples: Array<{ t: number; rss: Array<number | undefined>; redis: number }> = [];
    const freshness: number[] = [];
    let probes = 0;

    // Fixed rate: every 100 ms, as many spans as keep the running total on rate × elapsed.
    const generator = (async () => {
      while (Date.now() < endAt) {
        const due = Math.floor(((Date.now() - started) / 1000) * rate);
        for (; spans < due; spans++) {
          const { tracer } = load[spans % load.length]!;
          const now = Date.now();
          const span = tracer.startSpan(`GET ${ACTIONS[spans % ACTIONS.length]}`, {
            kind: SpanKind.CLIENT,
            startTime: now - 120 - (spans % 300),
            attributes: { 'connector.operation_id': ACTIONS[spans % ACTIONS.length]!, 'http.request.method': 'GET', 'http.response.status_code': spans % 97 === 0 ? 429 : 200 },
          });
          span.end(now);
        }
        await sleep(100);
      }
    })();

    // Freshness: one probe span at a time on its own connector; measured from ingest's 200 to the
    // aggregator's metrics API showing it (polled every 25 ms).
    const prober = (async () => {
      while (Date.now() < endAt) {
        const r = await postTraces(ingest.url, otlpJson('SoakProbe', 1));
        const accepted = Date.now();
        if (r.status === 200) {
          probes++;
          for (;;) {
            const n = await counted(aggregator.url, 'SoakProbe').catch(() => -1);
            if (n >= probes) break;
            if (Date.now() - accepted > 120_000) break;
            await sleep(25);
          }
          freshness.push(Date.now() - accepted);
        }
        await sleep(1_000);
      }
    })();

    const sampler = (async () => {
      while (Date.now() < endAt) {
        await sleep(Math.min(sampleSeconds * 1000, Math.max(0, endAt - Date.now())));
        const used = await redisUsedMemory(redis.host, redis.port).catch(() => NaN);
        if (used > redisPeak) redisPeak = used;
        const s = { t: Math.round((Date.now() - started) / 1000), rss: procs.map((p) => p.rssKb()), redis: used };
        samples.push(s);
        process.stdout.write(`t=${String(s.t).padStart(5)} s  spans=${spans}  RSS MiB ${procs.map((p, i) => `${p.name}=${mib(s.rss[i])}`).join(' ')}  redis used=${(used / 1048576).toFixed(1)} MiB\n`);
      }
    })();

    await Promise.all([generator, prober, sampler]);
    for (const { provider } of load) await provider.forceFlush();
    const sendSeconds = (Date.now() - started) / 1000;
    // Let the pipeline drain, then count what the aggregator saw.
    let total = 0;
    for (let i = 0; i < 120; i++) {
      total = 0;
      for (const c of CONNECTORS) total += await counted(aggregator.url, c).catch(() => 0);
      if (total >= spans) break;
      await sleep(500);
    }
    for (const { provider } of load) await provider.shutdown();

    const f = [...freshness].sort((a, b) => a - b);
    process.stdout.write('\n=== soak result ===\n');
    process.stdout.write(`duration ${(sendSeconds / 60).toFixed(1)} min; spans sent ${spans} (${(spans / sendSeconds).toFixed(0)}/s); counted by aggregator ${total} (window 15m: ${minutes > 14 ? 'only the last 15 min are in the window' : 'all'})\n`);
    process.stdout.write(`freshness (ingest 200 → visible in metrics API), ${f.length} probes: P50 ${quantile(f, 0.5)} ms, P99 ${quantile(f, 0.99)} ms, max ${f.at(-1)} ms\n`);
    for (const p of procs) process.stdout.write(`peak RSS ${p.name}: ${mib(p.peakRssKb())} MiB\n`);
    process.stdout.write(`Redis used_memory peak ${(redisPeak / 1048576).toFixed(1)} MiB\n`);
    // Flat memory: after warm-up (the first quarter), compare the first and the last sample.
    const warm = samples.filter((s) => s.t >= (minutes * 60) / 4);
    if (warm.length >= 2) {
      const first = warm[0]!;
      const last = warm.at(-1)!;
      const growth = procs.map((p, i) => `${p.name} ${first.rss[i] !== undefined && last.rss[i] !== undefined ? (((last.rss[i]! - first.rss[i]!) / first.rss[i]!) * 100).toFixed(1) : 'n/a'} %`);
      process.stdout.write(`RSS change after warm-up (t=${first.t} s → t=${last.t} s): ${growth.join(', ')}; Redis ${(((last.redis - first.redis) / first.redis) * 100).toFixed(1)} %\n`);
    }
  } finally {
    await stopAll();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
