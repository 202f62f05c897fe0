import type { ErrorRequestHandler, RequestHandler } from 'express';
import { pathOnly, type Logger } from '@pulsegate/logging';
import { correlationIdOf } from './correlation';
import { errorBody, HttpError } from './errors';

/** 404 for routes no one serves, in the error schema. */
export function notFoundHandler(): RequestHandler {
  return (req, res) => {
    res.status(404).json(errorBody('NOT_FOUND', `no route for ${req.method} ${req.path.slice(0, 200)}`, correlationIdOf(req)));
  };
}

/**
 * Last middleware: turns any error into the error schema. Unknown errors become a 500 whose body
 * says nothing about internals; the log keeps the detail, tied by the correlation id.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const correlationId = correlationIdOf(req);
    // Already answered (e.g. 408 by the body idle timeout, whose abort then failed the handler).
    if (res.headersSent) return;
    if (err instanceof HttpError) {
      if (err.extra.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(err.extra.retryAfterSeconds));
      res.status(err.status).json(errorBody(err.code, err.message, correlationId, err.extra));
      return;
    }
    // body-parser / express errors carry a status and a type.
    const e = err as { status?: number; statusCode?: number; type?: string; message?: string };
    const status = e.status ?? e.statusCode;
    if (status === 413 || e.type === 'entity.too.large') {
      res.status(413).json(errorBody('PAYLOAD_TOO_LARGE', 'request body exceeds the size limit', correlationId));
      return;
    }
    if (e.type === 'entity.parse.failed' || e.type === 'encoding.unsupported' || e.type === 'charset.unsupported' || (status !== undefined && status >= 400 && status < 500)) {
      res.status(status !== undefined && status >= 400 && status < 500 ? status : 400).json(errorBody('INVALID_ARGUMENT', 'request body could not be read: ' + (e.type ?? 'malformed'), correlationId));
      return;
    }
    // Method and path only: the query string and headers may carry keys or personal data.
    logger.error({ err, correlationId, method: req.method, path: pathOnly(req.originalUrl).slice(0, 200) }, 'unhandled error');
    res.status(500).json(errorBody('INTERNAL_ERROR', 'internal error; quote the correlation id to support', correlationId));
  };
}
