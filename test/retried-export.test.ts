import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@pulsegate/logging';
import { startEmbedded, type Embedded } from '../apps/pulsegate/src/embedded';
import { exportCalls } from './support/otel';
import { until } from './support/poll';
import { contosoCalls, reference } from './support/scenario';

/**
 * An HTTP proxy in front of ingest that forwards every request and, for the first delivery of each
 * distinct body, drops the answer (closes the exporter's connection after ingest answered): the
 * exporter sees ECONNRESET, retries, and ingest gets the same spans twice.
 */
async function answerDroppingProxy(target: string): Promise<{ url: string; dropped: () => number; forwarded: () => number; close: () => Promise<void> }> {
  const seen = new Set<string>();
  let dropped = 0;
  let forwarded = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding'].includes(k)) headers[k] = v;
      void fetch(`${target}${req.url ?? '/'}`, { method: req.method, headers, body })
        .then(async (r) => {
          const answer = Buffer.from(await r.arrayBuffer());
          forwarded++;
          const key = body.toString('base64');
          if (!seen.has(key)) {
            seen.add(key);
            dropped++;
            req.socket.destroy();
            return;
          }
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream' });
          res.end(answer);
        })
        .catch(() => req.socket.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    dropped: () => dropped,
    forwarded: () => forwarded,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('a retried export counts once: the real exporter through a proxy that drops every first answer', () => {
  let embedded: Embedded;
  const url = (name: string): string => embedded.services.find((s) => s.name === name)!.url;

  beforeAll(async () => {
    embedded = await startEmbedded({ env: {}, ephemeralPorts: true, logger: createLogger({ name: 'e2e', level: 'silent' }) });
  });
  afterAll(async () => {
    await embedded.stop();
  });

  for (const protocol of ['json', 'proto-gzip'] as const) {
    it(`counts every span exactly once (${protocol})`, async () => {
      const proxy = await answerDroppingProxy(url('ingest'));
      const connector = `Retried-${protocol}`;
      try {
        const calls = contosoCalls(700, Date.now(), protocol === 'json' ? 3 : 4).map((c) => ({ ...c, connector }));
        const sent = await exportCalls(proxy.url, protocol, calls);
        expect(sent).toHaveLength(700);
        // Every request reached ingest twice: once with its answer dropped, once answered.
        expect(proxy.dropped()).toBeGreaterThan(0);
        expect(proxy.forwarded()).toBe(2 * proxy.dropped());
        const want = reference(sent);
        const got = await until(async () => {
          const b = (await (await fetch(`${url('aggregator')}/v1/connectors/${connector}/metrics?window=15m`)).json()) as { calls?: number; successes?: number; throttled?: number; errorCodes?: unknown };
          return b.calls === want.calls ? b : undefined;
        }, 'every span counted', 30_000, 100);
        expect(got).toMatchObject({ calls: want.calls, successes: want.successes, throttled: want.throttled, errorCodes: want.errorCodes });
        // Still exact once everything has settled (the retries were absorbed, not merely late).
        await new Promise((r) => setTimeout(r, 500));
        const again = (await (await fetch(`${url('aggregator')}/v1/connectors/${connector}/metrics?window=15m`)).json()) as { calls: number };
        expect(again.calls).toBe(want.calls);
        const listing = (await (await fetch(`${url('aggregator')}/v1/connectors?window=15m`)).json()) as { connectors: Array<{ connector: string; dropped: { duplicates: number } }> };
        expect(listing.connectors.find((c) => c.connector === connector)!.dropped.duplicates).toBe(700);
      } finally {
        await proxy.close();
      }
    });
  }

  it('reports the absorbed retries per tenant in /metrics, promtool-clean', async () => {
    const text = await (await fetch(`${url('aggregator')}/metrics`)).text();
    const m = /^pulsegate_aggregator_events_duplicate_total\{tenant="default"\} (\d+)$/m.exec(text);
    expect(Number(m?.[1])).toBe(1_400);
    expect(text).toMatch(/^# TYPE pulsegate_aggregator_events_duplicate_total counter$/m);
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${lint.stdout}${lint.stderr}`.split('\n').filter((l) => /duplicate_total|without_ids_total/.test(l))).toEqual([]);
    expect(lint.error).toBeUndefined();
  });
});
