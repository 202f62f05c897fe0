import { ERROR_CODE_PATTERN } from './error-codes';
import { INVOCATION_SCHEMA_VERSION, type InvocationEvent } from './invocation';

/** Longest label value (tenant, connector, version, action, correlation id) accepted, in characters. */
export const MAX_LABEL_LENGTH = 256;
/** Longest latency accepted: one day, in ms. Anything longer is a broken clock, not a call. */
export const MAX_LATENCY_MS = 86_400_000;
/** Largest sample weight accepted (a 1-in-2^20 sampling probability). */
export const MAX_SAMPLE_WEIGHT = 2 ** 20;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const OUTCOMES = new Set(['success', 'throttled', 'error']);
const KINDS = new Set(['read', 'write']);

export interface ValidationProblem {
  field: string;
  message: string;
}

function label(o: Record<string, unknown>, field: string, problems: ValidationProblem[], allowEmpty = false): void {
  const v = o[field];
  if (typeof v !== 'string') problems.push({ field, message: 'must be a string' });
  else if (!allowEmpty && v.length === 0) problems.push({ field, message: 'must not be empty' });
  else if (v.length > MAX_LABEL_LENGTH) problems.push({ field, message: `longer than ${MAX_LABEL_LENGTH} characters` });
}

function finite(o: Record<string, unknown>, field: string, min: number, max: number, problems: ValidationProblem[]): void {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) problems.push({ field, message: 'must be a finite number' });
  else if (v < min || v > max) problems.push({ field, message: `must be between ${min} and ${max}` });
}

/**
 * Checks an untrusted value against invocation schema v1. Returns the problems found (empty when
 * valid); never throws.
 */
export function validateInvocation(value: unknown): ValidationProblem[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [{ field: '', message: 'must be an object' }];
  const o = value as Record<string, unknown>;
  const problems: ValidationProblem[] = [];
  if (o.schemaVersion !== INVOCATION_SCHEMA_VERSION) {
    problems.push({ field: 'schemaVersion', message: `unsupported schema version ${JSON.stringify(o.schemaVersion)}; expected ${INVOCATION_SCHEMA_VERSION}` });
    return problems;
  }
  label(o, 'tenant', problems);
  label(o, 'connector', problems);
  label(o, 'connectorVersion', problems);
  label(o, 'action', problems);
  label(o, 'httpMethod', problems, true);
  if (!KINDS.has(o.kind as string)) problems.push({ field: 'kind', message: 'must be read or write' });
  const status = o.httpStatus;
  if (!Number.isInteger(status) || !(status === 0 || ((status as number) >= 100 && (status as number) <= 599))) {
    problems.push({ field: 'httpStatus', message: 'must be 0 or an integer 100-599' });
  }
  if (!OUTCOMES.has(o.outcome as string)) problems.push({ field: 'outcome', message: 'must be success, throttled or error' });
  if (o.outcome === 'success') {
    if (o.errorCode !== null) problems.push({ field: 'errorCode', message: 'must be null for a successful call' });
  } else if (typeof o.errorCode !== 'string' || !ERROR_CODE_PATTERN.test(o.errorCode)) {
    problems.push({ field: 'errorCode', message: 'must match ' + ERROR_CODE_PATTERN.source });
  }
  finite(o, 'latencyMs', 0, MAX_LATENCY_MS, problems);
  finite(o, 'eventTime', 0, 8.64e15, problems);
  if (o.correlationId !== null) label(o, 'correlationId', problems);
  if (typeof o.traceId !== 'string' || !HEX32.test(o.traceId)) problems.push({ field: 'traceId', message: 'must be 32 lower-case hex characters' });
  if (typeof o.spanId !== 'string' || !HEX16.test(o.spanId)) problems.push({ field: 'spanId', message: 'must be 16 lower-case hex characters' });
  const w = o.sampleWeight;
  if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0 || w > MAX_SAMPLE_WEIGHT) {
    problems.push({ field: 'sampleWeight', message: `must be > 0 and <= ${MAX_SAMPLE_WEIGHT}` });
  }
  return problems;
}

/** Type guard form of validateInvocation. */
export function isInvocation(value: unknown): value is InvocationEvent {
  return validateInvocation(value).length === 0;
}
