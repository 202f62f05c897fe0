import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { badRequest, correlation, correlationIdOf, errorHandler, forbidden, HttpError, notFoundHandler, unauthorized } from '@pulsegate/http-kit';
import { createLogger, isSecretName, type Logger } from '@pulsegate/logging';
import { createMetricsRegistry, metricsHandler, registerReadout } from '@pulsegate/telemetry';
import { clearedSessionCookieHeader, keyProblem, sessionCookieHeader, userKey } from './session';

/** Where the dashboard finds the services it shows. */
export interface DashboardOptions {
  /** Base URL of the aggregator, e.g. http://127.0.0.1:8081. */
  aggregatorUrl: string;
  /** Base URL of the anomaly detector, e.g. http://127.0.0.1:8082. */
  detectorUrl: string;
  /** Base URL of the risk scorer, e.g. http://127.0.0.1:8083. */
  riskUrl: string;
  /** Upstream request timeout, ms. Default 10 000. */
  upstreamTimeoutMs?: number;
  /** Default: a silent-free `pulsegate-dashboard` logger at info. */
  logger?: Logger;
}

/** Proxy prefixes the page uses: `/api/<name>/v1/…` → `<upstream>/v1/…`. */
export const PROXY_PREFIXES = ['aggregator', 'alerts', 'risk'] as const;
export type ProxyPrefix = (typeof PROXY_PREFIXES)[number];

/**
 * The app's public/ folder, found from this module whether it runs from src/dashboard/app.ts (tsx,
 * tests) or bundled into dist/main.js: the nearest folder upwards that holds package.json.
 */
function publicDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('dashboard: no package.json above the dashboard module, cannot find public/');
    dir = parent;
  }
  return join(dir, 'public');
}

const PUBLIC_DIR = publicDir();
// chart.js's package exports hide dist/, so find it from the entry point the package does export.
const CHART_JS_DIST = dirname(createRequire(import.meta.url).resolve('chart.js'));

/**
 * True when the browser reached the dashboard over HTTPS, directly or through a TLS-terminating
 * ingress (X-Forwarded-Proto). Only decides the cookie's Secure flag, which a forged header can
 * only make stricter.
 */
function servedOverHttps(req: Request): boolean {
  return req.secure || (req.get('x-forwarded-proto') ?? '').split(',')[0]!.trim().toLowerCase() === 'https';
}

/** Upstream paths the page may read: the services' versioned APIs and their probes, nothing else. */
function allowedPath(pathname: string): boolean {
  return pathname.startsWith('/v1/') || pathname === '/healthz' || pathname === '/readyz';
}

/**
 * The dashboard: the static page (public/), Chart.js from node_modules, sign-in (`POST /session`,
 * `DELETE /session`) and a read-only same-origin proxy so the browser needs no CORS. The proxy
 * forwards the signed-in user's own key (session cookie, or the caller's `Authorization` /
 * `x-api-key`) and nothing else: the dashboard holds no key, so no key means no data (401). Only GET
 * is forwarded, and only to `/v1/…`, `/healthz` and `/readyz` of the three upstreams; the answer
 * (status and JSON body) is passed through unchanged, so upstream errors keep their own error body
 * and correlation id.
 */
