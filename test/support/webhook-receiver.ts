import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookPayload } from '@pulsegate/anomaly-detector';

/** One webhook request as the receiver saw it. */
export interface ReceivedWebhook {
  payload: WebhookPayload;
  idempotencyKey: string | null;
  contentType: string | null;
}

/** A plain node:http webhook receiver (what an Alertmanager-compatible receiver would be) for end-to-end tests. */
export interface WebhookReceiver {
  /** URL to configure in WEBHOOK_URLS. */
  url: string;
  /** Every accepted request, in arrival order. */
  received: ReceivedWebhook[];
  /** Every alert of every request, in order, as "alertname:fingerprint:status". */
  alerts(): string[];
  close(): Promise<void>;
}

/** Starts a receiver on a free loopback port; it answers 200 to every POST and records the body. */
export async function startWebhookReceiver(path = '/alertmanager'): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== path) {
        res.statusCode = 404;
        res.end();
        return;
      }
      received.push({
        payload: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookPayload,
        idempotencyKey: typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null,
        contentType: req.headers['content-type'] ?? null,
      });
      res.statusCode = 200;
      res.end('ok');
    });
  });
  // Short keep-alive so close() does not wait on idle sockets of the senders.
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    received,
    alerts: () => received.flatMap((r) => r.payload.alerts.map((a) => `${a.labels.alertname}:${a.fingerprint}:${a.status}`)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
