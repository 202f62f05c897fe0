export { startTelemetry, tracingEnabled, tracesUrl, PULSEGATE_NAMESPACE } from './tracing';
export type { Telemetry, TelemetryOptions } from './tracing';
export {
  createMetricsRegistry,
  processMetricsRegistry,
  registerReadout,
  samplesOf,
  renderMetrics,
  metricsHandler,
  parsePrometheusText,
  sampleValue,
} from './metrics';
export type { Sample, ReadoutOptions, ParsedSample } from './metrics';
export { Counter, Gauge, Histogram, Registry } from 'prom-client';
