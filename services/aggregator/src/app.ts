import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '@pulsegate/logging';
import { metricsHandler, type Registry } from '@pulsegate/telemetry';
import { authenticate, badRequest, correlation, errorHandler, HttpError, notFound, notFoundHandler, principalOf, type KeyRing } from '@pulsegate/http-kit';
import { HOUR_MS, type SeriesFilter } from '@pulsegate/windows';
import { MAX_POINTS, namedRange, QueryTooLarge, STEPS, TIMESERIES_METRICS, WINDOWS, type MetricsQueries, type TimeRange, type TimeseriesMetric } from './query';
import { versionSketchesHandler } from './version-sketches';

/** What the HTTP app needs. */
export interface AppDeps {
  queries: MetricsQueries;
  keys: KeyRing;
  logger: Logger;
  /** Ready = store answers and bus is ready. */
  isReady(): Promise<boolean>;
  /** Why the service works but not as it should (e.g. a stuck batch); none when healthy. */
  degraded?(): string[];
  /** Longest span a from/to query may cover, ms (the hour retention). */
  maxRangeMs: number;
  staleAfterDays: number;
  /** Served at GET /metrics (admin scope when keys are configured); omitted = no /metrics route. */
  metrics?: Registry;
}

const MAX_LABEL = 256;

function one(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(`query parameter ${name} must be given once`);
  return v;
}

function label(req: Request, name: string): string | undefined {
  const v = one(req, name);
  if (v === undefined || v === '') return undefined;
  if (v.length > MAX_LABEL) throw badRequest(`${name} is longer than ${MAX_LABEL} characters`);
  return v;
}

function filterOf(req: Request): SeriesFilter {
  const kind = one(req, 'kind');
  if (kind !== undefined && kind !== '' && kind !== 'read' && kind !== 'write') throw badRequest('kind must be read or write');
  return { action: label(req, 'action'), version: label(req, 'version'), kind: kind === '' || kind === undefined ? undefined : kind };
}

function time(req: Request, name: string): number | undefined {
  const v = one(req, name);
  if (v === undefined) return undefined;
  const t = /^\d{1,16}$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw badRequest(`${name} must be epoch milliseconds or an ISO 8601 date-time, got "${v.slice(0, 64)}"`);
  return t;
}

function rangeOf(req: Request, now: number, defaultWindow: string, maxRangeMs: number, grainMs?: number): TimeRange {
  const window = one(req, 'window');
  const from = time(req, 'from');
  const to = time(req, 'to');
  if (from !== undefined || to !== undefined) {
    if (window !== undefined) throw badRequest('give either window or from/to, not both');
    if (from === undefined || to === undefined) throw badRequest('from and to go together');
    if (from >= to) throw badRequest('from must be before to');
    if (to - from > maxRangeMs) throw badRequest(`from/to may span at most ${Math.round(maxRangeMs / 86_400_000)} days (the hour-bucket retention)`);
    return { name: 'custom', from, to };
  }
  const name = window ?? defaultWindow;
  if (WINDOWS[name] === undefined) throw badRequest(`window must be one of ${Object.keys(WINDOWS).join(', ')}`);
  return namedRange(name, now, grainMs);
}

function connectorParam(req: Request): string {
  const c = req.params.connector;
  if (typeof c !== 'string' || c === '' || c.length > MAX_LABEL) throw badRequest(`connector must be 1-${MAX_LABEL} characters`);
  return c;
}

/** Most connectors one /v1/connectors page holds (the default page size). */
export const MAX_CONNECTORS_PAGE = 1_000;

const unknownConnector = (c: string): HttpError => notFound(`no data for connector "${c.slice(0, 64)}" in this tenant`);

