import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface SendOptions {
  /** Spans per export request. Default 200. */
  batch?: number;
  /** Per-export deadline of the exporter, retries included, ms. Default 30 000 (the SDK's is 10 000). */
  timeoutMillis?: number;
  protocol?: 'json' | 'proto-gzip';
  /** Span end time, epoch ms. Default now − 5 s (inside the current window). */
  endMs?: number;
  headers?: Record<string, string>;
  /** One export request in flight at a time (as a steadily running SDK does). Default false: all at once. */
  sequential?: boolean;
}

/**
 * Records `count` connector action spans with the real OpenTelemetry SDK and exports them with
 * the real OTLP/HTTP exporter (its own retry and backoff included). Resolves when the SDK is done
 * with them: exported, or given up after its retries.
 */
export async function sendSpans(ingestUrl: string, connector: string, count: number, options: SendOptions = {}): Promise<void> {
  const timeoutMillis = options.timeoutMillis ?? 30_000;
  const batch = options.batch ?? 200;
  const exporter =
    options.protocol === 'proto-gzip'
      ? new ProtoExporter({ url: `${ingestUrl}/v1/traces`, timeoutMillis, compression: CompressionAlgorithm.GZIP, headers: options.headers })
      : new JsonExporter({ url: `${ingestUrl}/v1/traces`, timeoutMillis, headers: options.headers });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `${connector}-backend`, 'connector.name': connector, 'connector.version': '1.0.0' }),
    spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: batch, scheduledDelayMillis: 5, maxQueueSize: count + 10, exportTimeoutMillis: timeoutMillis + 1_000 })],
  });
  const tracer = provider.getTracer('faults');
  const end = options.endMs ?? Date.now() - 5_000;
  for (let i = 0; i < count; i++) {
    const span = tracer.startSpan(i % 3 === 0 ? 'POST CreateThing' : 'GET ListThings', {
      kind: SpanKind.CLIENT,
      startTime: end - 50 - (i % 200),
      attributes: { 'connector.operation_id': i % 3 === 0 ? 'CreateThing' : 'ListThings', 'http.request.method': i % 3 === 0 ? 'POST' : 'GET', 'http.response.status_code': i % 17 === 0 ? 429 : 200 },
    });
    span.end(end);
    if (options.sequential === true && (i + 1) % batch === 0) await provider.forceFlush();
  }
  await provider.forceFlush();
  await provider.shutdown();
}
