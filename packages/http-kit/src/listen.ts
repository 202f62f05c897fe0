import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from '@pulsegate/logging';
import { applyServerLimits, DEFAULT_SERVER_LIMITS, withBodyIdleTimeout, type ServerLimits } from './server-limits';

/** Longest a close waits for open requests before cutting their connections, ms. */
export const CLOSE_GRACE_MS = 10_000;

export interface Listening {
  url: string;
  port: number;
  /**
   * Stops accepting, lets open requests finish (up to CLOSE_GRACE_MS), closes keep-alive
   * connections as they go idle, then resolves. Idempotent.
   */
  close(): Promise<void>;
}

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
    server.once('error', reject);
    server.once('listening', () => {
      const address = server.address();
      const actual = typeof address === 'object' && address !== null ? address.port : port;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      let closing: Promise<void> | undefined;
      resolve({
        url: `http://${shownHost}:${actual}`,
        port: actual,
        close: () =>
          (closing ??= new Promise<void>((done) => {
            // A keep-alive connection that was busy at close() turns idle later: keep closing idle
            // ones until the server is down, and cut whatever is left after the grace period.
            const sweep = setInterval(() => server.closeIdleConnections(), 50);
            const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
            server.close(() => {
              clearInterval(sweep);
              clearTimeout(cut);
              done();
            });
            server.closeIdleConnections();
          })),
      });
    });
  });
}
