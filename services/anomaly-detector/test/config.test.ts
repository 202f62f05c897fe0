import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';

describe('loadConfig', () => {
  it('has embedded defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ host: '127.0.0.1', port: 8082, kafkaBrokers: [], redisUrl: null, aggregatorUrl: 'http://127.0.0.1:8081', consumerGroup: 'pulsegate-anomaly-detector', webhookMaxAttempts: 8 });
    expect(c.rules.receivers).toEqual([]);
  });

  it('reads WEBHOOK_URLS as receivers webhook-0, webhook-1', () => {
    const c = loadConfig({ WEBHOOK_URLS: 'http://a/x, https://b/y' });
    expect(c.rules.receivers).toEqual([
      { name: 'webhook-0', url: 'http://a/x', tenants: null },
      { name: 'webhook-1', url: 'https://b/y', tenants: null },
    ]);
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be an integer/],
    [{ AGGREGATOR_URL: 'ftp://x' }, /AGGREGATOR_URL must be an http\(s\) URL/],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL must start with redis:\/\//],
    [{ WEBHOOK_URLS: 'http://ok, not a url' }, /WEBHOOK_URLS: entry 2/],
    [{ REDIS_CLUSTER_NODES: 'a:1,b' }, /REDIS_CLUSTER_NODES: entry 2/],
    [{ HOST: '0.0.0.0' }, /PULSEGATE_API_KEYS is empty/],
    [{ RULES_FILE: '/nonexistent/rules.yaml' }, /RULES_FILE: cannot read/],
    [{ WEBHOOK_BACKOFF_INITIAL_MS: '1000', WEBHOOK_BACKOFF_MAX_MS: '10' }, /WEBHOOK_BACKOFF_MAX_MS/],
  ])('%o is refused with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('an invalid rules file fails startup with its line numbers', () => {
    const path = new URL('./fixtures/bad-rules.yaml', import.meta.url).pathname;
    expect(() => loadConfig({ RULES_FILE: path })).toThrow(/line 3 col 16 rules\.0\.threshold: must be a number >= 0/);
  });

  it('allows a public bind without keys only when told to', () => {
    expect(loadConfig({ HOST: '0.0.0.0', PULSEGATE_ALLOW_ANONYMOUS: 'true' }).allowAnonymous).toBe(true);
  });
});
