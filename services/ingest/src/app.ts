import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Bus } from '@pulsegate/bus';
import { Topics, decodeInvocationBatch, type InvocationEvent } from '@pulsegate/events';
import { HttpError, KeyRing, authenticate, correlation, correlationIdOf, errorHandler, notFoundHandler, principalOf } from '@pulsegate/http-kit';
import type { Logger } from '@pulsegate/logging';
import { metricsHandler } from '@pulsegate/telemetry';
import { encodeTraceResponseJson, encodeTraceResponseProtobuf, rejectionMessage } from '@pulsegate/otlp';
import { readBody } from './body';
import { CardinalityGuard } from './cardinality';
import { batchRecords, decodeRequest, type DecodeOk, type EncodedRecord } from './decode';
import type { IngestConfig } from './config';
import { createCounters, type IngestCounters } from './counters';
import { InFlight } from './in-flight';
import { createIngestMetrics } from './metrics';
import { DEFAULT_PUBLISH_STALL_MS, DEFAULT_PUBLISH_TIMEOUT_MS, PublishCoalescer, PublishTracker, withDeadline } from './publish';

export interface IngestAppDeps {
  bus: Bus;
  logger: Logger;
  config: IngestConfig;
  /** Totals to update; a fresh set when omitted. */
  counters?: IngestCounters;
  /** Readiness (accepting traffic); default: the bus is ready. */
  isReady?: () => boolean;
  /** Admission control shared with the service (so stop() can wait for the drain). */
  inFlight?: InFlight;
}

type Format = 'protobuf' | 'json';

const MEDIA: Record<string, Format> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};
const CONTENT_TYPE: Record<Format, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };

function formatOf(req: Request): Format {
  const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const format = MEDIA[type];
  if (format === undefined) {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `content type ${JSON.stringify(type.slice(0, 100))} is not supported; send application/x-protobuf or application/json`);
  }
  return format;
}

function isGzip(req: Request): boolean {
  const enc = (req.get('content-encoding') ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return false;
  if (enc === 'gzip') return true;
  throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `content encoding ${JSON.stringify(enc.slice(0, 100))} is not supported; send gzip or identity`);
}

/**
 * Runs the cardinality guard over a decoded request: checks each distinct label triple in order of
 * first appearance and, only when something must be folded, rewrites the affected events and
 * re-packs the records. Returns the records to publish and the folded event counts.
 */
function guardRecords(guard: CardinalityGuard, tenant: string, decoded: DecodeOk): { records: EncodedRecord[]; folded: number; byLabel: { connector: number; action: number; version: number; series: number } } {
  const byLabel = { connector: 0, action: 0, version: 0, series: 0 };
  let folded = 0;
  for (const l of decoded.labels) {
    const f = guard.check(tenant, l.connector, l.action, l.version);
    if (!f.connector && !f.action && !f.version && !f.series) continue;
    folded += l.events;
    if (f.connector) byLabel.connector += l.events;
    if (f.action) byLabel.action += l.events;
    if (f.version) byLabel.version += l.events;
    if (f.series) byLabel.series += l.events;
  }
  if (folded === 0) return { records: decoded.records, folded, byLabel };
  const events: InvocationEvent[] = [];
  for (const r of decoded.records) for (const e of decodeInvocationBatch(r.value)) events.push(e);
  // The guard already holds these labels, so apply() gives the answers check() gave.
  for (const e of events) guard.apply(e);
  return { records: batchRecords(events), folded, byLabel };
}

function add(record: Record<string, number>, key: string, n: number): void {
  record[key] = (record[key] ?? 0) + n;
}

