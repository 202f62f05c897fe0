import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { SpanKind } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeInvocationBatch, type InvocationEvent } from '@pulsegate/events';
import { hashKey } from '@pulsegate/http-kit';
import { createLogger } from '@pulsegate/logging';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { connectorSpan, spanDerived } from '../../../packages/otlp/test/builders';
import { createApp, createCounters } from '../src/index';
import { ControlledBus, binaryParser, bodies, eventsOn, testConfig } from './helpers';

const logger = createLogger({ name: 'ingest-test', level: 'silent' });
const RESOURCE = { 'service.name': 'contoso-sales', 'service.version': '2.0.0' };

/**
 * POST /v1/traces with raw bytes (superagent would JSON-encode a Buffer), parsing a protobuf answer
 * to a Buffer and a JSON one to an object.
 */
function post(app: Parameters<typeof request>[0], type: string, body: Buffer | string, headers: Record<string, string> = {}) {
  return request(app)
    .post('/v1/traces')
    .set('content-type', type)
    .set(headers)
    .serialize((x: unknown) => x as string)
    .buffer(true)
    .parse((res, cb) =>
      binaryParser(res as unknown as NodeJS.ReadableStream, (err, buf) => {
        const json = String(res.headers['content-type'] ?? '').startsWith('application/json');
        cb(err, json && buf.length > 0 ? JSON.parse(buf.toString()) : buf);
      }),
    )
    .send(body as string);
}

function setup(overrides: Parameters<typeof testConfig>[0] = {}) {
  const bus = new ControlledBus();
  const counters = createCounters();
  const app = createApp({ bus, logger, config: testConfig(overrides), counters });
  return { bus, counters, app };
}

function expectedEvent(span: Parameters<typeof spanDerived>[0], i: number, tenant = 'default'): InvocationEvent {
  return {
    schemaVersion: 1,
    tenant,
    connector: 'contoso-sales',
    connectorVersion: '2.0.0',
    action: 'ListInvoices',
    httpMethod: 'GET',
    kind: 'read',
    httpStatus: 200,
    outcome: 'success',
    errorCode: null,
    correlationId: `corr-${i}`,
    sampleWeight: 1,
    ...spanDerived(span),
  };
}

const ten = Array.from({ length: 10 }, (_, i) => connectorSpan(i));

