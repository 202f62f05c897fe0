import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { hashKey } from '@pulsegate/http-kit';
import { createLogger } from '@pulsegate/logging';
import { OpenApiChecker } from '@pulsegate/testkit';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { connectorSpan } from '../../../packages/otlp/test/builders';
import { createApp } from '../src/index';
import { ControlledBus, bodies, testConfig } from './helpers';

const checker = new OpenApiChecker(fileURLToPath(new URL('../openapi.yaml', import.meta.url)));
const logger = createLogger({ name: 'ingest-openapi', level: 'silent' });

describe('ingest answers match openapi.yaml', () => {
  it('documents exactly the routes the app serves', () => {
    expect(checker.operations().sort()).toEqual(['GET /healthz', 'GET /metrics', 'GET /readyz', 'POST /v1/traces']);
  });

  it('every status code the app produces, checked against the document', async () => {
    const b = await bodies([{ attributes: { 'service.name': 's' }, spans: [connectorSpan(1), { ...connectorSpan(2), attributes: { ...connectorSpan(2).attributes, 'http.response.status_code': 7 } }] }]);
    const bus = new ControlledBus();
    const keyed = testConfig({ apiKeys: [{ sha256: hashKey('k'), tenant: 't', scopes: ['metrics.read'], name: 'r' }] });
    const app = createApp({ bus, logger, config: testConfig({ maxBodyBytes: 4096 }) });
    const keyApp = createApp({ bus, logger, config: keyed });
    const json = (r: request.Test) => r.set('content-type', 'application/json').serialize((x: unknown) => x as string);
    const cases: Array<[string, Promise<request.Response>, number]> = [
      ['GET /healthz', request(app).get('/healthz'), 200],
      ['GET /readyz', request(app).get('/readyz'), 200],
      ['GET /metrics', request(app).get('/metrics'), 200],
      ['GET /metrics', request(keyApp).get('/metrics'), 401],
      ['GET /metrics', request(keyApp).get('/metrics').set('x-api-key', 'k'), 403],
      ['POST /v1/traces', json(request(app).post('/v1/traces')).send(b.json.toString()), 200],
      ['POST /v1/traces', json(request(app).post('/v1/traces')).send('{"resourceSpans":'), 400],
      ['POST /v1/traces', json(request(keyApp).post('/v1/traces')).send('{}'), 401],
      ['POST /v1/traces', json(request(keyApp).post('/v1/traces')).set('x-api-key', 'k').send('{}'), 403],
      ['POST /v1/traces', json(request(app).post('/v1/traces')).send(' '.repeat(8192)), 413],
      ['POST /v1/traces', request(app).post('/v1/traces').set('content-type', 'text/plain').send('x'), 415],
      ['POST /v1/traces', json(request(app).post('/v1/traces')).set('content-encoding', 'gzip').send(gzipSync('{}') as unknown as string), 200],
    ];
    for (const [op, pending, status] of cases) {
      const res = await pending;
      expect(res.status, op).toBe(status);
      const [method, path] = op.split(' ') as [string, string];
      expect(checker.check(method, path, res.status, res.body)).toEqual([]);
    }
    bus.hold();
    const busy = createApp({ bus, logger, config: testConfig({ maxInFlightRequests: 1 }) });
    const held = json(request(busy).post('/v1/traces')).send(b.json.toString()).then((r) => r);
    while (bus.publishCalls.length < 2) await new Promise((r) => setTimeout(r, 5));
    const tooMany = await json(request(busy).post('/v1/traces')).send(b.json.toString());
    expect(tooMany.status).toBe(429);
    expect(checker.check('POST', '/v1/traces', 429, tooMany.body)).toEqual([]);
    bus.open();
    expect((await held).status).toBe(200);
    await bus.close();
    for (const [method, path] of [['POST', '/v1/traces'], ['GET', '/readyz']] as const) {
      const res = method === 'GET' ? await request(app).get(path) : await json(request(app).post(path)).send('{}');
      expect(res.status).toBe(503);
      expect(checker.check(method, path, 503, res.body)).toEqual([]);
    }
  });
});
