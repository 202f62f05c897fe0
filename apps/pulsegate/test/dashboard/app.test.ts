import { Writable } from 'node:stream';
import express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, OpenApiChecker } from '@pulsegate/testkit';
import { createLogger } from '@pulsegate/logging';
import { createDashboardApp } from '../../src/dashboard';
import { listen, type Listening } from '@pulsegate/http-kit';

const logger = createLogger({ name: 'dashboard-test', level: 'silent' });
const openapi = new OpenApiChecker(new URL('../../openapi.yaml', import.meta.url).pathname);
/** The one key the echo upstreams refuse (401), as a service refuses an unknown key. */
const REFUSED_KEY = 'k-refused';

/** A small upstream that echoes what reached it, so the test sees exactly what the proxy forwards. */
function echoUpstream(name: string, hits: string[] = []) {
  const app = express();
  app.all('/{*any}', (req, res) => {
    hits.push(req.originalUrl);
    if (req.get('authorization') === `Bearer ${REFUSED_KEY}`) {
      res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'missing or invalid API key', correlationId: req.get('x-correlation-id') } });
      return;
    }
    if (req.path === '/v1/broken') {
      // Headers, half a body, then the connection drops: the proxy fails while reading the answer.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"half":');
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    if (req.path === '/v1/teapot') {
      res.status(418).json({ error: { code: 'TEAPOT', message: 'short and stout', correlationId: req.get('x-correlation-id') } });
      return;
    }
    res.setHeader('retry-after', '7');
    res.json({ upstream: name, method: req.method, url: req.originalUrl, authorization: req.get('authorization') ?? null, correlationId: req.get('x-correlation-id') ?? null });
  });
  return app;
}

