import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createLogger } from '@pulsegate/logging';
import { startTelemetry } from '@pulsegate/telemetry';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { createApp, createCounters } from '../src/index';
import { listen } from './exporters';
import { ControlledBus, eventsOn, testConfig } from './helpers';

const logger = createLogger({ name: 'ingest-own', level: 'silent' });

describe("Pulsegate's own telemetry sent to ingest", () => {
  it('is accepted but never becomes invocation events', async () => {
    const bus = new ControlledBus();
    const counters = createCounters();
    const ingest = await listen(createApp({ bus, logger, config: testConfig(), counters }));

    // Control: the same real exporter with a connector's resource does produce an event, so the
    // check below is not vacuous.
    const control = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'contoso-sales' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${ingest.url}/v1/traces` }))],
    });
    const s = control.getTracer('t').startSpan('GET /invoices', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 } });
    s.end();
    await control.shutdown();
    expect(eventsOn(bus)).toHaveLength(1);

    // Pulsegate's self-telemetry, started as a service's main.ts does, exporting to ingest.
    const telemetry = await startTelemetry({ serviceName: 'pulsegate-aggregator', env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${ingest.url}/` } });
    expect(telemetry.enabled).toBe(true);
    const app = express();
    app.get('/v1/connectors', (_req, res) => void res.json({ connectors: [] }));
    const svc = await listen(app);
    for (let i = 0; i < 3; i++) expect((await fetch(`${svc.url}/v1/connectors`)).status).toBe(200);
    await svc.close();
    const before = counters.spansReceived;
    await telemetry.shutdown();

    // At least the three SERVER spans (with HTTP status and service.name) arrived and were ignored.
    expect(counters.spansReceived - before).toBeGreaterThanOrEqual(3);
    expect(counters.spansIgnored).toBe(counters.spansReceived - 1);
    expect(counters.spansRejected).toEqual({});
    expect(eventsOn(bus)).toHaveLength(1);
    await ingest.close();
    await bus.close();
  });
});
