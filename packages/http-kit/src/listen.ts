import type { Server } from 'node:http';
import type { Express } from 'express';

export interface Listening {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts an HTTP server for `app` on host:port (0 = any free port); `close()` stops accepting and waits for open requests (idempotent). */
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
            server.close(() => done());
            server.closeIdleConnections();
          })),
      });
    });
  });
}
