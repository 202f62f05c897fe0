import { SpanKind } from '@opentelemetry/api';
import { hashKey } from '@pulsegate/http-kit';
import { createLogger } from '@pulsegate/logging';
import { parsePrometheusText, sampleValue } from '@pulsegate/telemetry';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { connectorSpan } from '../../../packages/otlp/test/builders';
import { createApp, createCounters } from '../src/index';
import { ControlledBus, bodies, eventsOn, testConfig } from './helpers';

const logger = createLogger({ name: 'ingest-metrics', level: 'silent' });

describe('GET /metrics', () => {
  it('reports the exact totals of the traffic sent', async () => {
    const bad = connectorSpan(8);
    const b = await bodies([
      {
        attributes: { 'service.name': 'contoso-sales' },
        spans: [
          ...[0, 1, 2, 3, 4].map((i) => connectorSpan(i)),
          connectorSpan(5, { status: 429 }),
          connectorSpan(6, { status: 429 }),
          { ...bad, attributes: { ...bad.attributes, 'http.response.status_code': 7 } },
          { name: 'internal work', kind: SpanKind.INTERNAL, startNs: 1_700_000_000_000_000_000n, durationNs: 1_000n, attributes: {} },
        ],
      },
    ]);
    const bus = new ControlledBus();
    const counters = createCounters();
    const app = createApp({ bus, logger, config: testConfig(), counters });
    const json = (r: request.Test) => r.set('content-type', 'application/json').serialize((x: unknown) => x as string);
    expect((await json(request(app).post('/v1/traces')).send(b.json.toString())).status).toBe(200);
    expect((await json(request(app).post('/v1/traces')).send('{"resourceSpans":')).status).toBe(400);
    await request(app).post('/v1/traces').set('content-type', 'application/protobuf').send(b.protobuf);

    const res = await request(app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheusText(res.text);
    const value = (name: string, labels?: Record<string, string>) => sampleValue(samples, name, labels);
    // Two accepted bodies of 9 spans: 7 invocations (two throttled), 1 rejected, 1 not an invocation.
    expect(value('pulsegate_ingest_spans_received_total')).toBe(18);
    expect(value('pulsegate_ingest_spans_ignored_total')).toBe(2);
    expect(samples.filter((s) => s.name === 'pulsegate_ingest_spans_rejected_total').reduce((a, s) => a + s.value, 0)).toBe(2);
    const [reason] = Object.keys(counters.spansRejected);
    expect(value('pulsegate_ingest_spans_rejected_total', { reason: reason! })).toBe(2);
    expect(eventsOn(bus)).toHaveLength(14);
    expect(value('pulsegate_ingest_events_produced_total')).toBe(14);
    expect(value('pulsegate_ingest_messages_published_total')).toBe(bus.publishCalls.flat().length);
    expect(value('pulsegate_ingest_responses_total', { status: '200' })).toBe(2);
    expect(value('pulsegate_ingest_responses_total', { status: '400' })).toBe(1);
    expect(value('pulsegate_ingest_received_bytes_total')).toBe(b.json.length + '{"resourceSpans":'.length + b.protobuf.length);
    expect(value('pulsegate_ingest_in_flight_requests')).toBe(0);
    expect(value('pulsegate_ingest_ready')).toBe(1);
    expect(value('pulsegate_process_resident_memory_bytes')).toBeGreaterThan(0);
    await bus.close();
  });

  it('needs an admin key when keys are configured', async () => {
    const bus = new ControlledBus();
    const config = testConfig({
      apiKeys: [
        { sha256: hashKey('writer'), tenant: 't', scopes: ['ingest'], name: 'w' },
        { sha256: hashKey('ops'), tenant: 't', scopes: ['admin'], name: 'o' },
      ],
    });
    const app = createApp({ bus, logger, config });
    expect((await request(app).get('/metrics')).status).toBe(401);
    expect((await request(app).get('/metrics').set('x-api-key', 'writer')).body.error.code).toBe('FORBIDDEN');
    const ok = await request(app).get('/metrics').set('x-api-key', 'ops');
    expect(ok.status).toBe(200);
    expect(sampleValue(parsePrometheusText(ok.text), 'pulsegate_ingest_spans_received_total')).toBe(0);
    await bus.close();
  });
});
