import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { CONNECTOR } from './contoso';
import type { DemoCall } from './scenario';

/** Export counts of a SpanSender. */
export interface SpanCounts {
  /** Spans handed to the SDK. */
  recorded: number;
  /** Spans the exporter delivered (ingest answered 2xx). */
  exported: number;
  /** Spans whose export failed (ingest unreachable or an error answer). */
  failed: number;
}

/** Delegates to the OTLP exporter and counts what it reports, so the demo can say what arrived. */
class CountingExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly counts: SpanCounts,
    private readonly onError: (err: Error | undefined) => void,
  ) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.counts.exported += spans.length;
      else {
        this.counts.failed += spans.length;
        this.onError(result.error);
      }
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/**
 * Records DemoCalls as spans with the real OpenTelemetry SDK (BasicTracerProvider +
 * BatchSpanProcessor + OTLP/HTTP protobuf exporter), one provider per connector version because a
 * deployed connector version is its own resource (`connector.name`, `connector.version`).
 * Attributes follow the ingest mapping: `connector.operation_id`, `http.request.method`,
 * `http.response.status_code`, `http.route`, `connector.correlation_id`, `connector.error_code`.
 */
export class SpanSender {
  readonly counts: SpanCounts = { recorded: 0, exported: 0, failed: 0 };
  private readonly providers = new Map<string, BasicTracerProvider>();
  private lastError: string | null = null;

  constructor(
    private readonly ingestUrl: string,
    private readonly headers: Record<string, string> = {},
    /** `connector.name` of every span. Default the demo's ContosoSales. */
    private readonly connector: string = CONNECTOR,
  ) {}

  /** The last export error message, if any. */
  get error(): string | null {
    return this.lastError;
  }

  private provider(version: string): BasicTracerProvider {
    let p = this.providers.get(version);
    if (p === undefined) {
      const exporter = new CountingExporter(new OTLPTraceExporter({ url: `${this.ingestUrl.replace(/\/+$/, '')}/v1/traces`, headers: this.headers }), this.counts, (err) => {
        this.lastError = err?.message ?? 'export failed';
      });
      p = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'contoso-sales-connector', 'connector.name': this.connector, 'connector.version': version }),
        // Backfill hands thousands of spans over at once; the default queue (2048) would drop them.
        spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 20_000, maxExportBatchSize: 512, scheduledDelayMillis: 500 })],
      });
      this.providers.set(version, p);
    }
    return p;
  }

  record(c: DemoCall): void {
    const tracer = this.provider(c.version).getTracer('pulsegate-demo');
    const attributes: Record<string, string | number> = {
      'connector.operation_id': c.action,
      'http.request.method': c.method,
      'http.route': '/invoices',
      'http.response.status_code': c.status,
      'connector.correlation_id': c.correlationId,
    };
    if (c.errorCode !== undefined) attributes['connector.error_code'] = c.errorCode;
    const span = tracer.startSpan(`${c.method} /invoices`, { kind: SpanKind.CLIENT, startTime: c.endMs - c.latencyMs, attributes });
    if (c.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(c.endMs);
    this.counts.recorded++;
  }

  /** Exports everything recorded so far. */
  async flush(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.forceFlush()));
  }

  /** Flushes and shuts the providers down. Idempotent. */
  async shutdown(): Promise<void> {
    const providers = [...this.providers.values()];
    this.providers.clear();
    await Promise.all(providers.map((p) => p.shutdown()));
  }
}
