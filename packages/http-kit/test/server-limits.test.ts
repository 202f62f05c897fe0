import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@pulsegate/logging';
import { correlation, errorHandler, listen, serverLimitsFromEnv, type Listening, type ServerLimits } from '../src/index';
import { RawClient, exchange, type RawAnswer } from './raw-socket';

const open: Listening[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
});

function expectErrorSchema(a: RawAnswer | undefined, status: number, code: string): void {
  expect(a?.status).toBe(status);
  expect(a!.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(a!.body) as { error: { code: string; message: string; correlationId: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.correlationId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
}

async function serve(limits: Partial<ServerLimits> = {}, lines: string[] = []): Promise<Listening> {
  const logger = createLogger({ name: 'test', level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  const app = express();
  app.use(correlation());
  app.post('/echo', express.json(), (req, res) => {
    res.json({ got: req.body as unknown });
  });
  app.post('/slow', express.text(), async (req, res) => {
    await new Promise((r) => setTimeout(r, 600));
    res.json({ length: (req.body as string).length });
  });
  app.use(errorHandler(logger));
  const l = await listen(app, '127.0.0.1', 0, { limits: { headersTimeoutMs: 300, requestTimeoutMs: 5_000, bodyIdleTimeoutMs: 300, keepAliveTimeoutMs: 5_000, ...limits }, logger });
  open.push(l);
  return l;
}

describe('HTTP-level errors are answered in the error schema', () => {
  const cases: Array<[string, string]> = [
    ['negative Content-Length', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}'],
    ['non-numeric Content-Length', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1x\r\n\r\n{}'],
    ['Content-Length with Transfer-Encoding', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n'],
    ['bad chunk size', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
    ['bad method', 'P@ST /echo HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['bad HTTP version', 'GET /echo HTTP/9.x\r\nHost: x\r\n\r\n'],
  ];
  for (const [name, raw] of cases) {
    it(`${name}: 400 INVALID_ARGUMENT`, async () => {
      const { port } = await serve();
      const [a] = await exchange(port, raw);
      expectErrorSchema(a, 400, 'INVALID_ARGUMENT');
      expect(a!.headers.connection).toBe('close');
    });
  }

  it('oversized headers: 431', async () => {
    const { port } = await serve();
    const [a] = await exchange(port, `GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expectErrorSchema(a, 431, 'HEADERS_TOO_LARGE');
  });

  it('a Content-Length shorter than the body: the bytes past it are a malformed next request, answered 400', async () => {
    const { port } = await serve();
    // The parser reads both in one go, so the 400 may come before the first request's answer
    // (which is then dropped with the connection): either way the client gets a schema answer.
    const answers = await exchange(port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}garbage\r\n\r\n', 2);
    expect(answers.length).toBeGreaterThanOrEqual(1);
    expectErrorSchema(answers.at(-1), 400, 'INVALID_ARGUMENT');
    if (answers.length === 2) expect(JSON.parse(answers[0]!.body)).toEqual({ got: {} });
  });
});

describe('server timeouts', () => {
  it('headers that never end: 408 REQUEST_TIMEOUT', async () => {
    const { port } = await serve();
    const c = await RawClient.open(port);
    c.write('GET /echo HTTP/1.1\r\nHost: x\r\n');
    const [a] = await c.waitAnswers(1);
    c.close();
    expectErrorSchema(a, 408, 'REQUEST_TIMEOUT');
  });

  it('a Content-Length larger than the body: 408 after the body idle timeout, connection closed', async () => {
    const { port } = await serve();
    const c = await RawClient.open(port);
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":');
    const [a] = await c.waitAnswers(1);
    await c.closed;
    expectErrorSchema(a, 408, 'REQUEST_TIMEOUT');
    expect(a!.headers.connection).toBe('close');
  });

  it('a chunked upload that stops sending: 408', async () => {
    const { port } = await serve();
    const c = await RawClient.open(port);
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{"\r\n');
    const [a] = await c.waitAnswers(1);
    c.close();
    expectErrorSchema(a, 408, 'REQUEST_TIMEOUT');
  });

  it('a body that keeps trickling is cut by the whole-request timeout', async () => {
    const { port } = await serve({ bodyIdleTimeoutMs: 2_000, requestTimeoutMs: 800 });
    const c = await RawClient.open(port);
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const drip = setInterval(() => c.write('1\r\n \r\n'), 100);
    const [a] = await c.waitAnswers(1);
    clearInterval(drip);
    c.close();
    expectErrorSchema(a, 408, 'REQUEST_TIMEOUT');
  });

  it('a handler slower than the body idle timeout is not cut once the body is in', async () => {
    const { port } = await serve();
    const [a] = await exchange(port, 'POST /slow HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
    expect(a?.status).toBe(200);
    expect(JSON.parse(a!.body)).toEqual({ length: 5 });
  });

  it('keep-alive requests without a body are unaffected', async () => {
    const { port } = await serve();
    const c = await RawClient.open(port);
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    await c.waitAnswers(1);
    await new Promise((r) => setTimeout(r, 600)); // longer than the body idle timeout
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}');
    const answers = await c.waitAnswers(2);
    c.close();
    expect(answers.map((x) => x.status)).toEqual([200, 200]);
    expect(JSON.parse(answers[1]!.body)).toEqual({ got: { a: 1 } });
  });
});

describe('logging of client errors', () => {
  it('logs the error code, never the raw request (which may carry credentials)', async () => {
    const lines: string[] = [];
    const { port } = await serve({}, lines);
    const [a] = await exchange(port, 'POST /echo?api_key=sekrit-query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sekrit-header\r\nX-Api-Key: sekrit-x\r\nContent-Length: -5\r\n\r\n');
    expect(a?.status).toBe(400);
    const log = lines.join('');
    expect(log).toContain('HPE_INVALID_CONTENT_LENGTH');
    expect(log).not.toMatch(/sekrit/);
  });
});

describe('serverLimitsFromEnv', () => {
  it('defaults, overrides and errors naming the variable', () => {
    expect(serverLimitsFromEnv({})).toEqual({ headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, bodyIdleTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 });
    expect(serverLimitsFromEnv({ HTTP_BODY_IDLE_TIMEOUT_MS: '2500', HTTP_REQUEST_TIMEOUT_MS: ' ' }).bodyIdleTimeoutMs).toBe(2500);
    expect(() => serverLimitsFromEnv({ HTTP_HEADERS_TIMEOUT_MS: '1e4' })).toThrow(/HTTP_HEADERS_TIMEOUT_MS must be an integer/);
    expect(() => serverLimitsFromEnv({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '50' })).toThrow(/HTTP_KEEP_ALIVE_TIMEOUT_MS/);
    expect(() => serverLimitsFromEnv({ HTTP_HEADERS_TIMEOUT_MS: '70000' })).toThrow(/must not exceed HTTP_REQUEST_TIMEOUT_MS/);
  });
});

describe('logging of failed requests', () => {
  it('a 500 logs method and path, never the query string or credential headers', async () => {
    const lines: string[] = [];
    const logger = createLogger({ name: 'test', level: 'info', destination: { write: (s: string) => void lines.push(s) } });
    const app = express();
    app.use(correlation());
    app.get('/boom', (req) => {
      throw new Error(`failed for ${req.originalUrl}`);
    });
    app.use(errorHandler(logger));
    const l = await listen(app, '127.0.0.1', 0);
    open.push(l);
    const r = await fetch(`${l.url}/boom?api_key=sekrit-1&email=sekrit-2%40x.example&window=5m`, { headers: { authorization: 'Bearer sekrit-3', 'x-api-key': 'sekrit-4', cookie: 's=sekrit-5' } });
    expect(r.status).toBe(500);
    const log = lines.join('');
    expect(log).not.toMatch(/sekrit/);
    const line = JSON.parse(lines.find((x) => x.includes('unhandled error'))!) as { method: string; path: string; err: { message: string } };
    expect(line).toMatchObject({ method: 'GET', path: '/boom' });
    expect(line.err.message).toBe('failed for /boom?api_key=[redacted]&email=[redacted]&window=5m');
  });
});