export function createDashboardApp(options: DashboardOptions): Express {
  const logger = options.logger ?? createLogger({ name: 'pulsegate-dashboard' });
  const timeoutMs = options.upstreamTimeoutMs ?? 10_000;
  const upstreams: Record<ProxyPrefix, string> = {
    aggregator: options.aggregatorUrl.replace(/\/+$/, ''),
    alerts: options.detectorUrl.replace(/\/+$/, ''),
    risk: options.riskUrl.replace(/\/+$/, ''),
  };

  const app = express();
  app.disable('x-powered-by');
  app.use(correlation());

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // Proxied requests by upstream and answer class (2xx…5xx, or `error` when the upstream did not
  // answer): at most 3 × 6 samples.
  const proxied = new Map<string, number>();
  const countProxied = (upstream: string, result: string): void => {
    const key = `${upstream}\u0000${result}`;
    proxied.set(key, (proxied.get(key) ?? 0) + 1);
  };
  const registry = createMetricsRegistry();
  registerReadout(registry, {
    name: 'pulsegate_dashboard_upstream_requests_total',
    help: 'Requests the dashboard forwarded, by upstream (aggregator, alerts, risk) and result (2xx, 3xx, 4xx, 5xx, error).',
    type: 'counter',
    labelNames: ['upstream', 'result'],
    read: () =>
      [...proxied].map(([key, value]) => {
        const [upstream, result] = key.split('\u0000') as [string, string];
        return { labels: { upstream, result }, value };
      }),
  });
  // Process metrics and the proxy's counts only: nothing a tenant owns, so no key is needed.
  app.get('/metrics', metricsHandler(registry));

  app.get('/readyz', async (_req, res) => {
    const checks = await Promise.all(
      PROXY_PREFIXES.map(async (name) => {
        try {
          const r = await fetch(`${upstreams[name]}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
          return [name, r.status === 200] as const;
        } catch {
          return [name, false] as const;
        }
      }),
    );
    const ready = checks.every(([, ok]) => ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', upstreams: Object.fromEntries(checks.map(([n, ok]) => [n, ok ? 'ready' : 'not ready'])) });
  });

  /** One upstream request with the user's key; unreachable → 502, no answer in time → 504. */
  const forward = async (name: ProxyPrefix, target: URL, method: string, key: string, correlationId: string): Promise<{ status: number; headers: Headers; body: Buffer }> => {
    try {
      const upstream = await fetch(target, {
        method,
        headers: { accept: 'application/json', 'x-correlation-id': correlationId, authorization: `Bearer ${key}` },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
      const body = Buffer.from(await upstream.arrayBuffer());
      countProxied(name, `${Math.floor(upstream.status / 100)}xx`);
      return { status: upstream.status, headers: upstream.headers, body };
    } catch (err) {
      countProxied(name, 'error');
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      // The path and the error's kind only: the query string may carry personal data, and an HTTP
      // client's message may quote a header value (the key).
      const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined)?.code : undefined;
      logger.warn({ upstream: name, path: target.pathname, correlationId, error: err instanceof Error ? err.name : typeof err, cause: typeof cause === 'string' ? cause : undefined }, 'dashboard upstream failed');
      throw timedOut
        ? new HttpError(504, 'UPSTREAM_TIMEOUT', `the ${name} service did not answer within ${timeoutMs} ms`)
        : new HttpError(502, 'UPSTREAM_UNAVAILABLE', `the ${name} service is not reachable`);
    }
  };

  // Sign-in: the key is checked against the aggregator, then kept in an HttpOnly cookie (see session.ts).
  app.post('/session', express.json({ limit: '4kb' }), async (req: Request, res: Response, next: NextFunction) => {
    try {
      // A page of another site may not sign this browser in with its own key (login CSRF).
      if (req.get('sec-fetch-site') === 'cross-site') throw forbidden('sign-in from another site is refused');
      if (!req.is('application/json')) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send {"apiKey": "<your API key>"} as application/json');
      const key = (req.body as { apiKey?: unknown } | undefined)?.apiKey;
      const problem = keyProblem(key);
      if (problem !== undefined) throw badRequest(problem);
      const probe = await forward('aggregator', new URL(`${upstreams.aggregator}/v1/connectors?window=5m`), 'GET', key as string, correlationIdOf(req));
      // 403: a valid key without metrics.read still signs in (its other panels may work).
      if (probe.status === 401) throw unauthorized('the API key was not accepted');
      if (probe.status === 429) throw new HttpError(429, 'RATE_LIMIT', 'the API key is over its rate limit; try again shortly', { retryAfterSeconds: Number(probe.headers.get('retry-after') ?? 1) || 1 });
      if (probe.status >= 500) throw new HttpError(502, 'UPSTREAM_UNAVAILABLE', `the aggregator answered ${probe.status} while checking the key`);
      res.setHeader('set-cookie', sessionCookieHeader(key as string, servedOverHttps(req)));
      res.setHeader('cache-control', 'no-store');
      res.status(204).end();
    } catch (err) {
      next(err);
    }
  });
  app.delete('/session', (req, res) => {
    res.setHeader('set-cookie', clearedSessionCookieHeader(servedOverHttps(req)));
    res.status(204).end();
  });

  app.all('/api/:upstream/{*rest}', async (req: Request, res: Response, next: NextFunction) => {
    try {
      const name = req.params.upstream as string;
      if (!(PROXY_PREFIXES as readonly string[]).includes(name)) throw new HttpError(404, 'NOT_FOUND', `unknown API ${JSON.stringify(name.slice(0, 64))}; use /api/aggregator, /api/alerts or /api/risk`);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'the dashboard proxy is read-only: GET only');
      }
      const base = upstreams[name as ProxyPrefix];
      // req.url keeps the raw (still percent-encoded) path and query; the URL parser then resolves
      // dot segments (also %2e%2e), and the allow-list is checked on the result.
      const rest = req.originalUrl.slice(`/api/${name}`.length);
      const basePath = new URL(base).pathname.replace(/\/+$/, '');
      const target = new URL(base + rest);
      if (!target.pathname.startsWith(basePath + '/') || !allowedPath(target.pathname.slice(basePath.length))) {
        throw new HttpError(404, 'NOT_FOUND', 'the dashboard proxy only forwards /v1/…, /healthz and /readyz');
      }
      // Keys travel in a header only: a query string ends up in browser history and access logs.
      const secretParam = [...target.searchParams.keys()].find(isSecretName);
      if (secretParam !== undefined) throw badRequest(`query parameter ${JSON.stringify(secretParam.slice(0, 64))} is refused: sign in, or send the key as Authorization: Bearer`);
      const key = userKey(req);
      if (key === undefined) throw unauthorized('sign in with your API key: POST /session, or send Authorization: Bearer <key>');
      if (keyProblem(key) !== undefined) throw unauthorized('malformed API key; sign in again');
      const upstream = await forward(name as ProxyPrefix, target, req.method, key, correlationIdOf(req));
      res.status(upstream.status);
      res.setHeader('content-type', upstream.headers.get('content-type') ?? 'application/json');
      res.setHeader('cache-control', 'no-store');
      res.setHeader('vary', 'Cookie, Authorization, X-API-Key');
      const retryAfter = upstream.headers.get('retry-after');
      if (retryAfter !== null) res.setHeader('retry-after', retryAfter);
      res.end(req.method === 'HEAD' ? undefined : upstream.body);
    } catch (err) {
      next(err);
    }
  });

  app.get('/vendor/chart.umd.min.js', (_req, res) => {
    res.sendFile(join(CHART_JS_DIST, 'chart.umd.min.js'), { maxAge: '1h' });
  });
  app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0 }));

  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  return app;
}
