import { ERROR_CODE_PATTERN } from './error-codes';
import { INVOCATION_SCHEMA_VERSION, type InvocationEvent } from './invocation';

/** Longest label value (tenant, connector, version, action, correlation id) accepted, in characters. */
export const MAX_LABEL_LENGTH = 256;
/** Longest latency accepted: one day, in ms. Anything longer is a broken clock, not a call. */
export const MAX_LATENCY_MS = 86_400_000;
/** Largest sample weight accepted (a 1-in-2^20 sampling probability). */
export const MAX_SAMPLE_WEIGHT = 2 ** 20;

/** Latest event time accepted, epoch ms (the largest valid Date). */
export const MAX_EVENT_TIME_MS = 8.64e15;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const OUTCOMES = new Set(['success', 'throttled', 'error']);
const KINDS = new Set(['read', 'write']);

// The field rules, one predicate each, shared by validateInvocation and the columnar decoder
// (columns.ts), so both accept exactly the same events.

// C0 controls (NUL, newlines, tabs, escape …), DEL and C1 controls: they break log lines,
// terminals and line-based tools downstream, and no connector, action or version needs them.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// In a /u pattern a surrogate pair is one code point; only a lone surrogate is category Cs.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Why `v` cannot be a label, or null when it can. The one label rule of ingest (packages/otlp)
 * and the store (the decoders of the bus records): a string of 1 – MAX_LABEL_LENGTH UTF-16 code
 * units (0 allowed when `allowEmpty`), well-formed Unicode (no lone surrogate: it has no UTF-8
 * form, so Redis, JSON and URL encoders would corrupt it or throw) and no control character.
 * Everything else ('|', ':', '{', '}', '%', non-BMP characters …) is a legal label; the key
 * builder escapes it.
 */
export function labelProblem(v: unknown, allowEmpty = false): string | null {
  if (typeof v !== 'string') return 'must be a string';
  if (v.length === 0) return allowEmpty ? null : 'must not be empty';
  if (v.length > MAX_LABEL_LENGTH) return `longer than ${MAX_LABEL_LENGTH} characters`;
  if (LONE_SURROGATE.test(v)) return 'not well-formed Unicode (lone surrogate)';
  if (CONTROL.test(v)) return 'contains a control character';
  return null;
}

/** A label by labelProblem's rule. */
export function isLabel(v: unknown, allowEmpty = false): boolean {
  return labelProblem(v, allowEmpty) === null;
}

export function isKind(v: unknown): boolean {
  return KINDS.has(v as string);
}

export function isOutcome(v: unknown): boolean {
  return OUTCOMES.has(v as string);
}

/** 0 (no response) or an integer 100 – 599. */
export function isHttpStatus(v: unknown): boolean {
  return Number.isInteger(v) && (v === 0 || ((v as number) >= 100 && (v as number) <= 599));
}

/** A finite number in [min, max]. */
export function isFiniteIn(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;
}

export function isErrorCode(v: unknown): boolean {
  return typeof v === 'string' && ERROR_CODE_PATTERN.test(v);
}

export function isTraceId(v: unknown): boolean {
  return typeof v === 'string' && HEX32.test(v);
}

export function isSpanId(v: unknown): boolean {
  return typeof v === 'string' && HEX16.test(v);
}

export function isSampleWeight(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= MAX_SAMPLE_WEIGHT;
}

export interface ValidationProblem {
  field: string;
  message: string;
}

function label(o: Record<string, unknown>, field: string, problems: ValidationProblem[], allowEmpty = false): void {
  const message = labelProblem(o[field], allowEmpty);
  if (message !== null) problems.push({ field, message });
}

function finite(o: Record<string, unknown>, field: string, min: number, max: number, problems: ValidationProblem[]): void {
  const v = o[field];
  if (isFiniteIn(v, min, max)) return;
  if (typeof v !== 'number' || !Number.isFinite(v)) problems.push({ field, message: 'must be a finite number' });
  else problems.push({ field, message: `must be between ${min} and ${max}` });
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
  if (!isKind(o.kind)) problems.push({ field: 'kind', message: 'must be read or write' });
  if (!isHttpStatus(o.httpStatus)) {
    problems.push({ field: 'httpStatus', message: 'must be 0 or an integer 100-599' });
  }
  if (!isOutcome(o.outcome)) problems.push({ field: 'outcome', message: 'must be success, throttled or error' });
  if (o.outcome === 'success') {
    if (o.errorCode !== null) problems.push({ field: 'errorCode', message: 'must be null for a successful call' });
  } else if (!isErrorCode(o.errorCode)) {
    problems.push({ field: 'errorCode', message: 'must match ' + ERROR_CODE_PATTERN.source });
  }
  finite(o, 'latencyMs', 0, MAX_LATENCY_MS, problems);
  finite(o, 'eventTime', 0, MAX_EVENT_TIME_MS, problems);
  if (o.correlationId !== null) label(o, 'correlationId', problems);
  if (!isTraceId(o.traceId)) problems.push({ field: 'traceId', message: 'must be 32 lower-case hex characters' });
  if (!isSpanId(o.spanId)) problems.push({ field: 'spanId', message: 'must be 16 lower-case hex characters' });
  if (!isSampleWeight(o.sampleWeight)) {
    problems.push({ field: 'sampleWeight', message: `must be > 0 and <= ${MAX_SAMPLE_WEIGHT}` });
  }
  return problems;
}

/** Type guard form of validateInvocation. */
export function isInvocation(value: unknown): value is InvocationEvent {
  return validateInvocation(value).length === 0;
}
