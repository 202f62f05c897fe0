import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's correlation id: the caller's X-Correlation-ID when well-formed, else a new UUID. */
export function correlationIdOf(req: Request): string {
  const existing = (req as Request & { correlationId?: string }).correlationId;
  if (existing !== undefined) return existing;
  const header = req.get('x-correlation-id');
  const id = header !== undefined && SAFE_ID.test(header) ? header : randomUUID();
  (req as Request & { correlationId?: string }).correlationId = id;
  return id;
}

/** Middleware: assigns the correlation id and echoes it in the X-Correlation-ID response header. */
export function correlation() {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.setHeader('X-Correlation-ID', correlationIdOf(req));
    next();
  };
}
