// Imported first by main.ts: tracing must be set up before the service does any work.
import { startTelemetry } from '@pulsegate/telemetry';

/** This process's self-telemetry; off (no SDK loaded) unless OTEL_EXPORTER_OTLP_ENDPOINT is set. */
export const telemetry = await startTelemetry({ serviceName: 'pulsegate-aggregator' });
