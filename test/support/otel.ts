import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { errorCodeFor, kindForMethod, outcomeFor, type InvocationEvent } from '@pulsegate/events';

/** One connector action call to record as a span. */
export interface Call {
  connector: string;
  version: string;
  action: string;
  method: string;
  status: number;
  latencyMs: number;
  /** Span end, epoch ms. */
  endMs: number;
  correlationId?: string;
  errorCode?: string;
}

export type Protocol = 'json' | 'proto-gzip';

const toHr = (ms: number): [number, number] => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

/**
 * Records the calls with the real OpenTelemetry SDK and exports them with the real OTLP/HTTP
 * exporter (JSON, or protobuf with gzip), one resource per connector/version as a connector SDK
 * would. Returns the invocation events Pulsegate must derive, computed from the finished spans.
 */
export async function exportCalls(ingestUrl: string, protocol: Protocol, calls: Call[], tenant = 'default', headers: Record<string, string> = {}): Promise<InvocationEvent[]> {
  const groups = new Map<string, Call[]>();
  for (const c of calls) {
    const k = `${c.connector}\u0000${c.version}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const expected: InvocationEvent[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const exporter =
      protocol === 'json'
        ? new JsonExporter({ url: `${ingestUrl}/v1/traces`, headers })
        : new ProtoExporter({ url: `${ingestUrl}/v1/traces`, headers, compression: CompressionAlgorithm.GZIP });
    const copy = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': `${first.connector}-backend`, 'connector.name': first.connector, 'connector.version': first.version }),
      spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: 256, scheduledDelayMillis: 20, maxQueueSize: 100_000 }), new SimpleSpanProcessor(copy)],
    });
    const tracer = provider.getTracer('pulsegate-e2e');
    for (const c of group) {
      const attributes: Record<string, string | number> = {
        'connector.operation_id': c.action,
        'http.request.method': c.method,
        'http.response.status_code': c.status,
      };
      if (c.correlationId !== undefined) attributes['connector.correlation_id'] = c.correlationId;
      if (c.errorCode !== undefined) attributes['connector.error_code'] = c.errorCode;
      const span = tracer.startSpan(`${c.method} ${c.action}`, { kind: SpanKind.CLIENT, startTime: toHr(c.endMs - c.latencyMs), attributes });
      if (c.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(toHr(c.endMs));
    }
    await provider.forceFlush();
    const finished = copy.getFinishedSpans();
    await provider.shutdown();
    expected.push(...finished.map((s) => expectedEvent(s, tenant)));
  }
  return expected;
}

const hrToNs = (t: [number, number]): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

/** The event the span must become, following the documented mapping. */
function expectedEvent(s: ReadableSpan, tenant: string): InvocationEvent {
  const status = s.attributes['http.response.status_code'] as number;
  const method = s.attributes['http.request.method'] as string;
  const outcome = outcomeFor(status, s.status.code === SpanStatusCode.ERROR);
  // Exact in nanoseconds: latency is end − start, event time is the span end in whole ms.
  const start = hrToNs(s.startTime as [number, number]);
  const end = hrToNs(s.endTime as [number, number]);
  return {
    schemaVersion: 1,
    tenant,
    connector: s.resource.attributes['connector.name'] as string,
    connectorVersion: s.resource.attributes['connector.version'] as string,
    action: s.attributes['connector.operation_id'] as string,
    httpMethod: method,
    kind: kindForMethod(method),
    httpStatus: status,
    outcome,
    errorCode: errorCodeFor(outcome, status, s.attributes['connector.error_code'] as string | undefined),
    latencyMs: Number(end - start) / 1e6,
    eventTime: Number(end / 1_000_000n),
    correlationId: (s.attributes['connector.correlation_id'] as string | undefined) ?? null,
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    sampleWeight: 1,
  };
}

export function bySpanId(events: InvocationEvent[]): InvocationEvent[] {
  return [...events].sort((a, b) => (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0));
}