describe('POST /v1/traces', () => {
  it.each([
    ['protobuf', 'application/x-protobuf', false],
    ['gzip protobuf', 'application/x-protobuf', true],
    ['json', 'application/json', false],
    ['gzip json', 'application/json; charset=utf-8', true],
  ] as const)('%s: 200, and every event is on the bus field for field', async (_n, type, gzip) => {
    const { bus, app, counters } = setup();
    const b = await bodies([{ attributes: RESOURCE, spans: ten }]);
    const raw = type.startsWith('application/json') ? b.json : b.protobuf;
    const res = await post(app, type, gzip ? gzipSync(raw) : raw, gzip ? { 'content-encoding': 'gzip' } : {});
    expect(res.status).toBe(200);
    if (type === 'application/x-protobuf') {
      expect(res.headers['content-type']).toMatch(/^application\/x-protobuf/);
      expect(res.body).toEqual(Buffer.alloc(0));
    } else expect(res.body).toEqual({ partialSuccess: {} });
    const want = b.spans.map((s) => expectedEvent(s, Number(s.attributes['connector.correlation_id']!.toString().slice(5))));
    expect(sortById(eventsOn(bus))).toEqual(sortById(want));
    expect(bus.publishCalls).toHaveLength(1);
    expect(counters).toMatchObject({ spansReceived: 10, eventsProduced: 10, messagesPublished: 1, bytesReceived: gzip ? gzipSync(raw).length : raw.length });
    expect(counters.bytesDecompressed).toBe(raw.length);
  });

  it('partial success: good spans sent with bad ones are all delivered, the bad counted with reasons (JSON)', async () => {
    const { bus, app, counters } = setup();
    const b = await bodies([{ attributes: RESOURCE, spans: ten }]);
    const doc = JSON.parse(b.json.toString()) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> };
    const spans = doc.resourceSpans[0]!.scopeSpans[0]!.spans;
    const good = spans.map((s) => ({ ...s }));
    spans.push({ ...good[0], spanId: 'zz' }, { ...good[1], endTimeUnixNano: '1' }, { ...good[2], traceId: '00000000000000000000000000000000' });
    const res = await post(app, 'application/json', JSON.stringify(doc));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      partialSuccess: { rejectedSpans: 3, errorMessage: '1 × spanId must be 16 hex characters; 1 × end time before start time; 1 × traceId is all zeros' },
    });
    expect(eventsOn(bus)).toHaveLength(10);
    expect(counters.spansRejected).toEqual({ 'spanId must be 16 hex characters': 1, 'end time before start time': 1, 'traceId is all zeros': 1 });
  });

  it('partial success in protobuf, read back by the OpenTelemetry response deserializer', async () => {
    const { bus, app } = setup();
    const b = await bodies([{ attributes: RESOURCE, spans: [...ten, { ...connectorSpan(99), attributes: { ...connectorSpan(99).attributes, 'http.response.status_code': 1000 } }] }]);
    const res = await post(app, 'application/x-protobuf', b.protobuf);
    expect(res.status).toBe(200);
    expect(ProtobufTraceSerializer.deserializeResponse(res.body as Buffer)).toEqual({ partialSuccess: { rejectedSpans: 1, errorMessage: '1 × HTTP status is not an integer 100-599' } });
    expect(eventsOn(bus)).toHaveLength(10);
  });

  it('spans that are not invocations are accepted and produce nothing', async () => {
    const { bus, app, counters } = setup();
    const b = await bodies([{ attributes: RESOURCE, spans: [{ name: 'db.query', kind: SpanKind.INTERNAL, startNs: 1_700_000_000_000_000_000n, durationNs: 5n }] }]);
    const res = await post(app, 'application/x-protobuf', b.protobuf);
    expect(res.status).toBe(200);
    expect(bus.publishCalls).toHaveLength(0);
    expect(counters.spansIgnored).toBe(1);
  });

  it.each([
    ['undecodable protobuf', 'application/x-protobuf', undefined, Buffer.from([0x0a, 0xff, 0xff, 0x01])],
    ['invalid JSON', 'application/json', undefined, Buffer.from('{"resourceSpans":')],
    ['a JSON array', 'application/json', undefined, Buffer.from('[1]')],
    ['a corrupt gzip stream', 'application/json', 'gzip', Buffer.concat([gzipSync(Buffer.from('{}')).subarray(0, 12), Buffer.from('garbage!')])],
  ])('400 for %s, nothing published', async (_n, type, encoding, body) => {
    const { bus, app } = setup();
    const res = await post(app, type, body, { 'x-correlation-id': 'corr-400', ...(encoding === undefined ? {} : { 'content-encoding': encoding }) });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'INVALID_ARGUMENT', message: expect.any(String), correlationId: 'corr-400' } });
    expect(bus.publishCalls).toHaveLength(0);
  });

  it('413 for a body over the size limit', async () => {
    const { app } = setup({ maxBodyBytes: 2048 });
    const res = await post(app, 'application/json', Buffer.alloc(4096, 0x20));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('413 for a gzip bomb, refused after inflating no more than the limit plus one zlib chunk', async () => {
    const { app, counters, bus } = setup({ maxDecompressedBytes: 1024 * 1024 });
    const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024)); // 256 MiB of zeros, ~256 KiB compressed
    const res = await post(app, 'application/x-protobuf', bomb, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(res.body.error.message).toContain('decompressed limit');
    expect(counters.bytesDecompressed).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
    expect(bus.publishCalls).toHaveLength(0);
  });

  it.each([
    ['text/plain', undefined],
    ['application/xml', undefined],
    ['application/json', 'br'],
  ])('415 for content type %s / encoding %s', async (type, encoding) => {
    const { app } = setup();
    const res = await post(app, type, '{}', encoding === undefined ? {} : { 'content-encoding': encoding });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  describe('with API keys', () => {
    const keys = testConfig({
      apiKeys: [
        { sha256: hashKey('k-acme'), tenant: 'acme', scopes: ['ingest'], name: 'acme-ingest' },
        { sha256: hashKey('k-read'), tenant: 'acme', scopes: ['metrics.read'], name: 'acme-read' },
      ],
    });

    it('401 without a key or with a wrong one, 403 without the ingest scope', async () => {
      const { app } = setup(keys);
      const b = await bodies([{ attributes: RESOURCE, spans: ten }]);
      for (const headers of [{}, { authorization: 'Bearer nope' }, { 'x-api-key': 'nope' }] as Array<Record<string, string>>) {
        const res = await post(app, 'application/x-protobuf', b.protobuf, { ...headers });
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('UNAUTHORIZED');
      }
      const res = await post(app, 'application/x-protobuf', b.protobuf, { 'x-api-key': 'k-read' });
      expect(res.status).toBe(403);
    });

    it('the key decides the tenant (Bearer or x-api-key), and never reaches the logs', async () => {
      const lines: string[] = [];
      const destination = new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()) });
      const bus = new ControlledBus();
      const app = createApp({ bus, logger: createLogger({ name: 'ingest-test', level: 'debug', destination }), config: keys });
      const b = await bodies([{ attributes: RESOURCE, spans: [...ten, { ...connectorSpan(50), attributes: { ...connectorSpan(50).attributes, 'http.response.status_code': 1 } }] }]);
      for (const headers of [{ authorization: 'Bearer k-acme' }, { 'x-api-key': 'k-acme' }] as Array<Record<string, string>>) {
        const res = await post(app, 'application/x-protobuf', b.protobuf, { 'x-correlation-id': 'c-log', ...headers });
        expect(res.status).toBe(200);
      }
      const events = eventsOn(bus);
      expect(events).toHaveLength(20);
      expect(new Set(events.map((e) => e.tenant))).toEqual(new Set(['acme']));
      const log = lines.join('');
      expect(log).toContain('c-log');
      expect(log).not.toContain('k-acme');
    });
  });

  it('503 with Retry-After when the bus is not ready, nothing read', async () => {
    const { app, bus } = setup({ retryAfterSeconds: 7 });
    await bus.close();
    const b = await bodies([{ attributes: RESOURCE, spans: ten }]);
    const res = await post(app, 'application/x-protobuf', b.protobuf);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.body.error.code).toBe('UNAVAILABLE');
  });

  it('503 with Retry-After when the bus does not acknowledge; the same body succeeds on retry', async () => {
    const { app, bus } = setup();
    bus.failWith = new Error('broker down');
    const b = await bodies([{ attributes: RESOURCE, spans: ten }]);
    const res = await post(app, 'application/x-protobuf', b.protobuf);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body.error.message).not.toContain('broker down');
    expect(eventsOn(bus)).toHaveLength(0);
    bus.failWith = undefined;
    const retry = await post(app, 'application/x-protobuf', b.protobuf);
    expect(retry.status).toBe(200);
    expect(eventsOn(bus)).toHaveLength(10);
  });

  it('429 with Retry-After over the in-flight limit; the held request still answers 200 after the ack', async () => {
    const { app, bus } = setup({ maxInFlightRequests: 1 });
    const b = await bodies([{ attributes: RESOURCE, spans: ten }]);
    bus.hold();
    let answered = false;
    const first = post(app, 'application/x-protobuf', b.protobuf).then((r) => ((answered = true), r));
    while (bus.publishCalls.length === 0) await new Promise((r) => setTimeout(r, 5));
    const second = await post(app, 'application/x-protobuf', b.protobuf);
    expect(second.status).toBe(429);
    expect(['1', '2']).toContain(second.headers['retry-after']); // spread over [r, 2r]
    expect(second.body.error.code).toBe('OVERLOADED');
    expect(eventsOn(bus)).toHaveLength(0);
    expect(answered).toBe(false); // not acknowledged by the bus, so no answer yet
    bus.open();
    expect((await first).status).toBe(200);
    expect(eventsOn(bus)).toHaveLength(10);
  });

  it('429 when the in-flight byte budget is spent', async () => {
    const { app } = setup({ maxInFlightBytes: 1024 });
    const b = await bodies([{ attributes: RESOURCE, spans: ten }]);
    const res = await post(app, 'application/x-protobuf', b.protobuf);
    expect(res.status).toBe(429);
  });

  it('cardinality guard: actions and versions past the caps become __overflow__, counted and reported', async () => {
    const { app, bus, counters } = setup({ maxActionsPerConnector: 2, maxVersionsPerConnector: 1 });
    const spans = ['A', 'B', 'C', 'D', 'A'].map((action, i) => connectorSpan(i, { action }));
    const v1 = await bodies([{ attributes: RESOURCE, spans }]);
    const v2 = await bodies([{ attributes: { ...RESOURCE, 'service.version': '2.1.0' }, spans: [connectorSpan(9, { action: 'A' })] }]);
    for (const b of [v1, v2]) expect((await post(app, 'application/x-protobuf', b.protobuf)).status).toBe(200);
    const res = await post(app, 'application/json', v2.json);
    expect(res.body.partialSuccess).toEqual({ errorMessage: 'warning: 1 events over the cardinality caps were recorded under __overflow__' });
    const seen = eventsOn(bus).map((e) => `${e.action}@${e.connectorVersion}`);
    expect(seen.sort()).toEqual(['A@2.0.0', 'A@2.0.0', 'A@__overflow__', 'A@__overflow__', 'B@2.0.0', '__overflow__@2.0.0', '__overflow__@2.0.0'].sort());
    expect(counters.overflowed).toEqual({ connector: 0, action: 2, version: 2, series: 0 });
  });

  it('packs one message per tenant/connector, keyed by the series', async () => {
    const { app, bus } = setup();
    const b = await bodies([
      { attributes: RESOURCE, spans: ten },
      { attributes: { 'service.name': 'other' }, spans: ten.slice(0, 3) },
    ]);
    await post(app, 'application/x-protobuf', b.protobuf);
    expect(bus.publishCalls).toHaveLength(1);
    const records = bus.publishCalls[0]!;
    expect(records.map((r) => [r.key, decodeInvocationBatch(r.value as Buffer).length]).sort()).toEqual([
      ['default\u001fcontoso-sales', 10],
      ['default\u001fother', 3],
    ]);
  });
});

describe('health', () => {
  it('/healthz is 200; /readyz follows the bus', async () => {
    const { app, bus } = setup();
    expect((await request(app).get('/healthz')).status).toBe(200);
    expect((await request(app).get('/readyz')).status).toBe(200);
    await bus.close();
    const res = await request(app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('UNAVAILABLE');
  });

  it('unknown routes are 404 in the error schema', async () => {
    const { app } = setup();
    const res = await request(app).get('/v1/metrics');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });
});

function sortById(events: InvocationEvent[]): InvocationEvent[] {
  return [...events].sort((a, b) => (a.spanId < b.spanId ? -1 : 1));
}
