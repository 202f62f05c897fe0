/** Body of every error answer: `{"error": {"code", "message", "correlationId"}}`. */
export interface ErrorBody {
  error: { code: string; message: string; correlationId: string; retryAfterSeconds?: number; details?: unknown };
}

/** An error that maps to an HTTP answer. Messages are for API users: no stack, no internals. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { retryAfterSeconds?: number; details?: unknown } = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, details?: unknown): HttpError => new HttpError(400, 'INVALID_ARGUMENT', message, { details });
export const notFound = (message: string): HttpError => new HttpError(404, 'NOT_FOUND', message);
export const unauthorized = (message = 'missing or invalid API key'): HttpError => new HttpError(401, 'UNAUTHORIZED', message);
export const forbidden = (message: string): HttpError => new HttpError(403, 'FORBIDDEN', message);

export function errorBody(code: string, message: string, correlationId: string, extra: HttpError['extra'] = {}): ErrorBody {
  return { error: { code, message, correlationId, ...extra } };
}
