import { createServer, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { Express } from 'express';
import type { Logger } from '@pulsegate/logging';
import { applyServerLimits, DEFAULT_SERVER_LIMITS, withBodyIdleTimeout, type ServerLimits } from './server-limits';

/** Longest a close waits for open requests before cutting their connections, ms. */
export const CLOSE_GRACE_MS = 10_000;

export interface Listening {
  url: string;
  port: number;
  /**
   * Closes the server. For `drainMs` (default 0) it keeps accepting while every answer says
   * `Connection: close`, so clients move off their keep-alive connections with an answer rather than
   * a reset (it ends early once no connection is open); then it stops accepting, lets open requests
   * finish (up to CLOSE_GRACE_MS), closes connections as they go idle, and resolves. Idempotent.
   */
  close(options?: { drainMs?: number }): Promise<void>;
  /** API requests (not probes or scrapes) received and answers fully sent, for the shutdown's last log line. */
  requests(): { received: number; answered: number };
}

/** A connection as close() sees it. */
interface Connection {
  /** A request is being answered. */
  busy: boolean;
  /** Requests answered so far. */
  served: number;
  /** Accepted at, epoch ms. */
  since: number;
}

/** A connection accepted this recently that has not sent its first request yet is waited for, ms. */
const FRESH_CONNECTION_MS = 1_000;

/** Probes and scrapes, left out of requests(). */
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** `listen` options. */
export interface ListenOptions {
  /** Client time limits. Default DEFAULT_SERVER_LIMITS. */
  limits?: ServerLimits;
  /** Where client (HTTP parse) errors are logged, at debug. Default: not logged. */
  logger?: Logger;
}

/**
 * Starts an HTTP server for `app` on host:port (0 = any free port) with the client time limits
 * applied and HTTP-level errors answered in the error schema.
 */
export function listen(app: Express, host: string, port: number, options: ListenOptions = {}): Promise<Listening> {
  const limits = options.limits ?? DEFAULT_SERVER_LIMITS;
  return new Promise((resolve, reject) => {
    // Node checks the headers and request timeouts only every connectionsCheckingInterval (30 s by
    // default): check often enough that the limits hold to within a second.
    const server: Server = createServer({ connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(limits.headersTimeoutMs / 2))) }, withBodyIdleTimeout(app, limits.bodyIdleTimeoutMs));
    applyServerLimits(server, limits, options.logger);
    server.listen(port, host);
    let closing: Promise<void> | undefined;
    // Once closing, every answer not yet sent says `Connection: close`, so no client sends another
    // request on a connection the server is about to close (that request would be reset, not answered).
    const open = new Set<ServerResponse>();
    const connections = new Map<Socket, Connection>();
    const lastCall = (res: ServerResponse): void => {
      if (!res.headersSent) res.setHeader('Connection', 'close');
    };
    server.on('connection', (socket: Socket) => {
      connections.set(socket, { busy: false, served: 0, since: Date.now() });
      socket.once('close', () => connections.delete(socket));
    });
    let received = 0;
    let answered = 0;
    server.prependListener('request', (req, res) => {
      if (!PROBE_PATHS.has((req.url ?? '').split('?')[0]!)) {
        received++;
        res.once('finish', () => answered++);
      }
      const connection = connections.get(req.socket);
      if (connection !== undefined) {
        connection.busy = true;
        res.once('close', () => {
          connection.busy = false;
          connection.served++;
        });
      }
      if (closing !== undefined) return lastCall(res);
      open.add(res);
      res.once('close', () => open.delete(res));
    });
    // Node's own close() also drops connections that were accepted but have not sent their request
    // yet, which resets that request: this one ends only connections that are idle after an answer
    // (or silent for FRESH_CONNECTION_MS).
    const closeIdle = (): void => {
      const now = Date.now();
      for (const [socket, c] of connections) {
        if (c.busy || (c.served === 0 && now - c.since < FRESH_CONNECTION_MS)) continue;
        socket.destroy();
      }
    };
    const drain = async (drainMs: number): Promise<void> => {
      const deadline = Date.now() + drainMs;
      while (connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    };
    server.once('error', reject);
    server.once('listening', () => {
      const address = server.address();
      const actual = typeof address === 'object' && address !== null ? address.port : port;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${shownHost}:${actual}`,
        port: actual,
        requests: () => ({ received, answered }),
        close: (options = {}) =>
          (closing ??= (async () => {
            for (const res of open) lastCall(res);
            await drain(options.drainMs ?? 0);
            await new Promise<void>((done) => {
              // Keep ending connections as they go idle until the server is down, and cut whatever
              // is left after the grace period.
              const sweep = setInterval(closeIdle, 20);
              const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
              NetServer.prototype.close.call(server, () => {
                clearInterval(sweep);
                clearTimeout(cut);
                done();
              });
              closeIdle();
            });
          })()),
      });
    });
  });
}
