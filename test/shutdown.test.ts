import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { freePort, integration, startKafka, type KafkaHandle } from '@pulsegate/testkit';
import { startService, type ServiceProcess } from './support/processes';

const CONNECTOR = 'ShutdownConnector';
const STREAMS = 4;
const SPANS_PER_EXPORT = 40;

/** What happened to one HTTP request of the exporter, seen from the client side. */
interface Attempt {
  afterSigterm: boolean;
  status?: number;
  retryAfter?: string;
  error?: string;
}

async function eventually<T>(probe: () => Promise<T | undefined>, attempts = 300, delayMs = 200): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error('condition not met in time');
}

/** `count` finished spans of distinct ids, recorded with the real SDK, ending a second ago. */
function makeSpans(count: number): ReadableSpan[] {
  const copy = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'shutdown-backend', 'connector.name': CONNECTOR, 'connector.version': '1.0.0' }),
    spanProcessors: [new SimpleSpanProcessor(copy)],
  });
  const tracer = provider.getTracer('pulsegate-shutdown-test');
  const end = Date.now() - 1000;
  for (let i = 0; i < count; i++) {
    const span = tracer.startSpan('GET ListThings', {
      kind: SpanKind.CLIENT,
      startTime: end - 20,
      attributes: { 'connector.operation_id': 'ListThings', 'http.request.method': 'GET', 'http.response.status_code': 200 },
    });
    span.end(end);
  }
  return copy.getFinishedSpans();
}

describe.skipIf(integration(['kafka']).skip)('compiled services shut down cleanly on SIGTERM under load', () => {
  let kafka: KafkaHandle;
  let ingest: ServiceProcess;
  let aggregator: ServiceProcess;

  beforeAll(async () => {
    kafka = await startKafka();
    const env = { KAFKA_BROKERS: kafka.brokers.join(','), SHUTDOWN_GRACE_MS: '20000', LOG_LEVEL: 'info' };
    [ingest, aggregator] = await Promise.all([
      startService('ingest', await freePort(), env, 60_000),
      startService('aggregator', await freePort(), env, 60_000),
    ]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([ingest?.stop(), aggregator?.stop()]);
    await kafka?.stop();
  }, 60_000);

  it('ingest exits 0 mid-stream, answers every request it accepted (200, or 503 with Retry-After), and every acknowledged span is counted', async () => {
    const attempts: Attempt[] = [];
    let sigtermSent = false;
    let ingestExited = false;
    const onRequest = (message: unknown): void => {
      const request = (message as { request: ClientRequest }).request;
      if (request.path !== '/v1/traces') return;
      const attempt: Attempt = { afterSigterm: sigtermSent };
      attempts.push(attempt);
      request.once('response', (res: IncomingMessage) => {
        attempt.status = res.statusCode;
        const retryAfter = res.headers['retry-after'];
        if (retryAfter !== undefined) attempt.retryAfter = retryAfter;
      });
      request.once('error', (err: NodeJS.ErrnoException) => {
        attempt.error = err.code ?? err.message;
      });
    };
    subscribe('http.client.request.start', onRequest);

    let acknowledged = 0;
    let refusedExports = 0;
    const stream = async (): Promise<void> => {
      const exporter = new OTLPTraceExporter({ url: `${ingest.url}/v1/traces`, timeoutMillis: 60_000 });
      // Bounded: a stream stops once ingest has exited (or after 2 000 exports, far more than needed).
      for (let i = 0; i < 2000 && !ingestExited; i++) {
        const spans = makeSpans(SPANS_PER_EXPORT);
        const result = await new Promise<{ code: ExportResultCode }>((resolve) => exporter.export(spans, resolve));
        if (result.code === ExportResultCode.SUCCESS) acknowledged += spans.length;
        else refusedExports++;
      }
      await exporter.shutdown();
    };
    const streams = Array.from({ length: STREAMS }, () => stream());

    // Mid-stream: once a few exports went through, and while every stream keeps sending.
    await eventually(async () => (acknowledged >= 10 * SPANS_PER_EXPORT ? true : undefined));
    sigtermSent = true;
    const code = await ingest.stop(30_000);
    ingestExited = true;
    await Promise.all(streams);
    unsubscribe('http.client.request.start', onRequest);

    // Exit 0 means the ordered shutdown finished within SHUTDOWN_GRACE_MS (it exits 1 otherwise).
    expect(code, ingest.output().slice(-2000)).toBe(0);
    expect(attempts.filter((a) => a.afterSigterm).length, 'requests sent after SIGTERM').toBeGreaterThan(0);
    // Client side: every request was answered 200, or 503 with Retry-After, or never got in: refused,
    // or reset while still in the kernel's accept queue when the listening socket closed.
    const unexpected = attempts.filter(
      (a) =>
        !(a.status === 200 || (a.status === 503 && a.retryAfter !== undefined) || (a.status === undefined && (a.error === 'ECONNREFUSED' || a.error === 'ECONNRESET'))),
    );
    expect(unexpected).toEqual([]);
    // Server side: every request ingest received it answered, and every answer reached the client,
    // so no reset above was a request ingest had read.
    const stopped = ingest
      .output()
      .split('\n')
      .filter((line) => line.includes('"msg":"stopped"'))
      .map((line) => JSON.parse(line) as { requests: { received: number; answered: number } });
    expect(stopped).toHaveLength(1);
    const { received, answered } = stopped[0]!.requests;
    expect(answered).toBe(received);
    expect(attempts.filter((a) => a.status !== undefined).length).toBe(answered);
    expect(refusedExports, 'exports after ingest stopped fail').toBeGreaterThan(0);

    // Every acknowledged span is counted, once: the aggregator's total equals the acknowledged spans.
    const counted = await eventually(async () => {
      const body = (await (await fetch(`${aggregator.url}/v1/connectors/${CONNECTOR}/metrics?window=15m`)).json()) as { calls?: number };
      return body.calls === acknowledged ? body.calls : undefined;
    }).catch(async () => ((await (await fetch(`${aggregator.url}/v1/connectors/${CONNECTOR}/metrics?window=15m`)).json()) as { calls?: number }).calls);
    expect(counted).toBe(acknowledged);

    expect(await aggregator.stop(30_000), aggregator.output().slice(-2000)).toBe(0);
  }, 240_000);
});
