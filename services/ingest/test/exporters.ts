import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Express } from 'express';
import type { InvocationEvent } from '@pulsegate/events';
import { hrTime, spanDerived } from '../../../packages/otlp/test/builders';

/** Listens on a free loopback port; returns the base URL and a close function. */
export async function listen(app: Express): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The two real exporters the issue names: OTLP/HTTP JSON, and protobuf with gzip. */
export function exporterFor(kind: 'json' | 'proto-gzip', url: string, headers: Record<string, string> = {}): SpanExporter {
  return kind === 'json'
    ? new HttpJsonExporter({ url: `${url}/v1/traces`, headers })
    : new ProtoExporter({ url: `${url}/v1/traces`, headers, compression: CompressionAlgorithm.GZIP });
}

const RESOURCE: Attributes = { 'service.name': 'contoso-sales', 'service.version': '4.2.0', 'connector.name': 'contoso' };
const ACTIONS = [
  { op: 'ListInvoices', method: 'GET', status: 200 },
  { op: 'CreateInvoice', method: 'POST', status: 201 },
  { op: 'GetInvoice', method: 'GET', status: 404 },
  { op: 'UpdateInvoice', method: 'PATCH', status: 429 },
  { op: 'DeleteInvoice', method: 'DELETE', status: 500 },
] as const;

/**
 * Sends `count` connector spans (plus one internal span that must be ignored) through the real SDK
 * pipeline — SimpleSpanProcessor for JSON, BatchSpanProcessor for protobuf — and returns the
 * events that must arrive, computed from the finished spans.
 */
export async function sendThroughSdk(kind: 'json' | 'proto-gzip', url: string, count: number, tenant = 'default', headers: Record<string, string> = {}): Promise<InvocationEvent[]> {
  const exporter = exporterFor(kind, url, headers);
  const copy = new InMemorySpanExporter();
  const processor = kind === 'json' ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter, { maxExportBatchSize: 64, scheduledDelayMillis: 50 });
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes(RESOURCE), spanProcessors: [processor, new SimpleSpanProcessor(copy)] });
  const tracer = provider.getTracer('e2e');
  const base = 1_731_500_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e9)) * 1_000_000n;
  for (let i = 0; i < count; i++) {
    const a = ACTIONS[i % ACTIONS.length]!;
    const start = base + BigInt(i) * 1_000_003n;
    const span = tracer.startSpan(`${a.method} ${a.op}`, {
      kind: SpanKind.CLIENT,
      startTime: hrTime(start),
      attributes: { 'connector.operation_id': a.op, 'http.request.method': a.method, 'http.response.status_code': a.status, 'connector.correlation_id': `${kind}-${i}` },
    });
    if (a.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(hrTime(start + 250_000n + BigInt(i) * 777n));
  }
  tracer.startSpan('internal work').end();
  await provider.forceFlush();
  const finished = copy.getFinishedSpans(); // shutdown() empties the in-memory exporter
  await provider.shutdown();
  const expected: Record<number, Pick<InvocationEvent, 'outcome' | 'errorCode' | 'kind'>> = {
    200: { outcome: 'success', errorCode: null, kind: 'read' },
    201: { outcome: 'success', errorCode: null, kind: 'write' },
    404: { outcome: 'error', errorCode: 'NOT_FOUND', kind: 'read' },
    429: { outcome: 'throttled', errorCode: 'RATE_LIMIT', kind: 'write' },
    500: { outcome: 'error', errorCode: 'INTERNAL_ERROR', kind: 'write' },
  };
  return finished
    .filter((s: ReadableSpan) => s.name !== 'internal work')
    .map((s: ReadableSpan) => {
      const status = s.attributes['http.response.status_code'] as number;
      return {
        schemaVersion: 1,
        tenant,
        connector: 'contoso',
        connectorVersion: '4.2.0',
        action: s.attributes['connector.operation_id'] as string,
        httpMethod: s.attributes['http.request.method'] as string,
        httpStatus: status,
        ...expected[status]!,
        correlationId: s.attributes['connector.correlation_id'] as string,
        sampleWeight: 1,
        ...spanDerived(s),
      };
    });
}

export function bySpanId(events: InvocationEvent[]): InvocationEvent[] {
  return [...events].sort((a, b) => (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0));
}
