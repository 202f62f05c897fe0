import { createRequire, syncBuiltinESMExports } from 'node:module';
import { SECRET_QUERY_PARAMS } from '@pulsegate/logging';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** Query parameters whose values spans never carry: ours (SECRET_QUERY_PARAMS, as written and upper-case) and the instrumentation's cloud-signature defaults. */
const REDACTED_QUERY_PARAMS = [...SECRET_QUERY_PARAMS, ...SECRET_QUERY_PARAMS.map((p) => p.toUpperCase()), 'apiKey', 'accessToken', 'Signature', 'AWSAccessKeyId', 'X-Goog-Signature', 'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token'];

/** Resource `service.namespace` of Pulsegate's own spans; ingest never turns them into invocations. */
export const PULSEGATE_NAMESPACE = 'pulsegate';

/** Requests to these paths are probes or scrapes: tracing them would only add noise. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export interface TelemetryOptions {
  /** `service.name` of the spans, e.g. "pulsegate-ingest". */
  serviceName: string;
  /** Where OTEL_* settings are read; default process.env. */
  env?: Record<string, string | undefined>;
  /**
   * Span processors used instead of the OTLP exporter (tests). When given, tracing is on even
   * without OTEL_EXPORTER_OTLP_ENDPOINT.
   */
  spanProcessors?: SpanProcessor[];
}

/** A running (or disabled) self-telemetry setup. */
export interface Telemetry {
  /** True when the OpenTelemetry SDK was started. */
  readonly enabled: boolean;
  /** Flushes and stops the SDK. Idempotent; a no-op when disabled. */
  shutdown(): Promise<void>;
}

/** True when the environment names an OTLP traces endpoint and the SDK is not disabled. */
export function tracingEnabled(env: Record<string, string | undefined>): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  if ((env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase() === 'none') return false;
  return (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim() !== '' || (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? '').trim() !== '';
}

/** The OTLP/HTTP traces URL: the signal-specific variable as given, else `<endpoint>/v1/traces` (OTLP exporter spec). */
export function tracesUrl(env: Record<string, string | undefined>): string {
  const specific = (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? '').trim();
  if (specific !== '') return specific;
  return `${(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim().replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Starts `@opentelemetry/sdk-node` tracing the service's own HTTP server/client work and kafkajs
 * produce/consume, exported with the OTLP/HTTP exporter to
 * OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). Off by default: without an
 * endpoint nothing is imported, so there is no SDK overhead. The resource carries
 * `service.namespace=pulsegate` so that Pulsegate's own spans are never ingested as invocations.
 * Call it before the service does any work (first import of main.ts).
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const env = options.env ?? process.env;
  if (options.spanProcessors === undefined && !tracingEnabled(env)) return { enabled: false, shutdown: async () => {} };

  // Loaded only when tracing is on: the SDK and instrumentations are large and patch modules.
  const [{ NodeSDK }, { OTLPTraceExporter }, resources, { HttpInstrumentation }, { KafkaJsInstrumentation }, { BatchSpanProcessor }] =
    await Promise.all([
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/instrumentation-http'),
      import('@opentelemetry/instrumentation-kafkajs'),
      import('@opentelemetry/sdk-trace-base'),
    ]);

  const spanProcessors = options.spanProcessors ?? [new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(env) }))];
  // Detected attributes (OTEL_RESOURCE_ATTRIBUTES, process, host) first, ours last: the namespace
  // cannot be overridden, or Pulsegate would ingest its own spans.
  const resource = resources
    .defaultResource()
    .merge(resources.detectResources({ detectors: [resources.envDetector, resources.processDetector, resources.hostDetector] }))
    .merge(
      resources.resourceFromAttributes({
        'service.name': (env.OTEL_SERVICE_NAME ?? '').trim() || options.serviceName,
        'service.namespace': PULSEGATE_NAMESPACE,
      }),
    );
  const sdk = new NodeSDK({
    resource,
    autoDetectResources: false,
    spanProcessors,
    // Traces only: no OTLP metrics or logs pipelines (metrics are served by GET /metrics).
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0] ?? ''),
        // Spans leave the process: credentials in query strings must not ride along.
        redactedQueryParamsServer: REDACTED_QUERY_PARAMS,
        redactedQueryParams: REDACTED_QUERY_PARAMS,
      }),
      new KafkaJsInstrumentation(),
    ],
  });
  sdk.start();
  // The instrumentations patch modules when they are require()d. Under ESM, http and kafkajs may
  // already be loaded without passing through require, so require them once more now: the patches
  // land on the shared module objects (Server.prototype, Kafka.prototype) every importer uses.
  const require = createRequire(import.meta.url);
  for (const id of ['http', 'https', 'kafkajs']) {
    try {
      require(id);
    } catch {
      // kafkajs is absent in processes that never talk to Kafka.
    }
  }
  syncBuiltinESMExports();

  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown: () => {
      stopping ??= sdk.shutdown();
      return stopping;
    },
  };
}