/** The aggregator's HTTP API. Never listens; main.ts or the embedded launcher does. */
export function createApp(deps: AppDeps): Express {
  const { queries } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(correlation());

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ready = await deps.isReady();
    const reasons = deps.degraded?.() ?? [];
    if (ready && reasons.length > 0) res.status(503).json({ status: 'degraded', reasons });
    else res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready' });
  });

  if (deps.metrics !== undefined) app.get('/metrics', authenticate(deps.keys, 'admin'), metricsHandler(deps.metrics));

  const read = authenticate(deps.keys, 'metrics.read');

  app.get('/v1/connectors', read, async (req, res) => {
    const range = rangeOf(req, queries.now(), '1h', deps.maxRangeMs);
    const l = one(req, 'limit');
    const limit = l === undefined ? MAX_CONNECTORS_PAGE : Number(l);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CONNECTORS_PAGE) throw badRequest(`limit must be an integer between 1 and ${MAX_CONNECTORS_PAGE}`);
    const after = label(req, 'after');
    const page = await queries.connectors(principalOf(req).tenant, range, { limit, after });
    res.json({ window: range.name, from: range.from, to: range.to, connectors: page.connectors, next: page.next });
  });

  app.get('/v1/stale-series', read, async (req, res) => {
    const d = one(req, 'days');
    const days = d === undefined ? deps.staleAfterDays : Number(d);
    if (!Number.isInteger(days) || days < 1 || days > 3_650) throw badRequest('days must be an integer between 1 and 3650');
    res.json(await queries.stale(principalOf(req).tenant, days));
  });

  app.get('/v1/connectors/:connector/metrics', read, async (req, res) => {
    const connector = connectorParam(req);
    const filter = filterOf(req);
    const range = rangeOf(req, queries.now(), '5m', deps.maxRangeMs);
    const m = await queries.metrics(principalOf(req).tenant, connector, filter, range);
    if (m === null) throw unknownConnector(connector);
    res.json(m);
  });

  app.get('/v1/connectors/:connector/actions', read, async (req, res) => {
    const connector = connectorParam(req);
    const a = await queries.actions(principalOf(req).tenant, connector);
    if (a === null) throw unknownConnector(connector);
    res.json(a);
  });

  app.get('/v1/connectors/:connector/versions', read, async (req, res) => {
    const connector = connectorParam(req);
    const range = rangeOf(req, queries.now(), '30d', deps.maxRangeMs);
    const v = await queries.versions(principalOf(req).tenant, connector, range);
    if (v === null) throw unknownConnector(connector);
    res.json(v);
  });

  app.get('/v1/connectors/:connector/timeseries', read, async (req, res) => {
    const connector = connectorParam(req);
    const filter = filterOf(req);
    const metric = one(req, 'metric') ?? 'p95';
    if (!(TIMESERIES_METRICS as readonly string[]).includes(metric)) throw badRequest(`metric must be one of ${TIMESERIES_METRICS.join(', ')}`);
    const stepName = one(req, 'step') ?? '1m';
    const stepMs = STEPS[stepName];
    if (stepMs === undefined) throw badRequest(`step must be one of ${Object.keys(STEPS).join(', ')}`);
    // Steps of whole hours end with the current hour: each point is one hour bucket (or several).
    const range = rangeOf(req, queries.now(), '1h', deps.maxRangeMs, stepMs % HOUR_MS === 0 ? HOUR_MS : undefined);
    const points = Math.ceil((range.to - range.from) / stepMs);
    if (points > MAX_POINTS) throw badRequest(`window / step gives ${points} points; at most ${MAX_POINTS}`);
    const ts = await queries.timeseries(principalOf(req).tenant, connector, filter, metric as TimeseriesMetric, { name: stepName, ms: stepMs }, range);
    if (ts === null) throw unknownConnector(connector);
    res.json(ts);
  });

  // Per-version counts and latency sketch buckets for baseline-vs-candidate judges (version-sketches.ts).
  app.get('/v1/connectors/:connector/version-sketches', read, versionSketchesHandler(queries, (req) => rangeOf(req, queries.now(), '1h', deps.maxRangeMs)));

  // A query over its limits (QueryTooLarge) is the caller's to narrow: 422 with the limit named.
  app.use((err: unknown, _req: Request, _res: Response, next: NextFunction) => next(err instanceof QueryTooLarge ? new HttpError(422, 'QUERY_TOO_LARGE', err.message) : err));
  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger));
  return app;
}
