import express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@pulsegate/testkit';
import { createLogger } from '@pulsegate/logging';
import { createDashboardApp } from '../../src/dashboard';
import { listen, type Listening } from '@pulsegate/http-kit';

const logger = createLogger({ name: 'dashboard-test', level: 'silent' });

/** A small upstream that echoes what reached it, so the test sees exactly what the proxy forwards. */
function echoUpstream(name: string) {
  const app = express();
  app.all('/{*any}', (req, res) => {
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
  let app: ReturnType<typeof createDashboardApp>;
  let deadUrl: string;

  beforeAll(async () => {
    for (const name of ['aggregator', 'detector', 'risk']) upstreams.push(await listen(echoUpstream(name), '127.0.0.1', 0));
    deadUrl = `http://127.0.0.1:${await freePort()}`;
    app = createDashboardApp({ aggregatorUrl: upstreams[0]!.url, detectorUrl: upstreams[1]!.url, riskUrl: `${upstreams[2]!.url}/`, apiKey: 'k-123', logger });
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

  it('forwards GETs with path, query, API key and correlation id, and passes the answer through', async () => {
    const cases: Array<[string, string, string]> = [
      ['/api/aggregator/v1/connectors?window=1h', 'aggregator', '/v1/connectors?window=1h'],
      ['/api/alerts/v1/alerts?state=firing', 'detector', '/v1/alerts?state=firing'],
      ['/api/risk/v1/risk/assessments/ContosoSales/1.2.0', 'risk', '/v1/risk/assessments/ContosoSales/1.2.0'],
      ['/api/aggregator/v1/connectors/Contoso%20Sales%2Fx/metrics', 'aggregator', '/v1/connectors/Contoso%20Sales%2Fx/metrics'],
      ['/api/risk/readyz', 'risk', '/readyz'],
    ];
    for (const [path, upstream, url] of cases) {
      const res = await request(app).get(path).set('x-correlation-id', 'corr-1').expect(200);
      expect(res.body).toEqual({ upstream, method: 'GET', url, authorization: 'Bearer k-123', correlationId: 'corr-1' });
      expect(res.headers['retry-after']).toBe('7');
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('passes upstream error answers through unchanged', async () => {
    const res = await request(app).get('/api/aggregator/v1/teapot').set('x-correlation-id', 'corr-2').expect(418);
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
    const res = await request(down).get('/api/aggregator/v1/connectors').expect(502);
    expect(res.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    const ready = await request(down).get('/readyz').expect(503);
    expect(ready.body).toEqual({ status: 'not ready', upstreams: { aggregator: 'not ready', alerts: 'ready', risk: 'ready' } });
    await request(down).get('/healthz').expect(200, { status: 'ok' });
  });
});
