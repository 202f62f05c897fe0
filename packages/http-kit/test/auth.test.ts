import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@pulsegate/logging';
import { authenticate, correlation, errorHandler, KeyRing, parseApiKeys, principalOf } from '../src/index';

function app(ring: KeyRing) {
  const a = express();
  a.use(correlation());
  a.get('/read', authenticate(ring, 'metrics.read'), (req, res) => {
    res.json({ tenant: principalOf(req).tenant });
  });
  a.use(errorHandler(createLogger({ name: 'test', level: 'silent' })));
  return a;
}

describe('parseApiKeys rate limits', () => {
  it('takes rateLimitPerMinute / rateLimitBurst from the entry, else the default argument, else 6000', () => {
    const keys = parseApiKeys(
      JSON.stringify([
        { key: 'a', tenant: 't', rateLimitPerMinute: 30, rateLimitBurst: 5 },
        { key: 'b', tenant: 't', rateLimitPerMinute: '0' },
        { key: 'c', tenant: 't' },
      ]),
      '120',
    );
    expect(keys.map((k) => k.rateLimit)).toEqual([{ perMinute: 30, burst: 5 }, { perMinute: 0, burst: 0 }, { perMinute: 120, burst: 120 }]);
    expect(parseApiKeys(JSON.stringify([{ key: 'c', tenant: 't' }]), '')[0]!.rateLimit).toEqual({ perMinute: 6000, burst: 6000 });
  });

  it('names the variable when a limit is not a non-negative integer', () => {
    expect(() => parseApiKeys(JSON.stringify([{ key: 'a', tenant: 't', rateLimitPerMinute: -1 }]))).toThrow(/PULSEGATE_API_KEYS\[0\]\.rateLimitPerMinute/);
    expect(() => parseApiKeys(JSON.stringify([{ key: 'a', tenant: 't', rateLimitBurst: 1.5 }]))).toThrow(/rateLimitBurst/);
    expect(() => parseApiKeys(JSON.stringify([{ key: 'a', tenant: 't' }]), 'lots')).toThrow(/PULSEGATE_RATE_LIMIT_PER_MINUTE/);
  });
});

describe('authenticate()', () => {
  const keys = parseApiKeys(
    JSON.stringify([
      { key: 'k-slow', tenant: 'acme', scopes: ['metrics.read'], name: 'slow', rateLimitPerMinute: 2 },
      { key: 'k-other', tenant: 'globex', scopes: ['metrics.read'], name: 'other', rateLimitPerMinute: 2 },
      { key: 'k-ingest', tenant: 'acme', scopes: ['ingest'], name: 'ingest' },
    ]),
  );

  it('answers 401 without a key, 403 for a wrong scope, the tenant for a good key', async () => {
    const a = app(new KeyRing(keys));
    const none = await request(a).get('/read');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHORIZED');
    const scope = await request(a).get('/read').set('x-api-key', 'k-ingest');
    expect(scope.status).toBe(403);
    expect(scope.body.error.code).toBe('FORBIDDEN');
    const ok = await request(a).get('/read').set('authorization', 'Bearer k-other');
    expect(ok.body).toEqual({ tenant: 'globex' });
  });

  it('answers 429 RATE_LIMIT with Retry-After and retryAfterSeconds once the key is over budget, per key', async () => {
    let now = 0;
    const a = app(new KeyRing(keys, 'default', { now: () => now }));
    for (let i = 0; i < 2; i++) expect((await request(a).get('/read').set('x-api-key', 'k-slow')).status).toBe(200);
    const limited = await request(a).get('/read').set('x-api-key', 'k-slow').set('x-correlation-id', 'corr-1');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('30');
    expect(limited.body).toEqual({ error: { code: 'RATE_LIMIT', message: expect.stringContaining('slow') as unknown as string, retryAfterSeconds: 30, correlationId: 'corr-1' } });
    expect(JSON.stringify(limited.body)).not.toContain('k-slow');
    // Another key of the same service is not affected.
    expect((await request(a).get('/read').set('x-api-key', 'k-other')).status).toBe(200);
    now += 30_000;
    expect((await request(a).get('/read').set('x-api-key', 'k-slow')).status).toBe(200);
  });

  it('does not limit anonymous access when no keys are configured', async () => {
    const a = app(new KeyRing([]));
    for (let i = 0; i < 50; i++) expect((await request(a).get('/read')).body).toEqual({ tenant: 'default' });
  });
});
