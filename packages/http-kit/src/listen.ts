import type { Server } from 'node:http';
import type { Express } from 'express';

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

/** Starts an HTTP server for `app` on host:port (0 = any free port). */
export function listen(app: Express, host: string, port: number): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const server: Server = app.listen(port, host);
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
