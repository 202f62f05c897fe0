import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/index';

const KEY = 'sk-redaction-test-5d1c9a';
const BEARER = 'tok-redaction-test-88e2f0';
const EMAIL = 'jane.pii-7c41@contoso.example';

function capture(level = 'trace', redact?: string[]) {
  const lines: string[] = [];
  const logger = createLogger({ name: 'redaction-test', level, redact, destination: { write: (s: string) => void lines.push(s) } });
  return { lines, logger };
}

describe('createLogger redaction', () => {
  it('never writes API keys, bearer tokens or PII-classified fields', () => {
    const { lines, logger } = capture();
    logger.info({ req: { method: 'GET', url: '/v1/alerts', headers: { authorization: `Bearer ${BEARER}`, 'x-api-key': KEY, cookie: `s=${KEY}` } } }, 'request');
    logger.info({ headers: { authorization: `Bearer ${BEARER}`, 'x-api-key': KEY } }, 'outgoing call');
    logger.warn({ config: { apiKeys: [{ key: KEY, tenant: 'acme' }], token: BEARER, password: KEY, secret: KEY } }, 'config');
    logger.info({ apiKey: KEY, token: BEARER }, 'top level');
    logger.info({ owner: { name: 'Jane', email: EMAIL }, contact: { pii: EMAIL } }, 'catalog entry');
    expect(lines).toHaveLength(5);
    const all = lines.join('');
    for (const secret of [KEY, BEARER, EMAIL]) expect(all.includes(secret), `log contains ${secret}`).toBe(false);
    // The fields are still there, censored, so readers see that something was removed.
    const parsed = lines.map((l) => JSON.parse(l) as { req?: { url: string; headers: unknown }; owner?: unknown });
    expect(parsed[0]!.req!.headers).toEqual({ authorization: '[redacted]', 'x-api-key': '[redacted]', cookie: '[redacted]' });
    expect(parsed[0]!.req!.url).toBe('/v1/alerts');
    expect(parsed[4]!.owner).toEqual({ name: 'Jane', email: '[redacted]' });
  });

  it('redacts extra paths a service adds', () => {
    const { lines, logger } = capture('info', ['receiver.url']);
    logger.info({ receiver: { name: 'ops', url: `https://hooks.example/${BEARER}` } }, 'receiver');
    expect(lines.join('')).not.toContain(BEARER);
    expect(JSON.parse(lines[0]!).receiver.name).toBe('ops');
  });
});

describe('query strings and errors', () => {
  it('redactQuery scrubs secret parameters wherever a URL appears', async () => {
    const { redactQuery, pathOnly } = await import('../src/index');
    expect(redactQuery('/v1/x?api_key=K1&window=5m&Token=T2')).toBe('/v1/x?api_key=[redacted]&window=5m&Token=[redacted]');
    expect(redactQuery('GET http://h/a?x-api-key=K&email=a%40b.c failed')).toBe('GET http://h/a?x-api-key=[redacted]&email=[redacted] failed');
    expect(redactQuery('no query here')).toBe('no query here');
    expect(pathOnly('/v1/connectors/a%3Fb/metrics?api_key=K#f')).toBe('/v1/connectors/a%3Fb/metrics');
  });

  it('logs an error without the request data libraries attach to it', () => {
    const { lines, logger } = capture();
    const err = Object.assign(new Error(`upstream http://agg/v1/metrics?api_key=${KEY} failed`), {
      code: 'E_UPSTREAM',
      body: `{"key":"${KEY}"}`,
      rawPacket: Buffer.from(`Authorization: Bearer ${BEARER}`),
      headers: { authorization: `Bearer ${BEARER}` },
      cause: Object.assign(new Error('inner'), { config: { headers: { 'x-api-key': KEY } } }),
    });
    logger.error({ err }, 'failed');
    const all = lines.join('');
    for (const secret of [KEY, BEARER]) expect(all.includes(secret), `log contains ${secret}`).toBe(false);
    const parsed = JSON.parse(lines[0]!) as { err: { type: string; message: string; code: string; cause: { message: string } } };
    expect(parsed.err).toMatchObject({ type: 'Error', code: 'E_UPSTREAM', message: 'upstream http://agg/v1/metrics?api_key=[redacted] failed', cause: { message: 'inner' } });
  });
});
