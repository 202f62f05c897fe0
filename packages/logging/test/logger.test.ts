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
