import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Bus } from '@pulsegate/bus';
import { Topics } from '@pulsegate/events';
import { HttpError, KeyRing, authenticate, badRequest, correlation, correlationIdOf, errorHandler, notFoundHandler, principalOf } from '@pulsegate/http-kit';
import type { Logger } from '@pulsegate/logging';
import { metricsHandler } from '@pulsegate/telemetry';
import {
  OtlpDecodeError,
  decodeJsonTraces,
  decodeProtobufTraces,
  encodeTraceResponseJson,
  encodeTraceResponseProtobuf,
  extractInvocations,
  rejectionMessage,
  type DecodedTraces,
} from '@pulsegate/otlp';
import { readBody } from './body';
import { CardinalityGuard } from './cardinality';
import type { IngestConfig } from './config';
import { createCounters, type IngestCounters } from './counters';
import { InFlight } from './in-flight';
import { createIngestMetrics } from './metrics';
import { batchRecords, DEFAULT_PUBLISH_STALL_MS, DEFAULT_PUBLISH_TIMEOUT_MS, PublishTracker, withDeadline } from './publish';

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

function add(record: Record<string, number>, key: string, n: number): void {
  record[key] = (record[key] ?? 0) + n;
}

/** The ingest HTTP app (never listens): OTLP/HTTP `POST /v1/traces`, `/healthz`, `/readyz`, `/metrics`. */
export function createApp(deps: IngestAppDeps): Express {
  const { bus, logger, config } = deps;
  const counters = deps.counters ?? createCounters();
  const isReady = deps.isReady ?? (() => bus.isReady());
  const inFlight = deps.inFlight ?? new InFlight(config.maxInFlightRequests, config.maxInFlightBytes);
  const ring = new KeyRing(config.apiKeys);
  const guard = new CardinalityGuard({ maxConnectors: config.maxConnectorsPerTenant, maxActions: config.maxActionsPerConnector, maxVersions: config.maxVersionsPerConnector });
  const retryAfterSeconds = config.retryAfterSeconds;
  const publishes = new PublishTracker(config.publishStallMs ?? DEFAULT_PUBLISH_STALL_MS);

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
    // Spread retries over [r, 2r] seconds so refused clients do not all come back in the same instant.
    if (!inFlight.tryEnter()) throw new HttpError(429, 'OVERLOADED', 'too many requests in flight; retry later', { retryAfterSeconds: retryAfterSeconds + Math.floor(Math.random() * (retryAfterSeconds + 1)) });
    const progress = { received: 0, decompressed: 0, reserved: 0 };
    try {
      let body: Buffer;
      try {
        body = await readBody(req, gzip, { maxBodyBytes: config.maxBodyBytes, maxDecompressedBytes: config.maxDecompressedBytes, retryAfterSeconds }, inFlight, progress);
      } catch (err) {
        res.setHeader('Connection', 'close');
        throw err;
      }
      let decoded: DecodedTraces;
      try {
        decoded = format === 'protobuf' ? decodeProtobufTraces(body) : decodeJsonTraces(body);
      } catch (err) {
        if (err instanceof OtlpDecodeError) throw badRequest(err.message);
        throw err;
      }
      const tenant = principalOf(req).tenant;
      const out = extractInvocations(decoded, tenant);
      let folded = 0;
      for (const e of out.events) {
        const f = guard.apply(e);
        if (f.connector || f.action || f.version) {
          folded++;
          if (f.connector) counters.overflowed.connector++;
          if (f.action) counters.overflowed.action++;
          if (f.version) counters.overflowed.version++;
        }
      }
      const records = batchRecords(out.events);
      if (records.length > 0) {
        try {
          // Bounded: a stalled broker must turn into 503 + Retry-After, not a request held for minutes.
          // Events already handed over may still land after that deadline (at-least-once).
          await withDeadline(publishes.track(bus.publish(Topics.invocations, records)), config.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS);
        } catch (err) {
          logger.error({ err, correlationId: correlationIdOf(req), tenant, events: out.events.length }, 'publishing invocations failed');
          throw new HttpError(503, 'UNAVAILABLE', 'the event bus did not acknowledge the events; retry later', { retryAfterSeconds });
        }
      }
      counters.spansReceived += out.spans;
      counters.spansIgnored += out.ignored;
      for (const [reason, n] of out.reasons) add(counters.spansRejected, reason, n);
      counters.eventsProduced += out.events.length;
      counters.messagesPublished += records.length;

      let message = rejectionMessage(out.reasons);
      if (folded > 0) message += `${message === '' ? '' : '; '}warning: ${folded} events over the cardinality caps were recorded under __overflow__`;
      if (out.rejected > 0 || folded > 0) {
        logger.info({ correlationId: correlationIdOf(req), tenant, spans: out.spans, events: out.events.length, rejected: out.rejected, folded, message }, 'partial success');
      }
      res.status(200).type(CONTENT_TYPE[format]);
      res.end(format === 'protobuf' ? encodeTraceResponseProtobuf(out.rejected, message) : encodeTraceResponseJson(out.rejected, message));
    } finally {
      counters.bytesReceived += progress.received;
      counters.bytesDecompressed += progress.decompressed;
      inFlight.leave(progress.reserved);
    }
  });

  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  return app;
}