/** The ingest HTTP app (never listens): OTLP/HTTP `POST /v1/traces`, `/healthz`, `/readyz`, `/metrics`. */
export function createApp(deps: IngestAppDeps): Express {
  const { bus, logger, config } = deps;
  const counters = deps.counters ?? createCounters();
  const isReady = deps.isReady ?? (() => bus.isReady());
  const inFlight = deps.inFlight ?? new InFlight(config.maxInFlightRequests, config.maxInFlightBytes, { requests: config.maxInFlightRequestsPerTenant, bytes: config.maxInFlightBytesPerTenant });
  const ring = new KeyRing(config.apiKeys);
  const guard = new CardinalityGuard({
    maxConnectors: config.maxConnectorsPerTenant,
    maxActions: config.maxActionsPerConnector,
    maxVersions: config.maxVersionsPerConnector,
    maxSeriesPerConnector: config.maxSeriesPerConnector,
    maxSeriesPerTenant: config.maxSeriesPerTenant,
  });
  const retryAfterSeconds = config.retryAfterSeconds;
  const publishes = new PublishTracker(config.publishStallMs ?? DEFAULT_PUBLISH_STALL_MS);
  // Requests that finish decoding while a publish is in flight share the next one.
  const invocations = new PublishCoalescer(bus, Topics.invocations);

  const app = express();
  app.disable('x-powered-by');
  app.use(correlation());
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.on('finish', () => add(counters.responses, String(res.statusCode), 1));
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (req, res) => {
    if (isReady()) res.json({ status: 'ready' });
    else throw new HttpError(503, 'UNAVAILABLE', 'not ready: the bus is not connected', { retryAfterSeconds });
  });

  // Operational totals span all tenants: with keys configured, only an admin key may scrape.
  app.get('/metrics', authenticate(ring, 'admin'), metricsHandler(createIngestMetrics(counters, inFlight, isReady)));

  app.post('/v1/traces', authenticate(ring, 'ingest'), async (req: Request, res: Response) => {
    const format = formatOf(req);
    const gzip = isGzip(req);
    const declared = Number(req.get('content-length') ?? NaN);
    if (declared > config.maxBodyBytes) {
      res.setHeader('Connection', 'close');
      throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body exceeds the size limit of ${config.maxBodyBytes} bytes`);
    }
    if (!isReady()) throw new HttpError(503, 'UNAVAILABLE', 'the event bus is not available; retry later', { retryAfterSeconds });
    // A publish that has waited past the stall threshold means the broker is not answering: refuse
    // new work at once (nothing of it is published, so the client's retry cannot double it).
    if (publishes.stalled()) throw new HttpError(503, 'UNAVAILABLE', 'the event bus is not acknowledging; retry later', { retryAfterSeconds });
    const tenant = principalOf(req).tenant;
    // Spread retries over [r, 2r] seconds so refused clients do not all come back in the same instant.
    if (!inFlight.tryEnter(tenant)) throw new HttpError(429, 'OVERLOADED', 'too many requests in flight; retry later', { retryAfterSeconds: retryAfterSeconds + Math.floor(Math.random() * (retryAfterSeconds + 1)) });
    const progress = { received: 0, decompressed: 0, reserved: 0 };
    try {
      let body: Buffer;
      try {
        body = await readBody(req, gzip, { maxBodyBytes: config.maxBodyBytes, maxDecompressedBytes: config.maxDecompressedBytes, retryAfterSeconds }, inFlight, tenant, progress);
      } catch (err) {
        res.setHeader('Connection', 'close');
        throw err;
      }
      const out = decodeRequest({ body, gzip, format, tenant, maxDecompressedBytes: config.maxDecompressedBytes });
      progress.decompressed = out.decompressedBytes;
      if (!out.ok) throw new HttpError(out.status, out.code, out.message);
      // Inflating and decoding are synchronous, one body at a time: at most one inflated body
      // (≤ maxDecompressedBytes) exists at once, so the budget counts bodies as received plus
      // the packed events below.
      const guarded = guardRecords(guard, tenant, out);
      const folded = guarded.folded;
      counters.overflowed.connector += guarded.byLabel.connector;
      counters.overflowed.action += guarded.byLabel.action;
      counters.overflowed.series += guarded.byLabel.series;
      counters.overflowed.version += guarded.byLabel.version;
      const records = guarded.records;
      // The packed events stay in memory until the bus acknowledges them: they count in the budget.
      let packed = 0;
      for (const r of records) packed += r.value.length;
      if (!inFlight.tryReserve(tenant, packed)) throw new HttpError(429, 'OVERLOADED', 'too much data in flight; retry later', { retryAfterSeconds });
      progress.reserved += packed;
      if (records.length > 0) {
        try {
          // Bounded: a stalled broker must turn into 503 + Retry-After, not a request held for minutes.
          // Events already handed over may still land after that deadline (at-least-once).
          await withDeadline(publishes.track(invocations.publish(records, packed)), config.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS);
        } catch (err) {
          logger.error({ err, correlationId: correlationIdOf(req), tenant, events: out.events }, 'publishing invocations failed');
          throw new HttpError(503, 'UNAVAILABLE', 'the event bus did not acknowledge the events; retry later', { retryAfterSeconds });
        }
      }
      counters.spansReceived += out.spans;
      counters.spansIgnored += out.ignored;
      for (const [reason, n] of out.reasons) add(counters.spansRejected, reason, n);
      counters.eventsProduced += out.events;
      counters.messagesPublished += records.length;

      let message = rejectionMessage(new Map(out.reasons));
      if (folded > 0) message += `${message === '' ? '' : '; '}warning: ${folded} events over the cardinality caps were recorded under __overflow__`;
      if (out.rejected > 0 || folded > 0) {
        logger.info({ correlationId: correlationIdOf(req), tenant, spans: out.spans, events: out.events, rejected: out.rejected, folded, message }, 'partial success');
      }
      res.status(200).type(CONTENT_TYPE[format]);
      res.end(format === 'protobuf' ? encodeTraceResponseProtobuf(out.rejected, message) : encodeTraceResponseJson(out.rejected, message));
    } finally {
      counters.bytesReceived += progress.received;
      counters.bytesDecompressed += progress.decompressed;
      inFlight.leave(tenant, progress.reserved);
    }
  });

  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  return app;
}
