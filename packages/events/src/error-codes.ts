/**
 * Error-code mapping from the connector practice guide ("Error Handling & Mapping"): an HTTP
 * status becomes the internal code users see. A status without a mapping is UNMAPPED, so that
 * error-mapping coverage (mapped error calls / error calls) can be measured.
 */
export const UNMAPPED = 'UNMAPPED';

const STATUS_TO_CODE: ReadonlyMap<number, string> = new Map([
  [400, 'INVALID_ARGUMENT'],
  [401, 'UNAUTHORIZED'],
  [403, 'FORBIDDEN'],
  [404, 'NOT_FOUND'],
  [409, 'CONFLICT'],
  [429, 'RATE_LIMIT'],
  [503, 'UNAVAILABLE'],
]);

/** Internal error code for an HTTP status; 5xx without a specific entry is INTERNAL_ERROR. */
export function errorCodeForStatus(status: number): string {
  const mapped = STATUS_TO_CODE.get(status);
  if (mapped !== undefined) return mapped;
  if (status >= 500 && status <= 599) return 'INTERNAL_ERROR';
  return UNMAPPED;
}

/** Allowed shape of a connector-supplied error code (`connector.error_code`). */
export const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;
