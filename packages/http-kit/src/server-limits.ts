import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '@pulsegate/logging';
import { errorBody } from './errors';

/** How long a client may take over a request; every server started by `listen` applies them. */
export interface ServerLimits {
  /** Longest wait for the complete request headers, ms. Default 10 000 (HTTP_HEADERS_TIMEOUT_MS). */
  headersTimeoutMs: number;
  /** Longest wait for the whole request (headers and body) to arrive, ms. Default 60 000 (HTTP_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Longest pause between two pieces of a request body, ms. Default 10 000 (HTTP_BODY_IDLE_TIMEOUT_MS). */
  bodyIdleTimeoutMs: number;
  /** How long an idle keep-alive connection stays open, ms. Default 5 000 (HTTP_KEEP_ALIVE_TIMEOUT_MS). */
  keepAliveTimeoutMs: number;
}

/** The defaults: 10 s for headers, 60 s for a whole request, 10 s of body silence, 5 s keep-alive. */
export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = { headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, bodyIdleTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 };

const VARIABLES: Array<[keyof ServerLimits, string]> = [
  ['headersTimeoutMs', 'HTTP_HEADERS_TIMEOUT_MS'],
  ['requestTimeoutMs', 'HTTP_REQUEST_TIMEOUT_MS'],
  ['bodyIdleTimeoutMs', 'HTTP_BODY_IDLE_TIMEOUT_MS'],
  ['keepAliveTimeoutMs', 'HTTP_KEEP_ALIVE_TIMEOUT_MS'],
];

/**
 * Reads HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS, HTTP_BODY_IDLE_TIMEOUT_MS and
 * HTTP_KEEP_ALIVE_TIMEOUT_MS (integers, 100 to 3 600 000 ms; unset = the default). Errors name the
 * variable; the headers timeout may not exceed the request timeout.
 */
export function serverLimitsFromEnv(env: Record<string, string | undefined>): ServerLimits {
  const limits: ServerLimits = { ...DEFAULT_SERVER_LIMITS };
  const problems: string[] = [];
  for (const [field, name] of VARIABLES) {
    const v = env[name];
    if (v === undefined || v.trim() === '') continue;
    const n = Number(v);
    if (!/^\s*\d+\s*$/.test(v) || n < 100 || n > 3_600_000) problems.push(`${name} must be an integer between 100 and 3600000, got ${JSON.stringify(v)}`);
    else limits[field] = n;
  }
  if (problems.length === 0 && limits.headersTimeoutMs > limits.requestTimeoutMs) problems.push('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS');
  if (problems.length > 0) throw new Error(problems.join('; '));
  return limits;
}

/** Node's parser error codes and what each means to the caller (see llhttp's error list). */
const PARSE_ERRORS: Record<string, string> = {
  HPE_INVALID_CONTENT_LENGTH: 'invalid Content-Length',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'Content-Length together with Transfer-Encoding',
  HPE_INVALID_TRANSFER_ENCODING: 'invalid Transfer-Encoding',
  HPE_INVALID_CHUNK_SIZE: 'invalid chunk size',
  HPE_INVALID_METHOD: 'invalid method',
  HPE_INVALID_URL: 'invalid request target',
  HPE_INVALID_VERSION: 'invalid HTTP version',
  HPE_INVALID_HEADER_TOKEN: 'invalid header',
  HPE_INVALID_CONSTANT: 'malformed request',
  HPE_LF_EXPECTED: 'malformed line ending',
  HPE_CR_EXPECTED: 'malformed line ending',
  HPE_STRICT: 'malformed request',
};

/** Whether the server already started an answer on this socket (then nothing may be written). */
function answerStarted(socket: Socket): boolean {
  const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  return res !== undefined && res !== null && res.headersSent;
}

/** Writes a complete HTTP/1.1 answer in the error schema straight to the socket, then closes it. */
function answerRaw(socket: Socket, status: number, reason: string, code: string, message: string): void {
  if (socket.writable && !answerStarted(socket)) {
    const body = JSON.stringify(errorBody(code, message, randomUUID()));
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    // A client that does not read its answer must not keep the socket: cut it after a grace period.
    setTimeout(() => socket.destroy(), 1_000).unref();
  } else {
    socket.destroy();
  }
}

/**
 * Answers what Node cannot hand to the app (it emits 'clientError'): malformed requests get 400
 * (431 for oversized headers), requests whose headers or whole body take too long get 408, all in
 * the error schema. Logs the error code only: the raw packet may hold credentials.
 */
export function onClientError(logger?: Logger) {
  return (err: Error & { code?: string }, socket: Socket): void => {
    const code = err.code ?? '';
    logger?.debug({ code }, 'http client error');
    if (code === 'ECONNRESET' || code === 'EPIPE') return void socket.destroy();
    if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return answerRaw(socket, 408, 'Request Timeout', 'REQUEST_TIMEOUT', 'the request did not arrive in time');
    if (code === 'HPE_HEADER_OVERFLOW') return answerRaw(socket, 431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE', 'request headers are too large');
    const what = PARSE_ERRORS[code] ?? 'malformed request';
    answerRaw(socket, 400, 'Bad Request', 'INVALID_ARGUMENT', `the request is not valid HTTP/1.1: ${what}`);
  };
}

/**
 * Wraps a request handler so a body that stops arriving is answered 408 (error schema, connection
 * closed) after `bodyIdleTimeoutMs` of silence rather than holding its connection (and any slot
 * it took) until the whole-request timeout. Requests without a body are left alone, and the timer
 * stops when the body is complete, so slow handlers are never cut.
 */
export function withBodyIdleTimeout(handler: (req: IncomingMessage, res: ServerResponse) => void, bodyIdleTimeoutMs: number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    if (hasBody && !req.complete) {
      const socket = req.socket;
      req.setTimeout(bodyIdleTimeoutMs, () => {
        if (req.complete) return;
        // Once answered, Node no longer aborts the request when its socket closes: destroy it
        // ourselves so the handler reading it fails and gives back what it holds.
        const abandon = (): void => void setTimeout(() => req.destroy(), 50).unref();
        if (!res.headersSent) {
          const body = JSON.stringify(errorBody('REQUEST_TIMEOUT', `no request body data for ${bodyIdleTimeoutMs} ms`, res.getHeader('x-correlation-id')?.toString() ?? randomUUID()));
          res.writeHead(408, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
          res.end(body, abandon);
        } else {
          abandon();
        }
        setTimeout(() => socket.destroy(), 1_000).unref();
      });
      // Once the body is in, the handler may take its time (bounded by its own deadlines).
      req.once('end', () => socket.setTimeout(0));
    }
    handler(req, res);
  };
}

/** Applies the header, whole-request and keep-alive limits to `server` and answers client errors. */
export function applyServerLimits(server: Server, limits: ServerLimits, logger?: Logger): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.on('clientError', onClientError(logger));
}