describe('dashboard app: static page, Chart.js and the read-only proxy', () => {
  const upstreams: Listening[] = [];
  const hits: string[] = [];
  let app: ReturnType<typeof createDashboardApp>;
  let deadUrl: string;

  beforeAll(async () => {
    for (const name of ['aggregator', 'detector', 'risk']) upstreams.push(await listen(echoUpstream(name, hits), '127.0.0.1', 0));
    deadUrl = `http://127.0.0.1:${await freePort()}`;
    app = createDashboardApp({ aggregatorUrl: upstreams[0]!.url, detectorUrl: upstreams[1]!.url, riskUrl: `${upstreams[2]!.url}/`, logger });
  });
  afterAll(async () => {
    for (const u of upstreams) await u.close();
  });

  it('serves the page, its module and Chart.js from node_modules', async () => {
    const page = await request(app).get('/').expect(200);
    expect(page.text).toContain('<canvas id="chart-versions">');
    expect((await request(app).get('/app.js').expect(200)).headers['content-type']).toMatch(/javascript/);
    const chart = await request(app).get('/vendor/chart.umd.min.js').expect(200);
    expect(chart.text.length).toBeGreaterThan(100_000);
    expect(chart.text).toContain('Chart');
  });

  it("forwards GETs with path, query, the caller's own key and correlation id, and passes the answer through", async () => {
    const cases: Array<[string, string, string]> = [
      ['/api/aggregator/v1/connectors?window=1h', 'aggregator', '/v1/connectors?window=1h'],
      ['/api/alerts/v1/alerts?state=firing', 'detector', '/v1/alerts?state=firing'],
      ['/api/risk/v1/risk/assessments/ContosoSales/1.2.0', 'risk', '/v1/risk/assessments/ContosoSales/1.2.0'],
      ['/api/aggregator/v1/connectors/Contoso%20Sales%2Fx/metrics', 'aggregator', '/v1/connectors/Contoso%20Sales%2Fx/metrics'],
      ['/api/risk/readyz', 'risk', '/readyz'],
    ];
    for (const [path, upstream, url] of cases) {
      const res = await request(app).get(path).set('x-correlation-id', 'corr-1').set('authorization', 'Bearer k-123').expect(200);
      expect(res.body).toEqual({ upstream, method: 'GET', url, authorization: 'Bearer k-123', correlationId: 'corr-1' });
      expect(res.headers['retry-after']).toBe('7');
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('passes upstream error answers through unchanged', async () => {
    const res = await request(app).get('/api/aggregator/v1/teapot').set('x-correlation-id', 'corr-2').set('x-api-key', 'k-1').expect(418);
    expect(res.body).toEqual({ error: { code: 'TEAPOT', message: 'short and stout', correlationId: 'corr-2' } });
  });

  it('refuses writes, unknown APIs and paths outside /v1 (dot segments included) in the error schema', async () => {
    const refused: Array<[string, string, number]> = [
      ['post', '/api/risk/v1/risk/assessments', 405],
      ['put', '/api/risk/v1/catalog/connectors/X', 405],
      ['delete', '/api/alerts/v1/silences/abc', 405],
      ['get', '/api/ingest/v1/traces', 404],
      ['get', '/api/aggregator/metrics', 404],
      ['get', '/api/aggregator/v1/../admin', 404],
      ['get', '/api/aggregator/v1/%2e%2e/admin', 404],
      ['get', '/api/aggregator//evil.example/v1/x', 404],
      ['get', '/api/aggregator/', 404],
    ];
    for (const [method, path, status] of refused) {
      const res = await (request(app) as unknown as Record<string, (p: string) => request.Test>)[method]!(path);
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(res.body.error.code, `${method} ${path}`).toBeTypeOf('string');
      expect(res.body.error.correlationId).toBeTypeOf('string');
      expect(JSON.stringify(res.body)).not.toContain('upstream');
    }
  });

  it('answers 502 in the error schema when an upstream is down, and readyz says which', async () => {
    const down = createDashboardApp({ aggregatorUrl: deadUrl, detectorUrl: upstreams[1]!.url, riskUrl: upstreams[2]!.url, logger });
    const res = await request(down).get('/api/aggregator/v1/connectors').set('authorization', 'Bearer k-1').expect(502);
    expect(res.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    const ready = await request(down).get('/readyz').expect(503);
    expect(ready.body).toEqual({ status: 'not ready', upstreams: { aggregator: 'not ready', alerts: 'ready', risk: 'ready' } });
    await request(down).get('/healthz').expect(200, { status: 'ok' });
  });

  it('without a key answers 401 in the error schema and forwards nothing (the dashboard holds no key of its own)', async () => {
    const before = hits.length;
    for (const path of ['/api/aggregator/v1/connectors?window=1h', '/api/alerts/v1/alerts?state=firing', '/api/risk/v1/catalog/connectors', '/api/aggregator/readyz']) {
      const res = await request(app).get(path).expect(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
      expect(res.body.error.message).toContain('sign in');
      expect(openapi.check('GET', '/api/aggregator/x', res.status, res.body)).toEqual([]);
    }
    // An empty cookie or a non-Bearer Authorization is no key either.
    await request(app).get('/api/aggregator/v1/connectors').set('cookie', 'pulsegate_key=').expect(401);
    await request(app).get('/api/aggregator/v1/connectors').set('authorization', 'Basic dTpw').expect(401);
    expect(hits.length).toBe(before);
  });

  it('signs in with POST /session: the key checked upstream, then kept in an HttpOnly SameSite=Strict cookie and forwarded as Bearer', async () => {
    const agent = request.agent(app);
    const signIn = await agent.post('/session').send({ apiKey: 'k-user-a' }).expect(204);
    expect(openapi.check('POST', '/session', 204, undefined)).toEqual([]);
    const cookie = String(signIn.headers['set-cookie']);
    expect(cookie).toMatch(/^pulsegate_key=k-user-a; Path=\/; HttpOnly; SameSite=Strict$/);
    // The key was checked with the aggregator, as the user's own Bearer key.
    expect(hits.at(-1)).toBe('/v1/connectors?window=5m');
    const res = await agent.get('/api/alerts/v1/alerts?state=firing').expect(200);
    expect(res.body.authorization).toBe('Bearer k-user-a');
    // A key handed over in a header wins over the cookie.
    expect((await agent.get('/api/risk/v1/catalog/connectors').set('authorization', 'Bearer k-user-b').expect(200)).body.authorization).toBe('Bearer k-user-b');
    // Sign-out deletes the cookie; afterwards no data.
    const out = await agent.delete('/session').expect(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^pulsegate_key=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);
    await agent.get('/api/alerts/v1/alerts?state=firing').expect(401);
    // Behind a TLS-terminating ingress the cookie is Secure as well.
    const tls = await request(app).post('/session').set('x-forwarded-proto', 'https').send({ apiKey: 'k-user-a' }).expect(204);
    expect(String(tls.headers['set-cookie'])).toBe('pulsegate_key=k-user-a; Path=/; HttpOnly; SameSite=Strict; Secure');
  });

  it('refuses a key the services do not accept, malformed sign-ins, cross-site sign-ins and keys in query strings', async () => {
    const cases: Array<[string, (t: request.Test) => request.Test, number, string]> = [
      ['refused key', (t) => t.send({ apiKey: REFUSED_KEY }), 401, 'UNAUTHORIZED'],
      ['no key', (t) => t.send({}), 400, 'INVALID_ARGUMENT'],
      ['key with a space', (t) => t.send({ apiKey: 'a b' }), 400, 'INVALID_ARGUMENT'],
      ['key too long', (t) => t.send({ apiKey: 'k'.repeat(513) }), 400, 'INVALID_ARGUMENT'],
      ['form body', (t) => t.type('form').send('apiKey=k-1'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['cross-site', (t) => t.set('sec-fetch-site', 'cross-site').send({ apiKey: 'k-1' }), 403, 'FORBIDDEN'],
    ];
    for (const [what, build, status, code] of cases) {
      const res = await build(request(app).post('/session'));
      expect(res.status, what).toBe(status);
      expect(res.body.error.code, what).toBe(code);
      expect(res.headers['set-cookie'], what).toBeUndefined();
      expect(openapi.check('POST', '/session', res.status, res.body), what).toEqual([]);
    }
    const before = hits.length;
    for (const q of ['api_key=k-1', 'token=t', 'x=1&apiKey=k-1', 'access_token=t']) {
      const res = await request(app).get(`/api/aggregator/v1/connectors?${q}`).set('authorization', 'Bearer k-1').expect(400);
      expect(res.body.error.message).toContain('Authorization: Bearer');
    }
    expect(hits.length).toBe(before);
  });

  it('logs no key, query string or e-mail address when an upstream fails', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const captured = createLogger({ name: 'dashboard-log-test', level: 'debug', destination: sink });
    const logged = createDashboardApp({ aggregatorUrl: upstreams[0]!.url, detectorUrl: deadUrl, riskUrl: upstreams[2]!.url, logger: captured });
    const secret = 'k-very-secret-42';
    const email = 'alice.owner@example.com';
    // The upstream drops the connection mid-answer; the detector is down.
    const broken = await request(logged).get(`/api/aggregator/v1/broken?window=1h&owner=${encodeURIComponent(email)}`).set('cookie', `pulsegate_key=${secret}`).expect(502);
    expect(broken.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    await request(logged).get(`/api/alerts/v1/alerts?connector=${encodeURIComponent(email)}`).set('authorization', `Bearer ${secret}`).expect(502);
    await request(logged).post('/session').send({ apiKey: secret }).set('cookie', `pulsegate_key=${secret}`).expect(204);
    // A cookie that decodes to a value no header may carry: refused before any HTTP client sees it.
    await request(logged).get('/api/aggregator/v1/connectors').set('cookie', `pulsegate_key=${secret}%0Aevil`).expect(401);
    const text = lines.join('');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(text).toContain('/v1/broken');
    expect(text).not.toContain(secret);
    expect(text).not.toContain(email);
    expect(text).not.toContain(encodeURIComponent(email));
    expect(text).not.toContain('owner=');
  });

  it('is described by openapi.yaml: health, readiness and the proxy errors', async () => {
    const health = await request(app).get('/healthz').expect(200);
    expect(openapi.check('GET', '/healthz', 200, health.body)).toEqual([]);
    const ready = await request(app).get('/readyz');
    expect(openapi.check('GET', '/readyz', ready.status, ready.body)).toEqual([]);
    const refused = await request(app).post('/api/risk/v1/risk/assessments').expect(405);
    expect(openapi.check('GET', '/api/risk/x', 404, refused.body)).toEqual([]);
  });
});
