import { ROOT_CONTEXT, SpanKind, trace, type Attributes, type HrTime, type SpanStatusCode } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { InvocationEvent } from '@pulsegate/events';

/** One span to record with the real OpenTelemetry SDK. Times in ns since the epoch. */
export interface SpanSpec {
  name: string;
  kind?: SpanKind;
  attributes?: Attributes;
  startNs: bigint;
  durationNs: bigint;
  status?: SpanStatusCode;
  /** W3C tracestate inherited from a remote parent (carries `ot=th:` / `ot=p:`). */
  traceState?: string;
}

/** Spans of one resource. */
export interface ResourceSpec {
  attributes: Attributes;
  spans: SpanSpec[];
}

export function hrTime(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

export function nanos(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

/** Records the spans with BasicTracerProvider (one provider per resource) and returns them finished. */
export async function recordSpans(resources: ResourceSpec[]): Promise<ReadableSpan[]> {
  const out: ReadableSpan[] = [];
  for (const r of resources) {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes(r.attributes),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('pulsegate-test');
    for (const spec of r.spans) {
      let ctx = ROOT_CONTEXT;
      if (spec.traceState !== undefined) {
        ctx = trace.setSpanContext(ROOT_CONTEXT, {
          traceId: randomHex(32),
          spanId: randomHex(16),
          traceFlags: 1,
          isRemote: true,
          traceState: new TraceState(spec.traceState),
        });
      }
      const span = tracer.startSpan(spec.name, { kind: spec.kind ?? SpanKind.INTERNAL, attributes: spec.attributes, startTime: hrTime(spec.startNs) }, ctx);
      if (spec.status !== undefined) span.setStatus({ code: spec.status });
      span.end(hrTime(spec.startNs + spec.durationNs));
    }
    await provider.forceFlush();
    out.push(...exporter.getFinishedSpans());
    await provider.shutdown();
  }
  return out;
}

function randomHex(len: number): string {
  let s = '';
  while (s.length < len) s += Math.floor(Math.random() * 16).toString(16);
  return s.replace(/^0/, '1');
}

/** Exact reference values of the fields every event copies from its span (BigInt arithmetic). */
export function spanDerived(span: ReadableSpan): Pick<InvocationEvent, 'traceId' | 'spanId' | 'latencyMs' | 'eventTime'> {
  const start = nanos(span.startTime);
  const end = nanos(span.endTime);
  return {
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    latencyMs: Number(end - start) / 1e6,
    eventTime: Number(end / 1_000_000n),
  };
}

/** A connector SERVER span of `connector`/`version` calling `action`, for bulk bodies. */
export function connectorSpan(i: number, opts: { action?: string; status?: number; method?: string } = {}): SpanSpec {
  return {
    name: opts.action ?? 'ListInvoices',
    kind: SpanKind.SERVER,
    startNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_003n,
    durationNs: 1_000_000n + BigInt(i % 997) * 12_345n,
    attributes: {
      'connector.operation_id': opts.action ?? 'ListInvoices',
      'http.request.method': opts.method ?? 'GET',
      'http.response.status_code': opts.status ?? 200,
      'http.route': '/invoices',
      'url.path': `/invoices/${i}`,
      'server.address': 'api.contoso.com',
      'connector.correlation_id': `corr-${i}`,
    },
  };
}
